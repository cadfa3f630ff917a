"""One container running one implementation process, and what is measured about it.

The container's first process is a small shell script: it runs the implementation under the
rusage-exec wrapper (copied into the container before it starts), forwards SIGTERM/SIGINT/SIGHUP
to it, and once it has exited, saves the cgroup's peak memory next to the wrapper's rusage
report (the cgroup is gone once the container stops, so the peak is read from inside). Both
files are read back with the archive API, which also works with a remote engine.

Memory: cgroup v2 `memory.peak` / `memory.current`, cgroup v1 `memory.max_usage_in_bytes` /
`memory.usage_in_bytes`. The cgroup counts page cache too; the current usage is reported as
`docker stats` does, minus inactive file pages.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UserError
from harness.measure.process import ChildResult, Rusage
from harness.measure.wrapper import wrapper_path

WRAPPER = "/cmbench/rusage-exec"
REPORTS = "/tmp/cmbench"  # written by the implementation's user; /tmp is world-writable in every base
USER = "65534:65534"  # nobody:nogroup
KILL_WAIT = 30.0

# $1 = the report folder, the rest = the implementation's command. A shell starts background
# commands with SIGINT and SIGQUIT ignored; `env --default-signal` (coreutils 8.31+) restores
# them, so the program sees the signal dispositions a native child has.
ENTRY = f"""\
d=$1; shift
mkdir -p "$d" || exit 125
set -- {WRAPPER} "$d/rusage.json" "$@"
if env --default-signal=INT,QUIT true 2>/dev/null; then set -- env --default-signal=INT,QUIT "$@"; fi
"$@" &
p=$!
trap 'kill -TERM $p 2>/dev/null' TERM
trap 'kill -INT $p 2>/dev/null' INT
trap 'kill -HUP $p 2>/dev/null' HUP
while :; do wait $p; s=$?; kill -0 $p 2>/dev/null || break; done
cat /sys/fs/cgroup/memory.peak /sys/fs/cgroup/memory/memory.max_usage_in_bytes > "$d/cgroup-peak" 2>/dev/null
exit $s
"""


@dataclass(frozen=True)
class ContainerResult(ChildResult):
    """A child's result in a container (cgroup_peak: page cache included, 0: unknown), with its image."""

    image: str = ""


@dataclass(frozen=True)
class Limits:
    """What every container may use."""

    memory: str  # mem_limit (and memswap_limit: no swap)
    pids: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, meminfo: Path = Path("/proc/meminfo")) -> Limits:
        env = os.environ if env is None else env
        memory = env.get("CMBENCH_DOCKER_MEMORY", "")
        if memory:
            if not (memory[:-1].isdigit() and memory[-1].lower() in "bkmg") and not memory.isdigit():
                raise UserError(f"CMBENCH_DOCKER_MEMORY: '{memory}' is not a size like 8g or 512m")
        else:
            total = 0
            try:
                for line in meminfo.read_text().splitlines():
                    if line.startswith("MemTotal:"):
                        total = int(line.split()[1]) // 1024
            except OSError:
                pass
            memory = f"{max(total * 3 // 4, 1024)}m" if total else "8g"  # three quarters of this host's memory
        pids = env.get("CMBENCH_DOCKER_PIDS_LIMIT", "32768")
        if not pids.isdigit() or int(pids) < 64:
            raise UserError(f"CMBENCH_DOCKER_PIDS_LIMIT: '{pids}' must be a whole number >= 64")
        return cls(memory, int(pids))


def _ulimits() -> list:
    """The harness's own open-file and stack limits, so a container starts with what a native child gets."""
    import resource

    from docker.types import Ulimit

    out = []
    for name, which in (("nofile", resource.RLIMIT_NOFILE), ("stack", resource.RLIMIT_STACK)):
        soft, hard = resource.getrlimit(which)
        out.append(Ulimit(name=name, soft=soft, hard=hard))
    return out


def _wrapper_tar() -> bytes:
    path = wrapper_path()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        folder = tarfile.TarInfo("cmbench")
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        tar.addfile(folder)
        info = tar.gettarinfo(str(path), arcname=WRAPPER.lstrip("/"))
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mode = 0o755
        with path.open("rb") as f:
            tar.addfile(info, f)
    return buf.getvalue()


def read_archive(chunks) -> dict[str, bytes]:
    """The regular files of a tar stream from `get_archive`, by base name."""
    data = b"".join(chunks)
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                f = tar.extractfile(member)
                if f is not None:
                    out[Path(member.name).name] = f.read()
    return out


def parse_peak(text: bytes) -> int:
    for word in text.decode("ascii", "replace").split():
        if word.isdigit():
            return int(word)
    return 0


def _stat_value(text: str, key: str) -> int:
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def host_cgroup(pid: int, container_id: str, proc: Path = Path("/proc"),
                root: Path = Path("/sys/fs/cgroup")) -> tuple[Path, int] | None:
    """The container's memory cgroup folder on this host and its version, if this host can see it."""
    try:
        lines = (proc / str(pid) / "cgroup").read_text().splitlines()
    except OSError:
        return None
    v2 = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if container_id not in path:
            continue
        if "memory" in controllers.split(","):
            folder = root / "memory" / path.lstrip("/")
            return (folder, 1) if folder.is_dir() else None
        if controllers == "":
            v2 = root / path.lstrip("/")
    return (v2, 2) if v2 is not None and (v2 / "memory.current").exists() else None


def cgroup_usage(folder: Path, version: int) -> int:
    """Current usage minus inactive file pages (what `docker stats` shows), 0 once the cgroup is gone."""
    try:
        if version == 1:
            usage = int((folder / "memory.usage_in_bytes").read_text())
            inactive = _stat_value((folder / "memory.stat").read_text(), "total_inactive_file")
        else:
            usage = int((folder / "memory.current").read_text())
            inactive = _stat_value((folder / "memory.stat").read_text(), "inactive_file")
    except (OSError, ValueError):
        return 0
    return max(0, usage - inactive)


def stats_usage(stats: Mapping) -> int:
    """The same figure from the engine's stats API (for engines whose cgroups this host cannot read)."""
    mem = stats.get("memory_stats") or {}
    details = mem.get("stats") or {}
    inactive = details.get("total_inactive_file", details.get("inactive_file", 0))
    return max(0, int(mem.get("usage", 0)) - int(inactive))


class Container:
    """A created container for one implementation process; `remove` is always called by the owner."""

    def __init__(self, client, image: str, argv: Sequence[str], *, env: Mapping[str, str], cpus: Sequence[int],
                 network: str, limits: Limits, labels: Mapping[str, str]) -> None:
        import docker.errors
        from docker.types import LogConfig

        self.argv = tuple(argv)
        self.image = image
        self.began = 0.0
        try:
            self.c = client.containers.create(
                image, entrypoint=["/bin/sh", "-c", ENTRY, "cmbench-entry"], command=[REPORTS, *argv],
                environment=dict(env), user=USER, cpuset_cpus=",".join(str(c) for c in cpus),
                network_mode=network, mem_limit=limits.memory, memswap_limit=limits.memory,
                pids_limit=limits.pids, cap_drop=["ALL"], security_opt=["no-new-privileges"],
                ulimits=_ulimits(), labels=dict(labels), log_config=LogConfig(type=LogConfig.types.JSON),
                stdin_open=False, tty=False,
            )
        except docker.errors.ImageNotFound:
            raise UserError(f"docker: image {image} is gone; run `cmbench build --executor docker` again") from None
        except docker.errors.APIError as e:
            raise UserError(f"docker: cannot create a container from {image}: {e.explanation or e}") from None
        try:
            self.c.put_archive("/", _wrapper_tar())
        except BaseException:
            self.remove()
            raise

    @property
    def id(self) -> str:
        return self.c.id

    def start(self) -> None:
        self.began = time.perf_counter()
        self.c.start()

    def wait(self, timeout: float | None) -> tuple[int, bool]:
        """(exit status, timed out); at `timeout` the container is killed."""
        import requests

        try:
            return int(self.c.wait(timeout=timeout)["StatusCode"]), False
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            self.kill()
            return int(self.c.wait(timeout=KILL_WAIT)["StatusCode"]), True

    def kill(self, signal: str = "SIGKILL") -> None:
        import docker.errors

        try:
            self.c.kill(signal=signal)
        except docker.errors.APIError:  # not running any more
            pass

    def logs(self, *, stdout: bool) -> str:
        return self.c.logs(stdout=stdout, stderr=not stdout).decode("utf-8", "replace")

    def reports(self) -> tuple[dict | None, int]:
        """The wrapper's rusage report (None when it wrote none) and the cgroup peak (0: unknown)."""
        import docker.errors

        try:
            chunks, _ = self.c.get_archive(REPORTS)
            files = read_archive(chunks)
        except (docker.errors.APIError, tarfile.TarError):
            return None, 0
        report = None
        try:
            report = json.loads(files.get("rusage.json", b"").decode() or "null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            report = None
        return report if isinstance(report, dict) else None, parse_peak(files.get("cgroup-peak", b""))

    def oom_killed(self) -> bool:
        self.c.reload()
        return bool(self.c.attrs.get("State", {}).get("OOMKilled"))

    def result(self, status: int, timed_out: bool, *, stdout: bool = True) -> ContainerResult:
        """Collect output and reports of the stopped container into a result."""
        wall = time.perf_counter() - self.began
        report, peak = self.reports()
        if report is not None:
            code = os.waitstatus_to_exitcode(int(report["status"]))
            rusage = Rusage.from_report(report)
        else:  # killed before the wrapper could report: no rusage from inside
            code = -9 if timed_out or status == 137 else status
            rusage = Rusage(0.0, 0.0, peak, 0, 0)
        err = self.logs(stdout=False)
        if status == 137 and self.oom_killed():
            err += "\ncmbench: the container was killed by the kernel's OOM killer (its memory limit was reached)\n"
        return ContainerResult(self.argv, code, self.logs(stdout=True) if stdout else "", err, wall, rusage,
                               timed_out, cgroup_peak=peak, image=self.image)

    def remove(self) -> None:
        import docker.errors

        try:
            self.c.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as e:
            if "already in progress" not in str(e):
                raise
