"""Running child processes: rusage from wait4, CPU pinning, timeouts, and reaping on every path.

Each child starts in its own session (process group), so a timeout or Ctrl-C kills the child
and anything it spawned. stdout and stderr go to temporary files, never to pipes that could
fill and block. The child's rusage comes from `os.wait4`, which counts all of its threads
(and its reaped descendants), unlike /proc/PID/status, which counts one thread.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError
from .memory import EMPTY, TreeMemory, read_tree
from .wrapper import read_report, wrapper_path

# Environment variables passed through to every child; everything else is dropped.
RUN_ENV_KEEP = ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "TERM")
# Builds also need their toolchains' settings.
BUILD_ENV_PREFIXES = ("CARGO", "RUSTUP", "RUSTC", "GO", "JAVA", "CC", "CFLAGS", "DOCKER")


@dataclass(frozen=True)
class Rusage:
    """Resource usage of a child process over all of its threads."""

    user: float  # seconds
    system: float  # seconds
    max_rss: int  # bytes (ru_maxrss is KiB on Linux)
    voluntary: int  # voluntary context switches
    involuntary: int  # involuntary context switches

    @classmethod
    def from_struct(cls, ru) -> Rusage:
        return cls(ru.ru_utime, ru.ru_stime, ru.ru_maxrss * 1024, ru.ru_nvcsw, ru.ru_nivcsw)

    @classmethod
    def from_report(cls, report: Mapping) -> Rusage:
        return cls(float(report["user"]), float(report["system"]), int(report["maxrss_kib"]) * 1024,
                   int(report["voluntary"]), int(report["involuntary"]))


@dataclass(frozen=True)
class ChildResult:
    argv: tuple[str, ...]
    returncode: int  # negative: killed by that signal
    stdout: str
    stderr: str
    wall: float  # seconds from start to reaped
    rusage: Rusage
    timed_out: bool
    cgroup_peak: int = 0  # bytes: the container's cgroup peak memory; 0 outside a container

    def stderr_tail(self, lines: int = 8) -> str:
        return " | ".join(self.stderr.strip().splitlines()[-lines:])


def child_env(extra: Mapping[str, str] | None = None, *, build: bool = False) -> dict[str, str]:
    """A whitelisted environment: PATH with this interpreter's bin first, a few basics, `extra`."""
    env = {k: os.environ[k] for k in RUN_ENV_KEEP if k in os.environ}
    if build:
        env.update({k: v for k, v in os.environ.items() if k.startswith(BUILD_ENV_PREFIXES)})
        env.setdefault("GOTOOLCHAIN", "local")
    venv_bin = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["PATH"] = venv_bin + os.pathsep + path
    env.setdefault("LANG", "C.UTF-8")
    env.update(extra or {})
    return env


class _Live:
    """Process groups that are running now, so an interrupt can kill them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pgids: set[int] = set()

    def add(self, pgid: int) -> None:
        with self._lock:
            self._pgids.add(pgid)

    def discard(self, pgid: int) -> None:
        with self._lock:
            self._pgids.discard(pgid)

    def kill_all(self) -> None:
        with self._lock:
            pgids = list(self._pgids)
        for pgid in pgids:
            kill_group(pgid)


LIVE = _Live()


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def start(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], cpus: Sequence[int] | None,
          stdout, stderr) -> subprocess.Popen:
    """Start a child in its own session, pinned to `cpus`, and register its group."""
    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    try:
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=stdout,
            stderr=stderr, start_new_session=True, preexec_fn=pin if cpus else None,
        )
    except FileNotFoundError:
        raise UserError(f"{cwd}: command not found: {argv[0]} (check impl.toml and the toolchain)") from None
    LIVE.add(proc.pid)
    return proc


def reap(proc: subprocess.Popen, timeout: float | None) -> tuple[int, Rusage, bool]:
    """Wait for `proc` with wait4; kill its group at `timeout` or on Ctrl-C. Returns (code, rusage, timed_out)."""
    fired = threading.Event()

    def on_timeout() -> None:
        fired.set()
        kill_group(proc.pid)

    timer = threading.Timer(timeout, on_timeout) if timeout else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        _, status, ru = os.wait4(proc.pid, 0)
    except BaseException:
        kill_group(proc.pid)
        os.wait4(proc.pid, 0)
        proc.returncode = -signal.SIGKILL
        raise
    finally:
        if timer:
            timer.cancel()
        kill_group(proc.pid)  # anything the child left behind in its group
        LIVE.discard(proc.pid)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, Rusage.from_struct(ru), fired.is_set()


class _Wrapped:
    """`argv` run under rusage-exec, which reports the program's own rusage to a file.

    Linux keeps a process's peak RSS across exec, so measuring a child forked straight from
    this (large) Python process would report at least the harness's RSS. The wrapper is small.
    """

    def __init__(self, argv: Sequence[str]) -> None:
        fd, name = tempfile.mkstemp(prefix="cmbench-rusage-")
        os.close(fd)
        self.report = Path(name)
        self.argv = [str(wrapper_path()), name, *argv]

    def outcome(self, code: int, wrapper_rusage: Rusage) -> tuple[int, Rusage]:
        """The program's exit code and rusage (the wrapper's own if it was killed first)."""
        report = read_report(self.report)
        self.report.unlink(missing_ok=True)
        if report is None:
            return code, wrapper_rusage
        return os.waitstatus_to_exitcode(int(report["status"])), Rusage.from_report(report)


def run_child(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
              cpus: Sequence[int] | None = None, timeout: float | None = None,
              measure: bool = True) -> ChildResult:
    """Run `argv` to completion (or timeout) and return its output and rusage.

    With `measure`, the program runs under rusage-exec so that its peak RSS is its own.
    """
    wrapped = _Wrapped(argv) if measure else None
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        proc = start(wrapped.argv if wrapped else argv, cwd=cwd, env=env, cpus=cpus, stdout=out, stderr=err)
        try:
            code, rusage, timed_out = reap(proc, timeout)
            if wrapped:
                code, rusage = wrapped.outcome(code, rusage)
        finally:
            if wrapped:
                wrapped.report.unlink(missing_ok=True)
        wall = time.perf_counter() - began
        out.seek(0)
        err.seek(0)
        return ChildResult(
            argv=tuple(argv), returncode=code,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            wall=wall, rusage=rusage, timed_out=timed_out,
        )


class RunningChild:
    """A long-running child (a server): read its ready line, sample its memory, stop it.

    `stop` sends SIGTERM, waits `grace` seconds, then kills the group, and always reaps the
    child with wait4 so its rusage is known.
    """

    def __init__(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
                 cpus: Sequence[int] | None) -> None:
        self.argv = tuple(argv)
        self._wrapped = _Wrapped(argv)
        self._err = tempfile.TemporaryFile()
        self.began = time.perf_counter()
        self.proc = start(self._wrapped.argv, cwd=cwd, env=env, cpus=cpus, stdout=subprocess.PIPE,
                          stderr=self._err)
        self.result: ChildResult | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def read_line(self, timeout: float) -> str | None:
        """The next stdout line, or None if none came within `timeout` or the child exited."""
        import select

        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.1))
            if ready:
                line = self.proc.stdout.readline()
                return line.decode("utf-8", "replace") if line else None
            if not self.alive():
                return None
        return None

    def alive(self) -> bool:
        if self.result is not None:
            return False
        try:
            pid, _ = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) or (0, 0)
        except ChildProcessError:
            return False
        return pid == 0

    def program_pid(self) -> int | None:
        """The implementation's pid: the wrapper's one child."""
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def memory(self) -> int:
        """The implementation's current resident set size in bytes (VmRSS), 0 when it is gone."""
        pid = self.program_pid()
        if pid is None:
            return 0
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def tree_memory(self) -> TreeMemory:
        """RSS and PSS summed over the implementation's process tree (harness/memory.py)."""
        pid = self.program_pid()
        return read_tree(pid) if pid is not None else EMPTY

    def stderr_text(self) -> str:
        self._err.seek(0)
        return self._err.read().decode("utf-8", "replace")

    def stop(self, grace: float = 5.0) -> ChildResult:
        if self.result is not None:
            return self.result
        if self.alive():
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            code, rusage, timed_out = reap(self.proc, grace)
            code, rusage = self._wrapped.outcome(code, rusage)
        finally:
            self._wrapped.report.unlink(missing_ok=True)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.result = ChildResult(self.argv, code, "", self.stderr_text(), time.perf_counter() - self.began,
                                  rusage, timed_out)
        self._err.close()
        return self.result
