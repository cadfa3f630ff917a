"""The http_server checker against a tiny in-test server that breaks one rule at a time; idle connections."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from harness.kinds.server import check, idle
from harness.kinds.server.check import Clock, parse_imf_fixdate, verify_http
from harness.kinds.server.idle import IdleError, measure_idle
from harness.measure.memory import EMPTY, TreeMemory


class FakeClock:
    """Shared by the checker and the server: waiting advances the time at once."""

    def __init__(self) -> None:
        self.t = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC).timestamp()

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


@dataclass(frozen=True)
class Behaviour:
    """How the in-test server answers; the default follows the contract."""

    version: str = "1.1"
    status: int = 200
    body: bytes = b"Hello, World!"
    content_type: str | None = "text/plain"
    content_length: str | None = None  # None: the body's length
    server: str | None = "cmbench-test"
    date: str = "now"  # "now", "frozen", "missing", "iso", "wrong-weekday", "skewed"
    not_found_status: int = 404
    close_each: bool = False  # close after every response
    say_close: bool = False  # send Connection: close
    honour_close: bool = True
    pipelining: bool = True  # answer every request in a read, not just the first
    reverse: bool = False  # answer the requests of one read last first
    chunked: bool = False
    idle_close: float = 0.0  # close a connection idle this many seconds (0: never), as a keep-alive timeout does


def _date(b: Behaviour, clock: FakeClock) -> str | None:
    now = datetime.fromtimestamp(clock.now(), UTC)
    return {
        "now": format_datetime(now, usegmt=True),
        "frozen": "Sun, 22 Nov 2026 10:00:00 GMT",
        "missing": None,
        "iso": now.isoformat(),
        "wrong-weekday": format_datetime(now, usegmt=True).replace("Sun", "Mon"),
        "skewed": format_datetime(datetime.fromtimestamp(clock.now() - 3600, UTC), usegmt=True),
    }[b.date]


def _response(b: Behaviour, clock: FakeClock, path: str) -> bytes:
    found = path == "/plaintext"
    body = b.body if found else b"not found"
    headers = [f"HTTP/{b.version} {b.status if found else b.not_found_status} X"]
    if b.content_type is not None:
        headers.append(f"Content-Type: {b.content_type}")
    if b.chunked:
        headers.append("Transfer-Encoding: chunked")
    elif b.content_length != "":
        headers.append(f"Content-Length: {b.content_length if b.content_length is not None else len(body)}")
    if b.server is not None:
        headers.append(f"Server: {b.server}")
    date = _date(b, clock)
    if date is not None:
        headers.append(f"Date: {date}")
    if b.say_close:
        headers.append("Connection: close")
    if b.chunked:
        body = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


def _serve_connection(conn: socket.socket, b: Behaviour, clock: FakeClock, counter: list[int]) -> None:
    buf = b""
    with conn:
        conn.settimeout(b.idle_close or None)
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:  # TimeoutError too: idle for idle_close seconds
                return
            if not chunk:
                return
            buf += chunk
            if b.reverse and buf.count(b"\r\n\r\n") > 1:
                heads = buf.split(b"\r\n\r\n")
                buf = heads.pop()
                buf = b"".join(h + b"\r\n\r\n" for h in reversed(heads)) + buf
            while b"\r\n\r\n" in buf:
                head, buf = buf.split(b"\r\n\r\n", 1)
                if not b.pipelining:
                    buf = b""
                path = head.split(b" ")[1].decode()
                counter[0] += 1
                try:
                    conn.sendall(_response(b, clock, path))
                except OSError:  # the checker hung up after the problem it was looking for
                    return
                wants_close = b"connection: close" in head.lower()
                if b.close_each or b.say_close or (wants_close and b.honour_close):
                    return


@contextmanager
def listening(serve: Callable[[socket.socket], None]) -> Iterator[int]:
    """A listener on 127.0.0.1 that hands each connection it accepts to `serve`, on a thread of its own: its port.
    When it ends it stops accepting, then closes every connection it accepted."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1024)
    lsock.settimeout(0.02)
    stop = threading.Event()
    kept: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except TimeoutError:
                continue
            except OSError:  # out of descriptors (a test's own limit): later, or never
                stop.wait(0.01)
                continue
            kept.append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield lsock.getsockname()[1]
    finally:
        stop.set()
        acceptor.join()
        lsock.close()
        for conn in kept:
            conn.close()


@contextmanager
def fake_server(b: Behaviour, clock: FakeClock, counter: list[int] | None = None) -> Iterator[int]:
    counter = counter if counter is not None else [0]
    with listening(lambda conn: _serve_connection(conn, b, clock, counter)) as port:
        yield port


@pytest.fixture(autouse=True)
def short_waits(monkeypatch):
    monkeypatch.setattr(check, "CLOSE_WAIT", 0.3)
    monkeypatch.setattr(check, "READ_TIMEOUT", 0.5)
    monkeypatch.setattr(check, "IDLE_HOLD", 0.05)
    monkeypatch.setattr(idle, "SETTLE", 0.05)


def problems_of(b: Behaviour) -> list[str]:
    clock = FakeClock()
    with fake_server(b, clock) as port:
        return verify_http(port, Clock(clock.now, clock.sleep))


def one_problem_like(b: Behaviour, text: str) -> str:
    problems = problems_of(b)
    assert problems, f"no problem found for {b}"
    assert any(text in p for p in problems), problems
    return next(p for p in problems if text in p)


def test_a_server_that_follows_the_contract_passes():
    assert problems_of(Behaviour()) == []


@pytest.mark.parametrize("content_type", ["text/plain; charset=utf-8", "text/plain;charset=UTF-8"])
def test_charset_utf8_is_accepted_as_techempower_does(content_type):
    assert problems_of(Behaviour(content_type=content_type)) == []


@pytest.mark.parametrize("behaviour, text", [
    (Behaviour(body=b"Hello, world!"), "body b'Hello, world!', expected exactly b'Hello, World!'"),
    (Behaviour(status=201), "status 201, expected 200"),
    (Behaviour(version="1.0"), "answered HTTP/1.0, expected HTTP/1.1"),
    (Behaviour(content_type="text/html"), "Content-Type 'text/html', expected 'text/plain'"),
    (Behaviour(content_type="text/plain; charset=iso-8859-1"), "Content-Type 'text/plain; charset=iso-8859-1'"),
    (Behaviour(content_type=None), "0 Content-Type headers"),
    (Behaviour(body=b"Hello, World!\n"), "Content-Length '14', expected '13'"),
    (Behaviour(content_length=""), "0 Content-Length headers"),
    (Behaviour(chunked=True), "uses Transfer-Encoding 'chunked'; the contract requires Content-Length"),
    (Behaviour(server=None), "no Server header"),
    (Behaviour(server=""), "empty Server header"),
    (Behaviour(date="missing"), "0 Date headers, expected one"),
    (Behaviour(date="iso"), "is not an IMF-fixdate"),
    (Behaviour(date="wrong-weekday"), "weekday Mon does not match the date (a Sun)"),
    (Behaviour(date="skewed"), "-3600 s off the current time"),
    (Behaviour(date="frozen"), "Date did not advance"),
    (Behaviour(close_each=True), "the server closed the connection before sending the response"),
    (Behaviour(say_close=True), "the server sent 'Connection: close'"),
    (Behaviour(pipelining=False), "back to back"),
    (Behaviour(pipelining=False),
     "pipelined burst of 16 requests in one send: response 2 on one connection: no response within"),
    (Behaviour(reverse=True), "pipelined burst of 16 requests in one send, response 5: status 404, expected 200 "
                              "(request 5 asked for /plaintext); expected statuses in order 200 200 200 200 200 404 "
                              "200 200 200 200 200 404 200 200 200 200, received so far 200 200 200 200 404: "
                              "responses out of order"),
    (Behaviour(not_found_status=200), "GET /cmbench-no-such-path: status 200, expected 404"),
    (Behaviour(honour_close=False), "did not close the connection"),
])
def test_each_broken_rule_is_reported_precisely(behaviour, text):
    one_problem_like(behaviour, text)


def test_a_frozen_date_is_the_only_problem_of_a_server_that_caches_it_forever():
    clock = FakeClock()
    with fake_server(Behaviour(date="frozen"), clock) as port:
        clock.t = parse_imf_fixdate("Sun, 22 Nov 2026 10:00:00 GMT").timestamp()
        problems = verify_http(port, Clock(clock.now, clock.sleep))
    assert problems == ["Date did not advance: 'Sun, 22 Nov 2026 10:00:00 GMT' then "
                        "'Sun, 22 Nov 2026 10:00:00 GMT' 1.1 s later (it must be refreshed at least once a second)"]


def test_nothing_listening_is_one_message_per_check():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    problems = verify_http(port, Clock(FakeClock().now, FakeClock().sleep))
    assert len(problems) == len(check.CHECKS) + 1  # and the idle keep-alive connection
    assert all(f"cannot connect to 127.0.0.1:{port}" in p for p in problems)


def test_a_server_that_drops_idle_keep_alive_connections_fails_verify():
    clock = FakeClock()
    with fake_server(Behaviour(idle_close=1.0), clock) as port:
        began = time.monotonic()
        problems = verify_http(port, Clock(clock.now, clock.sleep), idle_hold=3.0)
        assert time.monotonic() - began < 2.5  # told as soon as the server closed it
        assert len(problems) == 1, problems
        assert re.fullmatch(r"idle keep-alive connection: the server closed it within 1\.\d s of idling \(verify holds "
                            r"it 3 s\); connections must stay open until the client closes them \(a keep-alive "
                            r"timeout such as Node's 5 s default drops them\)", problems[0]), problems[0]
        assert verify_http(port, Clock(clock.now, clock.sleep), idle_hold=0.2) == []  # a hold shorter than its timeout


@pytest.mark.parametrize("text, ok", [
    ("Sun, 06 Nov 1994 08:49:37 GMT", True),
    ("Sunday, 06-Nov-94 08:49:37 GMT", False),  # RFC 850: obsolete, not IMF-fixdate
    ("Sun Nov  6 08:49:37 1994", False),  # asctime
    ("Sun, 6 Nov 1994 08:49:37 GMT", False),  # day needs two digits
    ("Sun, 06 Nov 1994 08:49:37 UTC", False),
    ("Mon, 30 Feb 2026 00:00:00 GMT", False),
])
def test_imf_fixdate_parsing_is_strict(text, ok):
    if ok:
        assert parse_imf_fixdate(text) == datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
    else:
        with pytest.raises(ValueError):
            parse_imf_fixdate(text)


def test_idle_connections_measure_memory_per_connection():
    counter = [0]

    def memory() -> TreeMemory:  # 4 KiB of PSS (8 KiB of RSS) per request answered so far
        return TreeMemory(20_000_000 + 8192 * counter[0], 10_000_000 + 4096 * counter[0], 3)

    with fake_server(Behaviour(), FakeClock(), counter) as port:
        m = measure_idle(port, 60, memory, timeout=5, hold=0)
    assert counter[0] == 120  # each idle connection made one request first and one after the idle time
    assert (m.connections, m.before.pss, m.with_open.pss) == (60, 10_000_000, 10_000_000 + 4096 * 60)
    assert m.kind == "pss" and m.per_connection == 4096 and m.memory_with == 10_000_000 + 4096 * 60
    assert type(m).from_dict(m.as_dict()) == m


def test_idle_memory_falls_back_to_rss_without_pss():
    counter = [0]
    with fake_server(Behaviour(), FakeClock(), counter) as port:
        m = measure_idle(port, 10, lambda: TreeMemory(1_000_000 + 1000 * counter[0], None, 1), timeout=5, hold=0)
    assert m.kind == "rss" and m.per_connection == 1000


def test_a_server_that_stops_answering_fails_the_idle_phase_saying_what_timed_out():
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)  # accepts (in the kernel) but never answers
    try:
        with pytest.raises(IdleError, match=r"first GET /plaintext got no complete response within 0.5 s"):
            measure_idle(lsock.getsockname()[1], 3, lambda: EMPTY, timeout=0.5)
    finally:
        lsock.close()


def test_idle_connections_dropped_by_the_server_fail_the_measurement():
    with fake_server(Behaviour(close_each=True), FakeClock()) as port:
        with pytest.raises(IdleError, match="closed 20 of 20 idle keep-alive connections"):
            measure_idle(port, 20, lambda: EMPTY, timeout=5, hold=0)


def test_idle_connections_to_nothing_fail_with_the_reason():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(IdleError, match=f"connecting to 127.0.0.1:{port} failed: "):
        measure_idle(port, 5, lambda: EMPTY, timeout=2)




@contextmanager
def answers_once(after_first: str, answering: int = 1_000_000) -> Iterator[int]:
    """A server that answers the first request of its first `answering` connections (later ones get none), then
    (`after_first`) "ignores" the next request while keeping the connection open, or "closes" it: its port."""
    served = itertools.count(1)  # next() is atomic: the serving threads share it

    def serve(conn: socket.socket) -> None:
        answer = next(served) <= answering
        with contextlib.suppress(OSError):
            conn.recv(65536)
            if answer:
                conn.sendall(_response(Behaviour(), FakeClock(), "/plaintext"))
            if after_first == "closes":
                conn.close()
            else:
                while conn.recv(65536):
                    pass

    with listening(serve) as port:
        yield port


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_idle_connections_that_no_longer_answer_count_as_dropped_and_none_is_left_open():
    """Open but silent after the hold is as bad as closed; the harness closes every connection it opened."""
    before = _open_descriptors()
    with answers_once("ignores") as port:
        with pytest.raises(IdleError, match="closed 12 of 12 idle keep-alive connections"):
            measure_idle(port, 12, lambda: EMPTY, timeout=0.3, hold=0)
    with answers_once("closes") as port:
        assert measure_idle(port, 30, lambda: EMPTY, timeout=2, hold=None).connections == 30  # no hold, no check
        with pytest.raises(IdleError, match="closed 30 of 30"):
            measure_idle(port, 30, lambda: EMPTY, timeout=2, hold=0)
    assert _open_descriptors() == before


def test_an_opening_that_fails_part_way_says_why_and_closes_what_it_opened():
    before = _open_descriptors()
    with answers_once("ignores", answering=300) as port:  # more than are under way at once: some wait their turn
        with pytest.raises(IdleError, match="first GET /plaintext got no complete response within 0.3 s"):
            measure_idle(port, 400, lambda: EMPTY, timeout=0.3)
    assert _open_descriptors() == before


def test_idle_connections_beyond_the_descriptors_left_fail_with_the_reason(monkeypatch):
    """No descriptor left for the next socket is the phase's failure with its reason, not an error of the harness."""
    monkeypatch.setattr(idle, "raise_fd_limit", lambda needed: None)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    before = _open_descriptors()
    resource.setrlimit(resource.RLIMIT_NOFILE, (before + 40, hard))
    try:
        with answers_once("ignores") as port:
            with pytest.raises(IdleError, match=r"connecting to 127\.0\.0\.1:\d+ failed: Too many open files"):
                measure_idle(port, 100, lambda: EMPTY, timeout=2)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert _open_descriptors() == before
