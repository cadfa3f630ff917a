"""The idle phase holds its connections past common keep-alive timeouts: a server that drops idle
connections after 2 s (as node:http does after its 5 s default) fails it, with the reason."""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from harness.kinds.server.check import check_idle, open_idle
from harness.kinds.server.idle import IdleError, measure_idle
from harness.measure.memory import EMPTY

pytestmark = pytest.mark.integration

RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nServer: t\r\n"
            b"Date: Sun, 22 Nov 2026 10:00:00 GMT\r\n\r\nHello, World!")


def handler(idle_timeout: float | None):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.settimeout(idle_timeout)
            pending = b""
            try:
                while True:
                    data = self.request.recv(4096)
                    if not data:
                        return
                    pending += data
                    while b"\r\n\r\n" in pending:
                        _, pending = pending.split(b"\r\n\r\n", 1)
                        self.request.sendall(RESPONSE)
            except TimeoutError:
                return  # idle too long: close, as a keep-alive timeout does
    return Handler


@contextmanager
def server(idle_timeout: float | None) -> Iterator[int]:
    socketserver.ThreadingTCPServer.daemon_threads = True
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler(idle_timeout)) as srv:
        thread = threading.Thread(target=srv.serve_forever, daemon=True)
        thread.start()
        try:
            yield srv.server_address[1]
        finally:
            srv.shutdown()


def test_a_server_closing_idle_connections_after_2_s_fails_a_3_s_hold():
    with server(idle_timeout=2.0) as port:
        with pytest.raises(IdleError) as e:
            measure_idle(port, 10, lambda: EMPTY, timeout=5, hold=3.0)
    assert str(e.value).startswith("the server closed 10 of 10 idle keep-alive connections within 3.")
    assert "Node's 5 s default" in str(e.value)


def test_a_server_keeping_idle_connections_passes_and_answers_again():
    with server(idle_timeout=None) as port:
        m = measure_idle(port, 10, lambda: EMPTY, timeout=5, hold=3.0)
    assert m.connections == 10


def test_a_load_phases_held_connection_catches_a_keep_alive_timeout():
    """What a closed-loop phase holds through its loads (harness/kinds/server/cases.py `_held_idle`)."""
    with server(idle_timeout=1.0) as port:
        problems: list[str] = []
        conn, since = open_idle(port, problems)
        time.sleep(1.5)
        check_idle(conn, since, 0.0, problems, held="held through the phase's loads")
    assert len(problems) == 1 and "(held through the phase's loads)" in problems[0]
    with server(idle_timeout=None) as port:
        problems = []
        conn, since = open_idle(port, problems)
        time.sleep(1.5)
        check_idle(conn, since, 0.0, problems, held="held through the phase's loads")
    assert problems == []
