"""Helpers of the fault-injection suite: the fault root, running cmbench, and finding leftovers.

Every process a test starts carries a marker: TMPDIR, which the harness passes to every child,
set to a folder unique to this test session (and below it, to the invocation). A process is
the suite's leftover if its environment holds that marker, so the check never touches another
developer's processes. Containers are told apart the same way, by their session label.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

FAULT_ROOT = Path(__file__).resolve().parent / "root"
SESSION = Path(f"/tmp/cmbench-faults-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def fault(*kinds: str) -> Callable:
    """Mark a test with the fault kinds it covers (the catalogue in tests/faults/__init__.py)."""
    def mark(fn: Callable) -> Callable:
        fn.fault_kinds = (*getattr(fn, "fault_kinds", ()), *kinds)
        return fn
    return mark


def marker(name: str) -> Path:
    """A fresh TMPDIR for one invocation, below this session's folder."""
    path = SESSION / f"{name}-{uuid.uuid4().hex[:6]}"
    path.mkdir(parents=True)
    return path


def leftovers(prefix: Path = SESSION) -> list[tuple[int, str]]:
    """Running processes (pid, command line) whose TMPDIR is `prefix` or below it; zombies have no environment."""
    needle = f"TMPDIR={prefix}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            env = (proc / "environ").read_bytes().split(b"\0")
            if any(e == needle or e.startswith(needle + b"/") for e in env):
                found.append((int(proc.name), (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]))
        except OSError:
            continue
    return found


def assert_none_left(prefix: Path, wait: float = 5.0) -> None:
    """Fail (after killing them: they are this suite's own) if processes marked `prefix` still run."""
    deadline = time.monotonic() + wait
    while (found := leftovers(prefix)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid, _ in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not found, f"processes left running: {found}"


def env_for(tmpdir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmpdir), **extra}


def cmbench(*args: str, root: Path = FAULT_ROOT, timeout: float = 300, name: str = "cmbench",
            ) -> subprocess.CompletedProcess:
    """Run `cmbench --root ROOT ARGS` to its end, marked; then check that it left no process."""
    tmpdir = marker(name)
    r = subprocess.run([sys.executable, "-m", "cmbench", "--root", str(root), *args], capture_output=True,
                       text=True, timeout=timeout, env=env_for(tmpdir))
    assert_none_left(tmpdir)
    return r


def start_cmbench(*args: str, root: Path = FAULT_ROOT, name: str = "cmbench") -> tuple[subprocess.Popen, Path]:
    """Start `cmbench --root ROOT ARGS` (marked); the caller checks for leftovers with the returned marker."""
    tmpdir = marker(name)
    proc = subprocess.Popen([sys.executable, "-m", "cmbench", "--root", str(root), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_for(tmpdir))
    return proc, tmpdir


def wait_for_process(text: str, prefix: Path, timeout: float = 60.0) -> None:
    """Wait until a marked process whose command line holds `text` runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(text in cmd for _, cmd in leftovers(prefix)):
            return
        time.sleep(0.1)
    raise AssertionError(f"no process with {text!r} started within {timeout:g} s")


def one_line_error(r: subprocess.CompletedProcess, *needles: str, status: int = 1) -> str:
    """The single `cmbench: error:` line of a run that exited `status`, holding every needle."""
    assert r.returncode == status, (r.returncode, r.stderr)
    lines = r.stderr.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("cmbench: error: "), r.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def cases_by_impl(out: Path) -> dict[str, list[dict]]:
    cases: dict[str, list[dict]] = {}
    for c in json.loads((out / "run.json").read_text())["cases"]:
        cases.setdefault(c["impl"], []).append(c)
    return cases


def impls(names: Sequence[str]) -> str:
    return ",".join(f"fault/{n}" for n in names)


def run_models(out: Path, models: Sequence[str], *args: str) -> tuple[subprocess.CompletedProcess, dict[str, list]]:
    """`cmbench run --profile smoke ARGS` of the fault implementations `models`: the process and the cases."""
    r = cmbench("run", "--profile", "smoke", *args, "--impl", impls(models), "--out", str(out), name=out.parent.name)
    return r, cases_by_impl(out)


def expect_case(cases: dict[str, list], model: str, status: str, needle: str) -> None:
    """The one case of fault/`model` ended with `status`, and its error holds `needle`."""
    (case,) = cases[f"fault/{model}"]
    assert case["status"] == status, case
    assert needle in case["error"], case["error"]


@pytest.fixture(scope="session", autouse=True)
def nothing_left_at_the_end():
    """After the whole suite, no process of this session may run."""
    yield
    try:
        assert_none_left(SESSION)
    finally:
        shutil.rmtree(SESSION, ignore_errors=True)
