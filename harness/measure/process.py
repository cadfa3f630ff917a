"""Running child processes: rusage from wait4, CPU pinning, bounded output, and nothing left behind.

Every child runs under rusage-exec (harness/measure/wrapper/rusage_exec.c) in a session of its own.
The wrapper is the child's owner: a subreaper, so a descendant that double-forks or calls
setsid() is still its own; it kills and reaps every descendant once the program exits, on
SIGUSR1 (how this module stops a child) and when the harness dies, even by SIGKILL
(PR_SET_PDEATHSIG). So a timeout, Ctrl-C, a crashed harness or a program that daemonises
leaves no process running. If the wrapper itself does not exit within KILL_GRACE after being
told to stop, its whole process group is killed. The kernel sends the parent-death signal when
the *thread* that started the child ends, so start children from a thread that outlives them
(the main thread does).

stdout and stderr are pipes drained by one thread each into memory, at most `limit` bytes
each (OUTPUT_LIMIT by default): a child that prints more is stopped at once and its result
says which stream overflowed, so neither the harness's memory nor the disk grows with a
runaway program. The child's rusage comes from `wait4` inside the wrapper, which counts all
of its threads (and its reaped descendants), unlike /proc/PID/status, which counts one thread.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UserError
from harness.measure.memory import EMPTY, TreeMemory, read_tree
from harness.measure.wrapper import read_report, wrapper_path

# Terminal escape sequences (colours, cursor moves, window titles) that tools print, TERM being passed on.
ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[ -/]*[0-~])")
# Environment variables passed through to every child; everything else is dropped.
RUN_ENV_KEEP = ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "TERM")
# Builds also need their toolchains' settings.
BUILD_ENV_PREFIXES = ("CARGO", "RUSTUP", "RUSTC", "GO", "JAVA", "CC", "CFLAGS", "DOCKER")
OUTPUT_LIMIT = 16 * 2**20  # bytes kept per stream; a child that prints more is stopped
KILL_GRACE = 5.0  # seconds the wrapper has to stop everything before its process group is killed
EXIT_SETTLE = 1.0  # seconds a child whose stdout ended may take to become waitable
JOIN_GRACE = 5.0  # seconds to wait for the output pipes to close once the wrapper has exited
STOP = signal.SIGUSR1  # tells rusage-exec to kill the program and everything it started


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
    overflow: str = ""  # "stdout" or "stderr": printed more than the limit, so it was stopped
    leftovers: int = 0  # processes it started that were still running after it exited (killed)

    def stderr_tail(self, lines: int = 8) -> str:
        return " | ".join(strip_ansi(self.stderr).strip().split("\n")[-lines:])


def strip_ansi(text: str) -> str:
    """A tool's output without terminal escape sequences, for an error text (a log, a terminal line, run.json)."""
    return ANSI_ESCAPE.sub("", text)


def overflow_message(stream: str, limit: int) -> str:
    size = f" ({limit / 2**20:g} MiB)" if limit >= 2**20 else ""
    return f"printed more than {limit} bytes{size} on {stream}; stopped there"


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


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class _Capture(threading.Thread):
    """Drains one pipe into memory, up to `limit` bytes; past that, calls `overflowed` once and stops.

    The thread owns the file descriptor and closes it at end of file or on overflow (the writer
    then gets EPIPE). `read_line` hands out complete lines in order, for a server's ready line.
    """

    def __init__(self, fd: int, name: str, limit: int, overflowed: Callable[[str], None]) -> None:
        super().__init__(name=f"capture-{name}", daemon=True)
        self.fd = fd
        self.stream = name
        self.limit = limit
        self._overflowed = overflowed
        self._buf = bytearray()
        self._pos = 0  # what read_line has handed out
        self._cond = threading.Condition()
        self.done = False
        self.overflow = False

    def run(self) -> None:
        try:
            while chunk := os.read(self.fd, 65536):
                with self._cond:
                    room = self.limit - len(self._buf)
                    self._buf += chunk[:room]
                    self.overflow = len(chunk) > room
                    self._cond.notify_all()
                if self.overflow:
                    self._overflowed(self.stream)
                    break
        except OSError:
            pass
        finally:
            os.close(self.fd)
            with self._cond:
                self.done = True
                self._cond.notify_all()

    def data(self) -> bytes:
        with self._cond:
            return bytes(self._buf)

    def text(self) -> str:
        return self.data().decode("utf-8", "replace")

    def read_line(self, timeout: float) -> str | None:
        """The next line (the rest at end of file), or None after `timeout` or at end of file."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                end = self._buf.find(b"\n", self._pos)
                if end >= 0 or (self.done and self._pos < len(self._buf)):
                    end = end + 1 if end >= 0 else len(self._buf)
                    line = bytes(self._buf[self._pos:end])
                    self._pos = end
                    return line.decode("utf-8", "replace")
                left = deadline - time.monotonic()
                if self.done or left <= 0:
                    return None
                self._cond.wait(left)


class _Live:
    """Children that are running now, so an interrupt can stop them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._children: set[_Child] = set()

    def add(self, child: _Child) -> None:
        with self._lock:
            self._children.add(child)

    def discard(self, child: _Child) -> None:
        with self._lock:
            self._children.discard(child)

    def kill_all(self) -> None:
        with self._lock:
            children = list(self._children)
        for child in children:
            child.kill()


LIVE = _Live()


def _popen(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], cpus: Sequence[int] | None,
           stdout: int, stderr: int) -> subprocess.Popen:
    """Start the wrapper in its own session, pinned to `cpus`; UserError when it cannot start at all."""
    def pin() -> None:
        os.sched_setaffinity(0, cpus)

    try:
        return subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
            start_new_session=True, preexec_fn=pin if cpus else None,
        )
    except FileNotFoundError:
        raise UserError(f"{cwd}: no such folder; cannot start {argv[2]} there") from None
    except (OSError, ValueError) as e:  # no memory or processes left to fork, a NUL byte in an argument
        why = e.strerror if isinstance(e, OSError) else str(e)
        raise UserError(f"{cwd}: cannot start {' '.join(argv[2:])[:200]!r}: {why}") from None


class _Child:
    """One program under rusage-exec: its output captured, stopped on request, reaped with wait4.

    The wrapper is only signalled while it is unreaped (it stays a zombie until `wait` has
    taken the lock), so a pid that the kernel has given to another process is never signalled.
    """

    def __init__(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], cpus: Sequence[int] | None,
                 report: bool, limit: int) -> None:
        self.argv = tuple(argv)
        self.report: Path | None = None
        if report:
            fd, name = tempfile.mkstemp(prefix="cmbench-rusage-")
            os.close(fd)
            self.report = Path(name)
        self._lock = threading.Lock()
        self._reaped = False
        self._stopping = False
        self.limit = limit
        self.overflow = ""
        self.leftovers = 0
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        self.began = time.perf_counter()
        try:
            self.proc = _popen([str(wrapper_path()), str(self.report or "-"), *argv], cwd=cwd, env=env, cpus=cpus,
                               stdout=out_w, stderr=err_w)
        except BaseException:
            for fd in (out_r, err_r):
                os.close(fd)
            self._drop_report()
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
        LIVE.add(self)
        self.out = _Capture(out_r, "stdout", limit, self._overflowed)
        self.err = _Capture(err_r, "stderr", limit, self._overflowed)
        self.out.start()
        self.err.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _overflowed(self, stream: str) -> None:
        with self._lock:
            self.overflow = self.overflow or stream
        self.kill()

    def signal(self, sig: int) -> None:
        with self._lock:
            if not self._reaped:
                os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        """Tell the wrapper to kill everything; kill its group if it has not exited after KILL_GRACE."""
        with self._lock:
            if self._reaped or self._stopping:
                return
            self._stopping = True
            os.kill(self.proc.pid, STOP)
        backstop = threading.Timer(KILL_GRACE, self._kill_group)
        backstop.daemon = True
        backstop.start()

    def _kill_group(self) -> None:
        with self._lock:
            if not self._reaped:
                kill_group(self.proc.pid)

    def exited(self) -> bool:
        """Whether the wrapper (and so everything it owned) has exited; it is not reaped here."""
        with self._lock:
            if self._reaped:
                return True
        try:
            info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None and info.si_pid != 0

    def wait(self, timeout: float | None) -> tuple[int, Rusage, bool]:
        """Wait until the wrapper exits, stopping it at `timeout` or on Ctrl-C; (exit code, rusage, timed out)."""
        fired = threading.Event()

        def on_timeout() -> None:
            fired.set()
            self.kill()

        timer = threading.Timer(timeout, on_timeout) if timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOWAIT)
        except BaseException:
            self.kill()
            self._wait_uninterrupted()
            self._reap()
            raise
        finally:
            if timer:
                timer.cancel()
        status, ru = self._reap()
        code, rusage = self._outcome(os.waitstatus_to_exitcode(status), Rusage.from_struct(ru))
        return code, rusage, fired.is_set()

    def _wait_uninterrupted(self) -> None:
        while True:  # a second Ctrl-C must not leave the wrapper unreaped; it is gone within KILL_GRACE
            try:
                os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOWAIT)
                return
            except KeyboardInterrupt:
                continue
            except ChildProcessError:
                return

    def _reap(self) -> tuple[int, object]:
        with self._lock:
            self._reaped = True
            try:
                _, status, ru = os.wait4(self.proc.pid, 0)
            except ChildProcessError:  # reaped elsewhere (it should not be)
                status, ru = 0, None
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        LIVE.discard(self)
        for capture in (self.out, self.err):
            capture.join(JOIN_GRACE)
        return status, ru

    def _outcome(self, code: int, wrapper_rusage: Rusage) -> tuple[int, Rusage]:
        """The program's exit code and rusage from the wrapper's report (the wrapper's own without one)."""
        if self.report is None:
            return code, wrapper_rusage
        report = read_report(self.report)
        self._drop_report()
        if report is None:
            return code, wrapper_rusage
        self.leftovers = int(report.get("leftovers", 0))
        return os.waitstatus_to_exitcode(int(report["status"])), Rusage.from_report(report)

    def _drop_report(self) -> None:
        if self.report is not None:
            self.report.unlink(missing_ok=True)

    def stderr(self) -> str:
        """What the program printed on stderr, and a last line saying so when output overflowed."""
        text = self.err.text()
        if self.overflow:
            text += f"\n{overflow_message(self.overflow, self.limit)}\n"
        return text

    def result(self, code: int, rusage: Rusage, timed_out: bool, *, stdout: bool = True) -> ChildResult:
        return ChildResult(self.argv, code, self.out.text() if stdout else "", self.stderr(),
                           time.perf_counter() - self.began, rusage, timed_out, overflow=self.overflow,
                           leftovers=self.leftovers)


def run_child(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
              cpus: Sequence[int] | None = None, timeout: float | None = None,
              measure: bool = True, limit: int = OUTPUT_LIMIT) -> ChildResult:
    """Run `argv` to completion (or timeout) and return its output and rusage.

    With `measure`, the rusage is the program's own (from the wrapper's report), so that its
    peak RSS is not the harness's; without, it is the wrapper's, which covers the program too.
    """
    child = _Child(argv, cwd=cwd, env=env, cpus=cpus, report=measure, limit=limit)
    try:
        code, rusage, timed_out = child.wait(timeout)
    finally:
        child._drop_report()
    return child.result(code, rusage, timed_out)


class RunningChild:
    """A long-running child (a server): read its ready line, sample its memory, stop it.

    `stop` sends SIGTERM (the wrapper forwards it to the program), waits `grace` seconds, then
    stops everything, and always reaps the wrapper so the program's rusage is known.
    """

    def __init__(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
                 cpus: Sequence[int] | None, limit: int = OUTPUT_LIMIT) -> None:
        self.argv = tuple(argv)
        self._child = _Child(argv, cwd=cwd, env=env, cpus=cpus, report=True, limit=limit)
        self.result: ChildResult | None = None

    @property
    def pid(self) -> int:
        return self._child.pid

    def read_line(self, timeout: float) -> str | None:
        """The next stdout line, or None if none came within `timeout` or the child exited."""
        line = self._child.out.read_line(timeout)
        if line is None and self._child.out.done:  # end of file comes just before the exit can be waited for
            deadline = time.monotonic() + EXIT_SETTLE
            while not self._child.exited() and time.monotonic() < deadline:
                time.sleep(0.01)
        return line

    def alive(self) -> bool:
        return self.result is None and not self._child.exited()

    def program_pid(self) -> int | None:
        """The implementation's pid: the wrapper's first child."""
        pid = self._child.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
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
        """RSS and PSS summed over the implementation's process tree (harness/measure/memory.py)."""
        pid = self.program_pid()
        return read_tree(pid) if pid is not None else EMPTY

    def stderr_text(self) -> str:
        return self._child.stderr()

    def send(self, sig: int) -> None:
        """A signal for the program (the wrapper forwards SIGTERM, SIGINT and SIGHUP), unless it is gone."""
        if self.result is None and not self._child.exited():
            self._child.signal(sig)

    def finish(self, timeout: float) -> ChildResult:
        """Wait for the program to end on its own (stopping everything after `timeout`), with its stdout."""
        if self.result is not None:
            return self.result
        try:
            code, rusage, timed_out = self._child.wait(timeout)
        finally:
            self._child._drop_report()
        self.result = self._child.result(code, rusage, timed_out)
        return self.result

    def stop(self, grace: float = 5.0) -> ChildResult:
        if self.result is not None:
            return self.result
        try:
            if not self._child.exited():
                self._child.signal(signal.SIGTERM)
            code, rusage, timed_out = self._child.wait(grace)
        finally:
            self._child._drop_report()
        self.result = self._child.result(code, rusage, timed_out, stdout=False)
        return self.result
