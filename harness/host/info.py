"""Environment metadata that travels with every run: machine, kernel, toolchains, commit."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.host.sysfs import read_setting
from harness.host.system import system_report


def cpu_model() -> str:
    for line in read_setting("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def governor() -> str:
    return read_setting("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") or "unavailable (no cpufreq)"


def mem_total() -> int:
    for line in read_setting("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def git_commit(root: Path) -> dict[str, Any]:
    """The commit checked out at `root` and whether the tree has changes (None: unknown, git is not installed)."""
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()
        except FileNotFoundError:
            return None
        except (OSError, subprocess.SubprocessError):
            return ""
    commit = git("rev-parse", "HEAD")
    if commit is None:  # no git on this host (a slim benchmark host or container): read the repository's files
        return {"commit": read_head(root) or "unknown", "dirty": None}
    return {"commit": commit or "unknown", "dirty": bool(git("status", "--porcelain")) if commit else None}


def _git_dir(root: Path) -> Path | None:
    for folder in (root, *root.parents):
        dot = folder / ".git"
        if dot.is_dir():
            return dot
        if dot.is_file():  # a worktree or submodule: "gitdir: PATH"
            text = read_setting(dot)
            if text.startswith("gitdir:"):
                target = Path(text.split(":", 1)[1].strip())
                return target if target.is_absolute() else (folder / target).resolve()
            return None
    return None


def read_head(root: Path) -> str:
    """The commit HEAD names, read from the repository's files as git stores them ('' when not found).

    For hosts without git; written out because the formats involved are three small text files
    (HEAD, the loose ref, packed-refs), where a git library would be a dependency for one line.
    """
    gitdir = _git_dir(root.resolve())
    if gitdir is None:
        return ""
    common = gitdir
    if (gitdir / "commondir").is_file():
        common = (gitdir / read_setting(gitdir / "commondir")).resolve()
    head = read_setting(gitdir / "HEAD")
    if not head.startswith("ref:"):
        return head
    ref = head.split(":", 1)[1].strip()
    for base in (gitdir, common):
        value = read_setting(base / ref)
        if value:
            return value
    for line in read_setting(common / "packed-refs").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == ref:
            return parts[0]
    return ""


def load_averages() -> tuple[float, ...]:
    """The host's 1-, 5- and 15-minute load averages, recorded beside a figure (the busy-host flag is
    harness/host/gate.py's: the load average counts the benchmark's own threads)."""
    return tuple(round(x, 2) for x in os.getloadavg())


def host_metadata(root: Path, cpus: Sequence[int] | None = None) -> dict[str, Any]:
    """This host's metadata; with the CPUs its cases are pinned to, also its `system` report (what disturbs
    measurements there, harness/host/system.py), taken now."""
    uname = platform.uname()
    meta = {
        "hostname": uname.node,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_allowed": sorted(os.sched_getaffinity(0)),
        "memory_bytes": mem_total(),
        "kernel": f"{uname.system} {uname.release}",
        "machine": uname.machine,
        "governor": governor(),
        "loadavg": list(os.getloadavg()),
        "python": sys.version.split()[0],
        "git": git_commit(root),
    }
    if cpus is not None:
        meta["system"] = system_report(cpus).to_dict()
    return meta


# What a calibration and a nightly series must not mix: a faster CPU, more CPUs, another kernel, a
# container, another pinning or another profile each change how long an iteration lasts.
FINGERPRINT_FIELDS = ("cpu_model", "cpu_count", "kernel", "executor", "cpus", "profile")


def environment(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a run's metadata (run.json's top level, with `host`) that make its environment.

    `cpus` counts the CPUs the implementations were pinned to (a list or a count is accepted).
    """
    host = meta.get("host") or {}
    cpus = meta.get("cpus")
    return {"cpu_model": host.get("cpu_model"), "cpu_count": host.get("cpu_count"), "kernel": host.get("kernel"),
            "executor": meta.get("executor"), "cpus": len(cpus) if isinstance(cpus, list | tuple) else cpus,
            "profile": meta.get("profile")}


def environment_fingerprint(meta: Mapping[str, Any]) -> str:
    """A short stable id of the environment a run measured in (see `environment`)."""
    text = json.dumps(environment(meta), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def local_environment(executor: str, cpus: Sequence[int], profile: str) -> dict[str, Any]:
    """Run metadata for this host, as far as the fingerprint needs it (cheaper than host_metadata)."""
    uname = platform.uname()
    host = {"cpu_model": cpu_model(), "cpu_count": os.cpu_count(), "kernel": f"{uname.system} {uname.release}"}
    return {"host": host, "executor": executor, "cpus": list(cpus), "profile": profile}
