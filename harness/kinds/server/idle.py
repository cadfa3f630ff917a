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

import asyncio
import resource
import time
from collections.abc import Callable, Mapping
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


class _Idle(asyncio.Protocol):
    """One idle keep-alive connection. asyncio's protocol layer rather than its streams: ten thousand
    connections open and answer in about two thirds of the time, the harness's client being what
    bounds the phase on a fast server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.transport: asyncio.Transport | None = None
        self.answered: asyncio.Future[None] | None = None
        self.buffer = bytearray()
        self.expect = -1  # bytes of the whole response once its head is in
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.answered is None or self.answered.done():
            return
        if self.expect < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self.answered.set_exception(IdleError(f"failed: no end of headers within {MAX_HEAD} bytes"))
                return
            try:
                self.expect = end + 4 + _content_length(bytes(self.buffer[:end]))
            except ValueError as e:
                self.answered.set_exception(IdleError(f"failed: ValueError: {e}"))
                return
        if len(self.buffer) >= self.expect:
            self.answered.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.answered is not None and not self.answered.done():
            why = f"{type(exc).__name__}: {exc}" if exc else "the server closed the connection"
            self.answered.set_exception(IdleError(f"failed: {why}"))

    async def answer(self, timeout: float) -> None:
        """One GET /plaintext, its response read whole; IdleError saying what went wrong."""
        assert self.transport is not None
        self.answered = asyncio.get_running_loop().create_future()
        self.buffer.clear()
        self.expect = -1
        self.transport.write(request_bytes("/plaintext", self.port))
        try:
            async with asyncio.timeout(timeout):
                await self.answered
        except TimeoutError:
            raise IdleError(f"got no complete response within {timeout:g} s") from None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def _still_answers(gate: asyncio.Semaphore, conn: _Idle, timeout: float) -> bool:
    async with gate:
        try:
            await conn.answer(timeout)
            return True
        except IdleError:
            return False


async def _open_one(port: int, gate: asyncio.Semaphore, timeout: float) -> _Idle:
    loop = asyncio.get_running_loop()
    async with gate:
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(lambda: _Idle(port), "127.0.0.1", port)
        except TimeoutError:
            raise IdleError(f"connecting to 127.0.0.1:{port} took over {timeout:g} s (the server stopped "
                            "accepting connections)") from None
        except OSError as e:
            raise IdleError(f"connecting to 127.0.0.1:{port} failed: {e.strerror or e}") from None
        try:
            await conn.answer(timeout)
        except IdleError as e:
            conn.close()
            raise IdleError(f"a new connection's first GET /plaintext {e}") from None
        return conn


async def _hold(port: int, count: int, memory: Callable[[], TreeMemory], timeout: float,
                hold: float | None) -> IdleMeasurement:
    before = memory()
    began = time.perf_counter()
    gate = asyncio.Semaphore(OPEN_AT_ONCE)
    tasks = [asyncio.ensure_future(_open_one(port, gate, timeout)) for _ in range(count)]
    deadline = timeout + count / OPEN_RATE
    try:
        done, pending = await asyncio.wait(tasks, timeout=deadline, return_when=asyncio.FIRST_EXCEPTION)
        failed = next((t.exception() for t in done if t.exception() is not None), None)
        if failed is not None:
            raise failed
        if pending:
            raise IdleError(f"opened {len(done)} of {count} idle connections within {deadline:.0f} s; the server "
                            f"stopped accepting or answering new connections")
        conns = [t.result() for t in tasks]
    except BaseException:
        for t in tasks:
            t.cancel()
        settled = await asyncio.gather(*tasks, return_exceptions=True)
        for item in settled:
            if isinstance(item, _Idle):
                item.close()
        raise
    opened = time.perf_counter() - began
    try:
        readings = []
        idle_began = time.perf_counter()
        for k in range(SAMPLES):
            await asyncio.sleep(SETTLE if k == 0 else SETTLE / 2)
            readings.append(memory())
        if hold is not None:
            await asyncio.sleep(max(0.0, hold - (time.perf_counter() - idle_began)))
            held = time.perf_counter() - idle_began
            closed = sum(1 for c in conns if c.closed)
            if not closed:
                answered = await asyncio.gather(*(_still_answers(gate, c, timeout) for c in conns))
                closed = answered.count(False)
            if closed:
                raise IdleError(f"the server closed {closed} of {count} idle keep-alive connections within "
                                f"{held:.1f} s of idling; connections must stay open until the client closes them "
                                "(a keep-alive timeout such as Node's 5 s default drops them)")
    finally:
        for c in conns:
            c.close()
        await asyncio.sleep(0)  # let the transports finish closing before the loop ends
    return IdleMeasurement(count, before, sorted(readings, key=lambda m: m.best)[len(readings) // 2], opened)


def measure_idle(port: int, count: int, memory: Callable[[], TreeMemory], *,
                 timeout: float = 10.0, hold: float | None = DEFAULT_HOLD) -> IdleMeasurement:
    """Open `count` keep-alive connections to 127.0.0.1:port, read the server's memory around them, keep
    them idle `hold` seconds, then check that every one is still open and answers (`hold` None: read
    the memory only, and close them)."""
    raise_fd_limit(count + FD_MARGIN)
    return asyncio.run(_hold(port, count, memory, timeout, hold))
