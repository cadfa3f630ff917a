"""oha, the open-loop generator: requests are scheduled at a fixed rate, whatever the server does.

`oha -q RATE --latency-correction` measures each request from the time it was scheduled, not
from when a connection was free to send it, so a stalled server's queueing shows in the
latencies (the coordinated-omission correction). Connections stay alive between requests.

oha writes a JSON summary (`--output-format json`: request counts by status, errors by message)
and, with `--db-url`, one sqlite row per completed request with its corrected duration; the
latency percentiles and the HdrHistogram are built from those rows, every request counted.
"""

from __future__ import annotations

import json
import math
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.kinds.server import histogram
from harness.kinds.server.loadgen import REQUEST_TIMEOUT, Latency, LoadgenError, LoadResult, SocketErrors
from harness.measure.process import child_env, run_child


def oha_argv(oha: str, url: str, *, rate: float | None, connections: int, duration: float,
             db: Path | None) -> list[str]:
    """Open loop at `rate` requests/s with latency correction; without a rate, oha's closed loop."""
    argv = [oha, "-z", f"{duration:g}s", "-c", str(connections), "-t", f"{REQUEST_TIMEOUT:g}s",
            "--wait-ongoing-requests-after-deadline", "--no-tui", "--output-format", "json"]
    if rate is not None:
        argv += ["-q", f"{rate:.3f}", "--latency-correction"]
    if db is not None:
        argv += ["--db-url", str(db)]
    return argv + [url]


def parse_summary(text: str) -> dict:
    """oha's JSON summary; LoadgenError when it is not there."""
    start = text.find("{")
    try:
        report = json.loads(text[start:]) if start >= 0 else None
    except json.JSONDecodeError as e:
        raise LoadgenError(f"oha's output is not JSON ({e}): {text[:200]!r}") from None
    if not isinstance(report, dict) or "summary" not in report or "statusCodeDistribution" not in report:
        raise LoadgenError(f"oha printed no JSON summary; its output: {text.strip()[:400]!r}")
    return report


def read_durations(db: Path) -> np.ndarray:
    """Every completed request's duration in seconds, from oha's sqlite database."""
    if not db.exists():
        return np.empty(0)
    conn = sqlite3.connect(db)
    try:
        count = conn.execute("SELECT COUNT(*) FROM oha").fetchone()[0]
        return np.fromiter((r[0] for r in conn.execute("SELECT duration FROM oha")), dtype=float, count=count)
    finally:
        conn.close()


def latency_of(durations: np.ndarray) -> Latency | None:
    """Percentiles of every request, ranked as HdrHistogram ranks them: the value at rank round(p% x n)."""
    n = len(durations)
    if not n:
        return None
    ordered = np.sort(durations)

    def at(p: float) -> float:
        return float(ordered[min(max(1, int(p / 100 * n + 0.5)), n) - 1])

    return Latency(at(50), at(90), at(99), at(99.9), float(ordered[-1]))


def _percentile_latency(report: dict) -> Latency | None:
    """The summary's own percentiles, for a run without per-request rows."""
    p = report.get("latencyPercentiles") or {}
    values = [p.get(k) for k in ("p50", "p90", "p99", "p99.9")] + [report["summary"].get("slowest")]
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        return None
    return Latency(*(float(v) for v in values))


def load_result(report: dict, durations: np.ndarray | None, argv: Sequence[str], cpu: float,
                wall: float) -> LoadResult:
    codes = {int(k): int(v) for k, v in report["statusCodeDistribution"].items()}
    errors = {str(k): int(v) for k, v in (report.get("errorDistribution") or {}).items()}
    if durations is not None and len(durations):
        latency = latency_of(durations)
        hist = histogram.described(histogram.build(
            zip(*np.unique(np.maximum(np.rint(durations * 1e6), 1).astype(np.int64), return_counts=True))))
    else:
        latency, hist = _percentile_latency(report), None
    return LoadResult(
        tool="oha", argv=tuple(argv), requests=sum(codes.values()), duration=float(report["summary"]["total"]),
        errors=SocketErrors(other=errors), non_2xx=sum(n for code, n in codes.items() if not 200 <= code < 300),
        latency=latency, histogram=hist, cpu=cpu, wall=wall,
    )


def run_oha(oha: str, port: int, *, rate: float | None, connections: int, duration: float, cpus: Sequence[int],
            timeout: float, per_request: bool = True, host: str = "127.0.0.1") -> LoadResult:
    """One run against host:port/plaintext (the server's own host by default) pinned to `cpus`; per-request rows
    kept when asked."""
    with tempfile.TemporaryDirectory(prefix="cmbench-oha-") as tmp:
        db = Path(tmp) / "requests.sqlite" if per_request else None
        argv = oha_argv(oha, f"http://{host}:{port}/plaintext", rate=rate, connections=connections,
                        duration=duration, db=db)
        env = child_env({"NO_COLOR": "1"})
        r = run_child(argv, cwd=Path(tmp), env=env, cpus=cpus, timeout=duration + timeout, measure=False)
        if r.timed_out:
            raise LoadgenError(f"oha did not finish within {duration + timeout:g} s; killed")
        if r.returncode != 0:
            raise LoadgenError(f"oha exited with status {r.returncode}: {r.stderr_tail() or r.stdout[-300:]}")
        report = parse_summary(r.stdout)
        durations = read_durations(db) if db else None
    return load_result(report, durations, argv, r.rusage.user + r.rusage.system, r.wall)
