"""A minimal HTTP/1.1 client over a raw socket, strict enough to check a server's bytes.

`http.client` would hide what the checks look at (header spelling, duplicates, what the server
sends after a response), so responses are parsed here: status line, headers, and a body framed
by Content-Length.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

MAX_HEAD = 64 * 1024
STATUS_LINE = re.compile(r"HTTP/(\d\.\d) (\d{3})(?: (.*))?")


class ProtocolError(Exception):
    """The server's bytes are not a well-formed HTTP/1.1 response, or it did not answer."""


@dataclass(frozen=True)
class Response:
    version: str  # "1.1"
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]  # in the order sent, names as sent
    body: bytes

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None


def request_bytes(path: str, port: int, *, close: bool = False) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "User-Agent: cmbench-check"]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


class Connection:
    """One keep-alive connection to 127.0.0.1:port."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.port = port
        try:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except OSError as e:
            raise ProtocolError(f"cannot connect to 127.0.0.1:{port}: {e.strerror or e}") from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.responses = 0  # responses read so far on this connection

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise ProtocolError(f"sending the request failed: {e.strerror or e}") from None

    def get(self, path: str, *, close: bool = False) -> Response:
        self.send(request_bytes(path, self.port, close=close))
        return self.read_response()

    def _fill(self, what: str) -> None:
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise ProtocolError(f"no {what} within {self.sock.gettimeout():g} s") from None
        except OSError as e:
            raise ProtocolError(f"reading the {what} failed: {e.strerror or e}") from None
        if not chunk:
            raise ProtocolError(f"the server closed the connection before sending the {what}")
        self.buffer += chunk

    def read_response(self) -> Response:
        """The next response; ProtocolError naming which response of the connection went wrong."""
        try:
            response = self._read_response()
        except ProtocolError as e:
            raise ProtocolError(f"response {self.responses + 1} on one connection: {e}") from None
        self.responses += 1
        return response

    def _read_response(self) -> Response:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD:
                raise ProtocolError(f"no end of headers (blank line) within {MAX_HEAD} bytes")
            self._fill("response" if not self.buffer else "rest of the response headers")
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        m = STATUS_LINE.fullmatch(lines[0])
        if not m:
            raise ProtocolError(f"malformed status line {lines[0][:80]!r} (expected 'HTTP/1.1 200 OK')")
        headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t"):
                raise ProtocolError(f"obsolete header line folding: {line[:80]!r}")
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise ProtocolError(f"malformed header line {line[:80]!r} (expected 'Name: value')")
            headers.append((name, value.strip(" \t")))
        response = Response(m.group(1), int(m.group(2)), m.group(3) or "", tuple(headers), b"")
        if response.header("Transfer-Encoding") is not None:
            raise ProtocolError(f"status {response.status} response uses Transfer-Encoding "
                                f"{response.header('Transfer-Encoding')!r}; the contract requires Content-Length")
        lengths = response.header_values("Content-Length")
        if len(lengths) != 1:
            raise ProtocolError(f"status {response.status} response has {len(lengths)} Content-Length headers, "
                                "expected exactly one")
        if not lengths[0].isdigit():
            raise ProtocolError(f"Content-Length {lengths[0]!r} is not a whole number")
        size = int(lengths[0])
        while len(self.buffer) < size:
            self._fill(f"body ({size} bytes per Content-Length)")
        body, self.buffer = self.buffer[:size], self.buffer[size:]
        return Response(response.version, response.status, response.reason, response.headers, body)

    def closed_by_peer(self, wait: float) -> bool:
        """True when the server closes the connection within `wait` seconds and sends nothing more."""
        if self.buffer:
            return False
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
