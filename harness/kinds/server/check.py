"""Verification of an http_server before any load, as TechEmpower verifies its plaintext test.

Every rule is checked on its own connection where it can be, so one broken rule does not hide
the others; each problem is one precise message. The rules (workloads/http_server/README.md):

- GET /plaintext answers HTTP/1.1 200 with the body exactly `Hello, World!`;
- Content-Type is `text/plain`; like TechEmpower's verifier, `text/plain; charset=utf-8` is
  accepted too (its pattern `^text/plain(; ?charset=(UTF|utf)-8)?$`), anything else fails;
- Content-Length is exactly `13` (no Transfer-Encoding);
- a non-empty Server header;
- a Date header that is an IMF-fixdate (RFC 9110), close to the harness's clock, and later on
  a request made more than a second after the first;
- several requests, and two sent back to back before reading, are answered on one connection;
- a pipelined burst (TechEmpower's plaintext rules): 16 requests written with one send are
  answered by 16 correct responses, in order; two of them ask for an unknown path, so a server
  that answers out of order (or drops or repeats a request) shows 404 and 200 in the wrong places;
- an unknown path answers 404 with Content-Length;
- `Connection: close` from the client closes the connection after the response;
- a keep-alive connection left idle (opened and answered first, then silent while the other
  checks run) for the verify profile's `idle_hold`, at least `IDLE_HOLD` seconds (longer than
  Node's default keep-alive timeout), is still open and answers one more request (a smoke run
  holds it for its profile's `verify_idle_hold`, 1 s, and leaves this rule to verify, quick and full). The hold is
  real time, whatever the checker's clock: it is the server's timers that are checked.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from harness.kinds.server.client import Connection, ProtocolError, Response, request_bytes

PATH = "/plaintext"
UNKNOWN_PATH = "/cmbench-no-such-path"
BODY = b"Hello, World!"
CONTENT_TYPE = re.compile(r"text/plain(; ?charset=(UTF|utf)-8)?")
KEEPALIVE_REQUESTS = 5
PIPELINE_DEPTH = 16  # TechEmpower's plaintext test pipelines 16 requests per connection
PIPELINE_NOT_FOUND = (5, 11)  # 0-based positions in the burst that ask for the unknown path
DATE_WAIT = 1.1  # seconds between the two requests whose Date headers must differ
DATE_SKEW = 5.0  # seconds a Date may differ from the harness's clock
CLOSE_WAIT = 2.0  # seconds the server has to close after `Connection: close`
READ_TIMEOUT = 5.0  # seconds to wait for any response
# Seconds one keep-alive connection stays idle at least: Node 20's http server, keepAliveTimeout 5 s by
# default, closes an idle connection after 6.0 s (measured), so a 6 s hold races with it.
IDLE_HOLD = 7.0
IDLE = "idle keep-alive connection"

IMF_FIXDATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"(\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT"
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Clock:
    """Where the checker reads the time and waits (a fake one in tests)."""

    now: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep


def parse_imf_fixdate(text: str) -> datetime:
    """Parse `Sun, 06 Nov 1994 08:49:37 GMT`; raise ValueError saying what is wrong."""
    m = IMF_FIXDATE.fullmatch(text)
    if not m:
        raise ValueError("not an IMF-fixdate like 'Sun, 06 Nov 1994 08:49:37 GMT'")
    wday, day, month, year, hh, mm, ss = m.groups()
    try:
        when = datetime(int(year), MONTHS.index(month) + 1, int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    except ValueError as e:
        raise ValueError(f"not a real date and time ({e})") from None
    if WEEKDAYS[when.weekday()] != wday:
        raise ValueError(f"weekday {wday} does not match the date (a {WEEKDAYS[when.weekday()]})")
    return when


def plaintext_problems(r: Response, where: str) -> list[str]:
    """What is wrong with one response to GET /plaintext."""
    out = []
    if r.version != "1.1":
        out.append(f"{where}: answered HTTP/{r.version}, expected HTTP/1.1")
    if r.status != 200:
        out.append(f"{where}: status {r.status}, expected 200")
    if r.body != BODY:
        out.append(f"{where}: body {r.body[:60]!r}, expected exactly {BODY!r}")
    types = r.header_values("Content-Type")
    if len(types) != 1:
        out.append(f"{where}: {len(types)} Content-Type headers, expected one: text/plain")
    elif not CONTENT_TYPE.fullmatch(types[0]):
        out.append(f"{where}: Content-Type {types[0]!r}, expected 'text/plain' (or 'text/plain; charset=utf-8')")
    length = r.header("Content-Length")
    if length != "13":
        out.append(f"{where}: Content-Length {length!r}, expected '13'")
    server = r.header("Server")
    if not server:
        out.append(f"{where}: no Server header" if server is None else f"{where}: empty Server header")
    return out


def _date(r: Response, where: str, clock: Clock, problems: list[str]) -> datetime | None:
    values = r.header_values("Date")
    if len(values) != 1:
        problems.append(f"{where}: {len(values)} Date headers, expected one")
        return None
    try:
        when = parse_imf_fixdate(values[0])
    except ValueError as e:
        problems.append(f"{where}: Date {values[0]!r} is {e}")
        return None
    skew = when.timestamp() - clock.now()
    if abs(skew) > DATE_SKEW:
        problems.append(f"{where}: Date {values[0]!r} is {skew:+.0f} s off the current time "
                        f"(at most {DATE_SKEW:g} s allowed)")
    return when


def _check_keepalive_and_date(port: int, clock: Clock, problems: list[str]) -> None:
    with Connection(port, READ_TIMEOUT) as conn:
        first = conn.get(PATH)
        problems += plaintext_problems(first, f"GET {PATH}")
        date1 = _date(first, f"GET {PATH}", clock, problems)
        if (first.header("Connection") or "").lower() == "close":
            problems.append(f"GET {PATH}: the server sent 'Connection: close'; connections must be kept alive")
            return
        clock.sleep(DATE_WAIT)
        where = f"GET {PATH} after {DATE_WAIT:g} s on the same connection"
        second = conn.get(PATH)
        problems += plaintext_problems(second, where)
        date2 = _date(second, where, clock, problems)
        if date1 and date2 and date2 <= date1:
            problems.append(f"Date did not advance: {first.header('Date')!r} then {second.header('Date')!r} "
                            f"{DATE_WAIT:g} s later (it must be refreshed at least once a second)")
        for k in range(KEEPALIVE_REQUESTS):
            where = f"keep-alive request {k + 3} on one connection"
            problems += plaintext_problems(conn.get(PATH), where)


def _check_back_to_back(port: int, problems: list[str]) -> None:
    with Connection(port, READ_TIMEOUT) as conn:
        conn.send(request_bytes(PATH, port) * 2)
        for k in (1, 2):
            problems += plaintext_problems(conn.read_response(),
                                           f"request {k} of 2 sent back to back before reading")


def pipelined_burst(port: int, depth: int = PIPELINE_DEPTH) -> tuple[bytes, list[int]]:
    """The bytes of a pipelined burst and the status each response must have, in order."""
    paths = [UNKNOWN_PATH if k in PIPELINE_NOT_FOUND else PATH for k in range(depth)]
    return b"".join(request_bytes(p, port) for p in paths), [404 if p == UNKNOWN_PATH else 200 for p in paths]


def _check_pipelined(port: int, problems: list[str]) -> None:
    burst, statuses = pipelined_burst(port)
    depth = len(statuses)
    expected = " ".join(map(str, statuses))
    received: list[int] = []
    with Connection(port, READ_TIMEOUT) as conn:
        conn.send(burst)
        for k, want in enumerate(statuses):
            burst = f"pipelined burst of {depth} requests in one send"
            where = f"{burst}, response {k + 1}"
            try:
                r = conn.read_response()
            except ProtocolError as e:
                got = " ".join(map(str, received)) or "nothing"
                problems.append(f"{burst}: {e}; expected {depth} responses in order (statuses {expected}), "
                                f"received {len(received)} ({got}): the server does not answer pipelined "
                                "requests")
                return
            received.append(r.status)
            if r.status != want:
                problems.append(f"{where}: status {r.status}, expected {want} (request {k + 1} asked for "
                                f"{UNKNOWN_PATH if want == 404 else PATH}); expected statuses in order {expected}, "
                                f"received so far {' '.join(map(str, received))}: responses out of order")
                return
            if want == 200 and r.body != BODY:  # the other rules are checked once, on their own connection
                problems.append(f"{where}: body {r.body[:60]!r}, expected exactly {BODY!r}")
                return


def _check_not_found(port: int, problems: list[str]) -> None:
    with Connection(port, READ_TIMEOUT) as conn:
        r = conn.get(UNKNOWN_PATH)
        if r.status != 404:
            problems.append(f"GET {UNKNOWN_PATH}: status {r.status}, expected 404")


def _check_close(port: int, problems: list[str]) -> None:
    with Connection(port, READ_TIMEOUT) as conn:
        r = conn.get(PATH, close=True)
        problems += plaintext_problems(r, f"GET {PATH} with 'Connection: close'")
        if not conn.closed_by_peer(CLOSE_WAIT):
            problems.append(f"GET {PATH} with 'Connection: close': the server did not close the connection "
                            f"within {CLOSE_WAIT:g} s after the response")


CHECKS: dict[str, Callable[[int, Clock, list[str]], None]] = {
    "plaintext, Date and keep-alive": _check_keepalive_and_date,
    "two requests back to back": lambda port, clock, problems: _check_back_to_back(port, problems),
    "pipelined burst": lambda port, clock, problems: _check_pipelined(port, problems),
    "unknown path": lambda port, clock, problems: _check_not_found(port, problems),
    "Connection: close": lambda port, clock, problems: _check_close(port, problems),
}


def open_idle(port: int, problems: list[str]) -> tuple[Connection, float] | None:
    """A keep-alive connection that has answered one GET, and when it went idle; None (and a problem) if not."""
    try:
        conn = Connection(port, READ_TIMEOUT)
    except ProtocolError as e:
        problems.append(f"{IDLE}: {e}")
        return None
    try:
        conn.get(PATH)
    except ProtocolError as e:
        conn.close()
        problems.append(f"{IDLE}: {e}")
        return None
    return conn, time.monotonic()


def check_idle(conn: Connection, since: float, hold: float, problems: list[str], held: str = "verify holds it") -> None:
    """After `hold` seconds idle (counted from `since`), the connection is open and answers one more GET.

    `held` says in a problem how long it was to be held: `verify holds it` `hold` s, or what held it
    (a load phase holds one through its loads: `hold` 0, checked when they end)."""
    with conn:
        left = since + hold - time.monotonic()
        try:
            closed = conn.closed_by_peer(max(left, 0.05))  # returns at once when the server closes it
        except OSError:
            closed = True
        idled = time.monotonic() - since
        if closed:
            problems.append(f"{IDLE}: the server closed it within {idled:.1f} s of idling ({held}"
                            f"{f' {hold:g} s' if hold else ''}); connections must stay open until the client closes "
                            "them (a keep-alive timeout such as Node's 5 s default drops them)")
            return
        if idled < hold - 0.05:  # recv returned a byte before the hold was over
            problems.append(f"{IDLE}: the server sent bytes on it {idled:.1f} s into idling, with no request "
                            "outstanding")
            return
        conn.sock.settimeout(READ_TIMEOUT)
        try:
            r = conn.get(PATH)
        except ProtocolError as e:
            problems.append(f"{IDLE}: GET {PATH} after {idled:.1f} s of idling: {e}")
            return
        if r.status != 200:
            problems.append(f"{IDLE}: GET {PATH} after {idled:.1f} s of idling: status {r.status}, expected 200")


def verify_http(port: int, clock: Clock | None = None, idle_hold: float = 0.0,
                least: float | None = None) -> list[str]:
    """Every problem found with the server on 127.0.0.1:port; empty when it follows the contract.

    One keep-alive connection stays idle while the other checks run, for `idle_hold` seconds
    (the verify profile's) but at least `least` (IDLE_HOLD unless a smoke run asks for less); then
    it must still answer.
    """
    clock = clock or Clock()
    problems: list[str] = []
    idle_problems: list[str] = []
    idle = open_idle(port, idle_problems)
    for name, check in CHECKS.items():
        try:
            check(port, clock, problems)
        except ProtocolError as e:
            problems.append(f"{name}: {e}")
    if idle is not None:
        check_idle(*idle, max(IDLE_HOLD if least is None else least, idle_hold), idle_problems)
    return problems + idle_problems
