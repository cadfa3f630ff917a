"""wrk, the closed-loop generator: each connection sends its next request when the last answer arrives.

wrk runs with a Lua script (`wrk -s`) whose `done` hook prints one line, `CMBENCH-WRK {json}`,
with the request count, the measured duration, the socket errors, wrk's latency percentiles
(1 us resolution) and mean and, when cheap enough to extract, its whole latency histogram. Only
that line is parsed, never wrk's human-readable text.

Pipelining (TechEmpower's plaintext rules): the script's `init` hook formats the request
`depth` times into one buffer and its `request` hook returns that buffer, so each connection
writes `depth` requests at once; wrk counts the responses in it and writes the next batch once
all have arrived. wrk then records one latency per batch (first write to last response).

A measured run is watched (settle.py): wrk is started for the longest allowed duration, its
progress is read once a second from /proc/PID/io, and it is stopped with SIGINT once the rate
has settled; its `done` hook still runs and reports the time it actually ran.

wrk counts responses with status >= 400 as status errors; those are the phase's non-2xx count
(a 1xx or 3xx answer to /plaintext is caught by verification, which requires 200).
Its latency figures include wrk's own interval correction (stats_correct in wrk 4), and in a
closed loop they describe queueing at saturation: the open-loop phases give the latencies to
compare.
"""

from __future__ import annotations

import json
import signal
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from harness.kinds.server import histogram
from harness.kinds.server.loadgen import REQUEST_TIMEOUT, Latency, LoadgenError, LoadResult, SocketErrors
from harness.kinds.server.settle import ENDED, Clock, Settled, Settling, watch
from harness.measure.process import RunningChild, child_env, run_child

MARKER = "CMBENCH-WRK "
# wrk's stats object finds the k-th distinct latency by scanning from the minimum, so reading
# the whole histogram costs (distinct values) x (max - min) steps; past this budget only the
# percentiles are kept (a long tail at high concurrency can make it seconds of wrk's CPU).
HISTOGRAM_BUDGET = 200_000_000

REPORT_LUA = """\
done = function(summary, latency, requests)
  local e = summary.errors
  local out = {}
  out[#out + 1] = string.format('{"requests": %d, "duration_us": %d, "bytes": %d, ',
    summary.requests, summary.duration, summary.bytes)
  out[#out + 1] = string.format('"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ',
    e.connect, e.read, e.write, e.status, e.timeout)
  local p = {}
  for _, q in ipairs({50, 90, 99, 99.9}) do
    p[#p + 1] = string.format('"%s": %d', q, latency:percentile(q))
  end
  out[#out + 1] = string.format('"latency_us": {"min": %d, "max": %d, "mean": %.3f, %s}', latency.min,
    latency.max, latency.mean, table.concat(p, ', '))
  local n = #latency
  if summary.requests > 0 and n * (latency.max - latency.min + 1) <= BUDGET then
    local parts = {}
    for i = 1, n do
      local v, c = latency(i)
      parts[#parts + 1] = string.format('[%d, %d]', v, c)
    end
    out[#out + 1] = ', "histogram_us": [' .. table.concat(parts, ', ') .. ']'
  end
  io.write('\\nCMBENCH-WRK ' .. table.concat(out) .. '}\\n')
end
""".replace("BUDGET", str(HISTOGRAM_BUDGET))

PIPELINE_LUA = """\
init = function(args)
  local batch = {}
  for i = 1, DEPTH do
    batch[i] = wrk.format()
  end
  pipelined = table.concat(batch)
end

request = function()
  return pipelined
end
"""


def script(depth: int = 1) -> str:
    """The Lua script: the report, and with `depth` > 1 the pipelined request."""
    if depth < 1:
        raise ValueError(f"pipeline depth {depth} < 1")
    return (PIPELINE_LUA.replace("DEPTH", str(depth)) if depth > 1 else "") + REPORT_LUA


def wrk_argv(wrk: str, url: str, *, connections: int, duration: float, threads: int, script: Path) -> list[str]:
    return [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
            f"--timeout={REQUEST_TIMEOUT:g}s", "-s", str(script), url]


def parse_wrk(stdout: str) -> dict:
    """The report line's JSON object; LoadgenError when wrk printed none."""
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            try:
                report = json.loads(line[len(MARKER):])
            except json.JSONDecodeError as e:
                raise LoadgenError(f"wrk's report line is not JSON ({e}): {line[:200]!r}") from None
            if not isinstance(report, dict) or not {"requests", "duration_us", "errors", "latency_us"} <= report.keys():
                raise LoadgenError(f"wrk's report line lacks fields: {line[:200]!r}")
            return report
    tail = " | ".join(stdout.strip().splitlines()[-5:])
    raise LoadgenError(f"wrk printed no {MARKER.strip()} line; its output: {tail[:400]!r}")


def load_result(report: dict, argv: Sequence[str], cpu: float, wall: float, *, pipeline: int = 1,
                settled: Settled | None = None) -> LoadResult:
    """A LoadResult from a parsed report and the wrk process's rusage."""
    e = report["errors"]
    lat = report["latency_us"]
    requests = int(report["requests"])
    latency = None
    if requests > 0:
        mean = lat.get("mean")
        latency = Latency(p50=lat["50"] / 1e6, p90=lat["90"] / 1e6, p99=lat["99"] / 1e6, p999=lat["99.9"] / 1e6,
                          max=lat["max"] / 1e6, mean=None if mean is None else float(mean) / 1e6)
    hist = report.get("histogram_us")
    return LoadResult(
        tool="wrk", argv=tuple(argv), requests=requests, duration=report["duration_us"] / 1e6,
        errors=SocketErrors(int(e["connect"]), int(e["read"]), int(e["write"]), int(e["timeout"])),
        non_2xx=int(e["status"]), latency=latency,
        histogram=histogram.described(histogram.build(hist)) if hist else None, cpu=cpu, wall=wall,
        pipeline=pipeline, bytes=int(report.get("bytes", 0)), settled=settled,
    )


def read_rchar(pid: int) -> int | None:
    """Bytes the process has read so far (/proc/PID/io `rchar`); None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _watched(argv: Sequence[str], tmp: Path, cpus: Sequence[int], settling: Settling, timeout: float,
             clock: Clock | None) -> tuple[float, float, str, Settled]:
    """Run wrk, stopped with SIGINT once settled or at the maximum: (CPU seconds, wall seconds, stdout, how)."""
    began = time.perf_counter()
    child = RunningChild(argv, cwd=tmp, env=child_env(), cpus=cpus)
    try:
        def rchar() -> int | None:
            pid = child.program_pid()
            return None if pid is None else read_rchar(pid)

        how = watch(rchar, child.alive, settling, clock)
        if how.reason != ENDED:
            child.send(signal.SIGINT)  # wrk prints its report on SIGINT
    finally:
        r = child.finish(timeout)
    wall = time.perf_counter() - began
    if r.timed_out:
        raise LoadgenError(f"wrk did not finish within {timeout:g} s of its stop; killed")
    if r.returncode != 0:
        raise LoadgenError(f"wrk exited with status {r.returncode}: {r.stderr.strip()[-300:]}")
    return r.rusage.user + r.rusage.system, wall, r.stdout, how


def run_wrk(wrk: str, port: int, *, connections: int, duration: float, cpus: Sequence[int],
            timeout: float, pipeline: int = 1, settling: Settling | None = None,
            clock: Clock | None = None, host: str = "127.0.0.1") -> LoadResult:
    """One closed-loop run against host:port/plaintext (the server's own host by default), pinned to `cpus`, one
    thread per CPU.

    With `settling` the run is watched: its one-second rates are recorded and, with a maximum
    above its minimum, it ends once they have settled (settle.py). Without, it runs `duration` s.
    """
    threads = max(1, min(len(cpus), connections))
    with tempfile.TemporaryDirectory(prefix="cmbench-wrk-") as tmp:
        path = Path(tmp) / "report.lua"
        path.write_text(script(pipeline), encoding="utf-8")
        url = f"http://{host}:{port}/plaintext"
        if settling is not None:
            argv = wrk_argv(wrk, url, connections=connections, duration=settling.max_duration + 1, threads=threads,
                            script=path)
            cpu, wall, stdout, how = _watched(argv, Path(tmp), cpus, settling, timeout, clock)
            report = parse_wrk(stdout)
            per_byte = int(report["requests"]) / int(report["bytes"]) if report.get("bytes") else 0.0
            return load_result(report, argv, cpu, wall, pipeline=pipeline, settled=how.scaled(per_byte))
        argv = wrk_argv(wrk, url, connections=connections, duration=duration, threads=threads, script=path)
        r = run_child(argv, cwd=Path(tmp), env=child_env(), cpus=cpus, timeout=duration + timeout, measure=False)
    if r.timed_out:
        raise LoadgenError(f"wrk did not finish within {duration + timeout:g} s; killed")
    if r.returncode != 0:
        raise LoadgenError(f"wrk exited with status {r.returncode}: {r.stderr_tail() or r.stdout[-300:]}")
    return load_result(parse_wrk(r.stdout), argv, r.rusage.user + r.rusage.system, r.wall, pipeline=pipeline)
