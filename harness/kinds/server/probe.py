"""The checks around a closed-loop load: the single-connection probe before it, and whether it broke.

Kept apart from cases.py, which runs the phases and calls these (by name, so that tests can
replace the probe)."""

from __future__ import annotations

import time

from harness.kinds.server.client import Connection, ProtocolError
from harness.kinds.server.loadgen import LoadResult
from harness.kinds.server.settle import longest_stall
from harness.measure.outcome import CaseFailure

PROBE_SECONDS = 0.3  # the single-connection probe before a closed-loop load
PROBE_FACTOR = 10.0  # a closed-loop rate below probe rate / this fails the phase
STALL_SECONDS = 2  # consecutive one-second intervals with no answer that fail a closed-loop phase


def probe_rate(port: int, seconds: float = PROBE_SECONDS) -> tuple[int, float]:
    """(requests, requests per second) on one keep-alive connection, one request at a time, for `seconds`.

    CaseFailure when the server stops answering: a request it leaves hanging shows here, before
    any load, as the request number that got no response.
    """
    done = 0
    began = time.perf_counter()
    try:
        with Connection(port) as conn:
            while (elapsed := time.perf_counter() - began) < seconds or done == 0:
                r = conn.get("/plaintext")
                if r.status != 200:
                    raise CaseFailure("verify_failed", f"the single-connection probe before the load: request "
                                                       f"{done + 1} answered {r.status}, expected 200")
                done += 1
    except ProtocolError as e:
        raise CaseFailure("verify_failed", f"the single-connection probe before the load: request {done + 1} on "
                                           f"one keep-alive connection: {e}") from None
    return done, done / max(elapsed, 1e-6)


def broken_load(load: LoadResult, connections: int, probe_qps: float) -> str | None:
    """Why a measured closed-loop load counts as broken (requests left unanswered, a collapsed rate), or None.

    A closed-loop connection sends its next request only once the last is answered, so a server
    that leaves requests hanging shows no socket error until wrk's 8 s timeout, longer than many
    phases: it shows instead as a load whose one-second rates fall to zero while every
    connection waits, or as a rate far below what one connection got just before the load.
    """
    if load.requests == 0:
        return (f"the measured load completed no request in {load.duration:.1f} s on {connections} connections: "
                "the server left every request unanswered")
    rates = load.settled.rates if load.settled else ()
    stall = longest_stall(rates)
    if stall >= STALL_SECONDS:
        return (f"requests left unanswered: nothing was answered for {stall} consecutive seconds of the measured "
                f"load while {connections} connections waited (one-second rates "
                f"{', '.join(f'{r:,.0f}' for r in rates)} req/s)")
    if probe_qps > 0 and load.rate < probe_qps / PROBE_FACTOR:
        return (f"the measured rate collapsed: {load.rate:,.1f} req/s on {connections} connections, below "
                f"1/{PROBE_FACTOR:g} of the {probe_qps:,.0f} req/s one connection got, one request at a time, just "
                "before the load (requests left unanswered hold their connections)")
    return None
