"""http_server: a plaintext HTTP/1.1 server on asyncio.Protocol with a small request parser."""

import asyncio
import signal
import socket
import sys
import time
from email.utils import formatdate

SERVER = b"cmbench-python"
HELLO = b"Hello, World!"
CLOSE = b"Connection: close\r\n"
KEEP_ALIVE = b"Connection: keep-alive\r\n"
ALLOW_GET = b"Allow: GET\r\n"
MAX_HEAD = 8192  # bytes of request head buffered before the request is refused


def _response(status: bytes, body: bytes, date: bytes, extra: bytes = b"") -> bytes:
    """A full response; `extra` holds additional header lines, each ending in CRLF."""
    return b"".join(
        (
            b"HTTP/1.1 %s\r\n" % status,
            b"Content-Type: text/plain\r\n",
            b"Content-Length: %d\r\n" % len(body),
            b"Server: %s\r\n" % SERVER,
            b"Date: %s\r\n" % date,
            extra,
            b"\r\n",
            body,
        )
    )


class Responses:
    """The Date header and the hot response, rebuilt at every turn of the wall-clock second."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._timer: asyncio.TimerHandle | None = None
        self.date = b""
        self.plaintext = b""
        self.refresh()

    def refresh(self) -> None:
        now = time.time()
        self.date = formatdate(now, usegmt=True).encode("ascii")
        self.plaintext = _response(b"200 OK", HELLO, self.date)
        self._timer = self._loop.call_later(1.0 - now % 1.0, self.refresh)

    def build(self, status: bytes, body: bytes, extra: bytes = b"") -> bytes:
        return _response(status, body, self.date, extra)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class HttpProtocol(asyncio.Protocol):
    """One connection: splits the byte stream at blank lines and answers each request."""

    __slots__ = ("_buffer", "_connections", "_responses", "_transport")

    def __init__(self, responses: Responses, connections: set) -> None:
        self._responses = responses
        self._connections = connections
        self._transport: asyncio.Transport | None = None
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._connections.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self._transport)

    def pause_writing(self) -> None:
        self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        buf = self._buffer + data if self._buffer else data
        out = []
        pos = 0
        while (end := buf.find(b"\r\n\r\n", pos)) >= 0:
            response, keep_alive = self._answer(buf, pos, end)
            out.append(response)
            pos = end + 4
            if not keep_alive:
                self._transport.write(b"".join(out))
                self._transport.close()
                return
        if out:
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))
        self._buffer = buf[pos:]
        if len(self._buffer) > MAX_HEAD:
            too_large = self._responses.build(b"431 Request Header Fields Too Large", b"", CLOSE)
            self._transport.write(too_large)
            self._transport.close()

    def _answer(self, buf: bytes, start: int, end: int) -> tuple[bytes, bool]:
        """The response to the request head buf[start:end] and whether to keep the connection."""
        line_end = buf.find(b"\r\n", start, end)
        if line_end < 0:
            line_end = end
        parts = buf[start:line_end].split(b" ")
        if len(parts) != 3 or parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
            return self._responses.build(b"400 Bad Request", b"", CLOSE), False
        method, target, version = parts

        keep_alive = version == b"HTTP/1.1"
        if line_end < end:
            headers = buf[line_end:end].lower()
            i = headers.find(b"\r\nconnection:")
            if i >= 0:
                j = headers.find(b"\r\n", i + 2)
                value = headers[i + 13 : j if j >= 0 else len(headers)]
                if b"close" in value:
                    keep_alive = False
                elif b"keep-alive" in value:
                    keep_alive = True

        if not keep_alive:
            extra = CLOSE
        elif version == b"HTTP/1.0":
            extra = KEEP_ALIVE
        else:
            extra = b""
        if target != b"/plaintext" and target.partition(b"?")[0] != b"/plaintext":
            return self._responses.build(b"404 Not Found", b"Not Found", extra), keep_alive
        if method != b"GET":
            return self._responses.build(b"405 Method Not Allowed", b"", ALLOW_GET + extra), keep_alive
        if not extra:
            return self._responses.plaintext, True
        return self._responses.build(b"200 OK", HELLO, extra), keep_alive


def _listen(port: int) -> socket.socket:
    """The listening socket, made here so neither loop needs a resolver thread.

    proto is IPPROTO_TCP (socket.create_server leaves it 0): accepted sockets inherit it, and
    asyncio's transport sets TCP_NODELAY only on sockets whose proto says TCP.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    return listener


async def serve(port: int) -> None:
    """Listen on 127.0.0.1:port, print the ready line, serve until SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    responses = Responses(loop)
    connections: set = set()
    listener = _listen(port)
    server = await loop.create_server(lambda: HttpProtocol(responses, connections), sock=listener)
    bound = server.sockets[0].getsockname()[1]
    sys.stdout.write(f'{{"ready": true, "port": {bound}}}\n')
    sys.stdout.flush()
    await stop.wait()
    server.close()
    for transport in list(connections):
        transport.abort()
    responses.stop()
