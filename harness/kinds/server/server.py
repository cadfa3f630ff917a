"""Starting a server implementation on a free port and knowing when it is ready.

Ready means both: the program printed `{"ready": true, "port": P}` and a TCP connect to
127.0.0.1:P succeeds, within the ready timeout. The port is chosen by binding port 0 and
closing the socket; if another process takes it in between, the server fails to bind and the
start is retried once with a new port. A server that exits or goes quiet before it is ready is
a failed case carrying its stderr tail, and it is always stopped.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from harness.executors.base import Executor, Running
from harness.manifests.model import Impl, Variant
from harness.measure.outcome import CaseFailure
from harness.measure.process import ChildResult, strip_ansi

READY_TIMEOUT = 60.0  # seconds; a JVM with a cold page cache can take several
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
ADDRESS_IN_USE = re.compile(r"address already in use|EADDRINUSE|errno 98|os error 98|bindexception", re.I)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(text: str, lines: int = 8) -> str:
    return " | ".join(strip_ansi(text).strip().splitlines()[-lines:])


def can_connect(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


class Server:
    """A started server that answered its ready line on `port`."""

    def __init__(self, running: Running, port: int) -> None:
        self.running = running
        self.port = port
        self.result: ChildResult | None = None

    def check_alive(self, during: str, grace: float = 0.0) -> None:
        """CaseFailure("crashed") with the stderr tail when the server has exited (or exits within `grace` s:
        after a failed request, a dying server may close its sockets a moment before it is gone)."""
        deadline = time.monotonic() + grace
        while self.running.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.running.alive():
            result = self.stop()
            how = f"killed by signal {-result.returncode}" if result.returncode < 0 else f"status {result.returncode}"
            raise CaseFailure("crashed", f"the server exited ({how}) during {during}; "
                                         f"stderr: {_tail(result.stderr) or '(empty)'}")

    def stderr_note(self) -> str:
        """'; stderr: <tail>' when the server has said something on stderr (a diagnostic), else ''."""
        tail = _tail(self.running.stderr_text(), 3)
        return f"; server stderr: {tail[:400]}" if tail else ""

    def check_quiet(self) -> None:
        """CaseFailure when the server printed more on stdout after its ready line (the contract forbids it)."""
        line = self.running.read_line(0.05)
        if line:
            raise CaseFailure("verify_failed", f"printed on stdout after the ready line: {line.strip()[:120]!r} "
                                               "(nothing but the ready line may go to stdout)")

    def stop(self) -> ChildResult:
        if self.result is None:
            self.result = self.running.stop(STOP_GRACE)
        return self.result


def _await_ready(running: Running, port: int, timeout: float) -> tuple[str, str] | None:
    """None once ready; otherwise (status, why not); the caller stops the process."""
    deadline = time.monotonic() + timeout
    line = running.read_line(timeout)
    if line is None:
        if not running.alive():
            return "crashed", "exited before printing its ready line"
        return "timeout", f"printed no ready line within {timeout:g} s"
    try:
        msg = json.loads(line)
    except json.JSONDecodeError:
        msg = None
    if msg != {"ready": True, "port": port}:
        return "verify_failed", f"first stdout line {line.strip()[:120]!r} is not {{\"ready\": true, \"port\": {port}}}"
    while not can_connect(port, timeout=max(0.1, min(1.0, deadline - time.monotonic()))):
        if not running.alive():
            return "crashed", "exited right after its ready line"
        if time.monotonic() > deadline:
            return "timeout", f"printed its ready line but refused TCP connections for {timeout:g} s"
        time.sleep(0.05)
    return None


def start_server(executor: Executor, impl: Impl, variant: Variant, cpus: Sequence[int], *,
                 ready_timeout: float = READY_TIMEOUT) -> Server:
    """Start the server and wait until it is ready; CaseFailure (the process stopped) otherwise."""
    for attempt in (1, 2):
        port = free_port()
        running = executor.start(impl, variant, ["http_server", "--port", str(port), "--cpus", str(len(cpus))],
                                 cpus=cpus)
        try:
            failed = _await_ready(running, port, ready_timeout)
        except BaseException:
            running.stop(STOP_GRACE)
            raise
        if failed is None:
            return Server(running, port)
        result = running.stop(STOP_GRACE)
        if attempt == 1 and ADDRESS_IN_USE.search(result.stderr):
            continue  # another process took the port between our probe and the server's bind
        status, why = failed
        raise CaseFailure(status, f"server on port {port} {why} (exit {result.returncode}); "
                                  f"stderr: {_tail(result.stderr) or '(empty)'}")
    raise AssertionError("unreachable")


@contextmanager
def serving(executor: Executor, impl: Impl, variant: Variant, cpus: Sequence[int], *,
            ready_timeout: float = READY_TIMEOUT) -> Iterator[Server]:
    """A ready server, stopped on every way out (failure, Ctrl-C)."""
    server = start_server(executor, impl, variant, cpus, ready_timeout=ready_timeout)
    try:
        yield server
    finally:
        server.stop()
