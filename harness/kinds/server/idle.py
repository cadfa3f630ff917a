"""Idle keep-alive connections: open many, each after one answered request, and hold them.

Memory per connection is (memory with N idle connections open - memory just before) / N, where
memory is the server's whole process tree (harness/measure/memory.py): the sum of its processes' PSS
where the kernel offers /proc/PID/smaps_rollup (pages shared between a supervisor and its
workers counted once), else their RSS; in a container, the cgroup's usage. Each connection first
completes one GET /plaintext, so the server has set up whatever it keeps per live connection
(buffers, a goroutine, a thread, a task), then stays open and silent while the memory is read
and, where the caller asks for the check, for `hold` seconds in all (the profile's `idle_hold`; 7 s
in full, past common keep-alive timeouts: Node's http 5 s, Apache httpd's 5 s): at the end every
connection must still be open and answer one more request. A server that dropped idle
connections would otherwise look cheap, and the contract says connections persist until the
client closes them.

Opening is bounded in time: each connect and each first response has `timeout` seconds, and
all N together `timeout` plus one second per `OPEN_RATE` connections, so a server that stops
accepting or answering (a thread-per-connection server out of threads) fails the phase with
what timed out instead of holding the harness.
"""

from __future__ import annotations

import errno
import os
import resource
import selectors
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.kinds.server.client import MAX_HEAD, request_bytes
from harness.measure.memory import TreeMemory

OPEN_AT_ONCE = 256  # connects in flight at a time: below any listen backlog the contract allows
OPEN_RATE = 200  # connections per second the overall opening deadline allows for, beyond `timeout`
SETTLE = 0.5  # seconds to wait after the last connection before reading memory
SAMPLES = 3  # memory readings, SETTLE / 2 apart; the median is used
FD_MARGIN = 1024  # descriptors beyond the connections for everything else the harness and tools open
DEFAULT_HOLD = 7.0  # seconds the connections stay idle when the caller names no hold
TICK = 0.05  # the most seconds between looks at the connections' timeouts
RECV_BYTES = 65536


class IdleError(Exception):
    """A connection could not be opened or answered, or was closed while idle."""


@dataclass(frozen=True)
class IdleMeasurement:
    connections: int
    before: TreeMemory  # the server tree just before the connections
    with_open: TreeMemory  # the median reading with every connection open
    open_seconds: float  # time to open and answer every connection

    @property
    def kind(self) -> str:
        """Which memory the figures are: "pss", "rss" or "cgroup" (memory.TreeMemory.kind)."""
        return self.with_open.kind if self.before.kind == self.with_open.kind else "rss"

    def _value(self, m: TreeMemory) -> int:
        return m.pss if self.kind == "pss" and m.pss is not None else m.rss

    @property
    def memory_with(self) -> int:
        """The tree's memory with every connection open (PSS where available)."""
        return self._value(self.with_open)

    @property
    def per_connection(self) -> float:
        if not self.connections:
            return 0.0
        return (self._value(self.with_open) - self._value(self.before)) / self.connections

    def as_dict(self) -> dict[str, object]:
        return {"connections": self.connections, "memory": self.kind, "processes": self.with_open.processes,
                "rss_before": self.before.rss, "rss_with": self.with_open.rss,
                "pss_before": self.before.pss, "pss_with": self.with_open.pss,
                "memory_with": self.memory_with, "memory_per_connection": round(self.per_connection, 1),
                "open_seconds": self.open_seconds}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> IdleMeasurement:
        source = "cgroup" if d.get("memory") == "cgroup" else "proc"
        processes = int(d.get("processes", 1))
        before = TreeMemory(int(d["rss_before"]), d.get("pss_before"), processes, source)
        with_open = TreeMemory(int(d["rss_with"]), d.get("pss_with"), processes, source)
        return cls(int(d["connections"]), before, with_open, float(d["open_seconds"]))


def raise_fd_limit(needed: int) -> None:
    """Raise this process's RLIMIT_NOFILE to at least `needed` (children inherit it); IdleError if impossible."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            return
        except (ValueError, OSError):
            raise IdleError(f"needs {needed} open files but the hard limit is {hard}: raise it "
                            f"(ulimit -Hn {needed}, or LimitNOFILE) or lower idle_connections") from None
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _content_length(head: bytes) -> int:
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return int(value.strip() or 0)
    return 0


CONNECTING, ANSWERING = "connecting", "answering"


class _Idle:
    """One idle keep-alive connection: its non-blocking socket and the exchange under way on it."""

    __slots__ = ("sock", "stage", "since", "out", "buffer", "expect", "failure")

    def __init__(self, sock: socket.socket, now: float) -> None:
        self.sock = sock
        self.stage = CONNECTING  # then ANSWERING while a request waits for its whole response
        self.since = now  # when the stage began: each has the exchange's `timeout` seconds
        self.out = b""  # request bytes not yet written
        self.buffer = bytearray()
        self.expect = -1  # bytes of the whole response once its head is in
        self.failure = ""  # what went wrong, in the words the phase's error uses

    def ask(self, request: bytes, now: float) -> None:
        self.stage, self.since, self.out, self.expect, self.failure = ANSWERING, now, request, -1, ""
        self.buffer.clear()

    def received(self, data: bytes) -> bool:
        """Take `data` from the server; whether the response is now whole (`failure` says when it cannot be)."""
        self.buffer += data
        if self.expect < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self.failure = f"failed: no end of headers within {MAX_HEAD} bytes"
                return False
            try:
                self.expect = end + 4 + _content_length(bytes(self.buffer[:end]))
            except ValueError as e:
                self.failure = f"failed: ValueError: {e}"
                return False
        return len(self.buffer) >= self.expect

    def closed(self) -> bool:
        """Whether the server closed (or reset) the connection while it was idle."""
        try:
            return self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True


def _exchange(port: int, timeout: float, *, new: int = 0, again: Sequence[_Idle] = (),
              deadline: float | None = None) -> list[_Idle]:
    """Open `new` connections and have each answer one GET /plaintext, read whole; or (`again`) have those
    answer once more. At most `OPEN_AT_ONCE` are under way at a time, and each connect and each answer has
    `timeout` seconds. Returns the connections that answered.

    Opening stops at the first failure (IdleError saying what went wrong, every connection it opened
    closed), and at `deadline` seconds with connections still to go; asking `again` lets each fail on its
    own (it is left out of the list, its `failure` set) and closes none. A plain epoll loop over
    non-blocking sockets: ten thousand connections open and answer in less than half the time asyncio's
    transports took (0.8-1.3 s against 2.2-2.7 s on a 2-vCPU guest, where the harness's client was what
    bounded the phase on a fast server), and close in 0.2-0.5 s instead of about 1.3 s."""
    request = request_bytes("/plaintext", port)
    queue: Sequence[_Idle | None] = again or [None] * new
    selector = selectors.DefaultSelector()
    flying: dict[int, _Idle] = {}
    answered: list[_Idle] = []
    began, taken = time.perf_counter(), 0

    def leave(conn: _Idle) -> None:
        selector.unregister(conn.sock)
        del flying[conn.sock.fileno()]
        if not conn.failure:
            answered.append(conn)
        elif not again:
            conn.sock.close()
            raise IdleError(conn.failure if conn.stage == CONNECTING
                            else f"a new connection's first GET /plaintext {conn.failure}")

    try:
        while taken < len(queue) or flying:
            while taken < len(queue) and len(flying) < OPEN_AT_ONCE:
                conn = queue[taken]
                taken += 1
                if conn is None:
                    conn = _connect(port)
                else:
                    conn.ask(request, time.perf_counter())
                flying[conn.sock.fileno()] = conn
                selector.register(conn.sock, selectors.EVENT_WRITE, conn)
            for key, _ in selector.select(TICK):
                conn = key.data
                if _step(conn, request, port, selector):
                    leave(conn)
            now = time.perf_counter()
            for conn in [c for c in flying.values() if now - c.since > timeout]:
                conn.failure = (f"connecting to 127.0.0.1:{port} took over {timeout:g} s (the server stopped "
                                "accepting connections)" if conn.stage == CONNECTING
                                else f"got no complete response within {timeout:g} s")
                leave(conn)
            if deadline is not None and now - began > deadline and (flying or taken < len(queue)):
                raise IdleError(f"opened {len(answered)} of {new} idle connections within {deadline:.0f} s; the "
                                "server stopped accepting or answering new connections")
    except BaseException:
        if not again:
            for conn in [*flying.values(), *answered]:
                conn.sock.close()
        raise
    finally:
        selector.close()
    return answered


def _connect(port: int) -> _Idle:
    """A new connection to 127.0.0.1:port under way; IdleError when not even that can start (no descriptor left,
    refused at once)."""
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError as e:
        raise IdleError(f"connecting to 127.0.0.1:{port} failed: {e.strerror or e}") from None
    sock.setblocking(False)
    err = sock.connect_ex(("127.0.0.1", port))
    if err not in (0, errno.EINPROGRESS):
        sock.close()
        raise IdleError(f"connecting to 127.0.0.1:{port} failed: {os.strerror(err)}")
    return _Idle(sock, time.perf_counter())


def _step(conn: _Idle, request: bytes, port: int, selector: selectors.BaseSelector) -> bool:
    """Move `conn` on after the selector said it is ready; whether its exchange ended (answered, or `failure`)."""
    try:
        if conn.stage == CONNECTING:
            err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                conn.failure = f"connecting to 127.0.0.1:{port} failed: {os.strerror(err)}"
                return True
            conn.ask(request, time.perf_counter())
        if conn.out:
            conn.out = conn.out[conn.sock.send(conn.out):]
            if not conn.out:
                selector.modify(conn.sock, selectors.EVENT_READ, conn)
            return False
        data = conn.sock.recv(RECV_BYTES)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError as e:
        conn.failure = f"failed: {type(e).__name__}: {e}"
        return True
    if not data:
        conn.failure = "failed: the server closed the connection"
        return True
    return conn.received(data) or bool(conn.failure)


def _hold(port: int, count: int, memory: Callable[[], TreeMemory], timeout: float,
          hold: float | None) -> IdleMeasurement:
    before = memory()
    began = time.perf_counter()
    conns = _exchange(port, timeout, new=count, deadline=timeout + count / OPEN_RATE)
    opened = time.perf_counter() - began
    try:
        readings = []
        idle_began = time.perf_counter()
        for k in range(SAMPLES):
            time.sleep(SETTLE if k == 0 else SETTLE / 2)
            readings.append(memory())
        if hold is not None:
            time.sleep(max(0.0, hold - (time.perf_counter() - idle_began)))
            held = time.perf_counter() - idle_began
            closed = sum(1 for c in conns if c.closed())
            if not closed:
                closed = count - len(_exchange(port, timeout, again=conns))
            if closed:
                raise IdleError(f"the server closed {closed} of {count} idle keep-alive connections within "
                                f"{held:.1f} s of idling; connections must stay open until the client closes them "
                                "(a keep-alive timeout such as Node's 5 s default drops them)")
    finally:
        for c in conns:
            c.sock.close()
    return IdleMeasurement(count, before, sorted(readings, key=lambda m: m.best)[len(readings) // 2], opened)


def measure_idle(port: int, count: int, memory: Callable[[], TreeMemory], *,
                 timeout: float = 10.0, hold: float | None = DEFAULT_HOLD) -> IdleMeasurement:
    """Open `count` keep-alive connections to 127.0.0.1:port, read the server's memory around them, keep
    them idle `hold` seconds, then check that every one is still open and answers (`hold` None: read
    the memory only, and close them)."""
    raise_fd_limit(count + FD_MARGIN)
    return _hold(port, count, memory, timeout, hold)
