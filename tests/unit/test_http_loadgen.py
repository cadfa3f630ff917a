"""Parsing wrk's Lua report and oha's JSON and sqlite output; histograms; rows of a server phase."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from harness.kinds.server import histogram
from harness.kinds.server.cases import Phase, phase_of, phase_params, phases_for, split_cpus
from harness.kinds.server.detail import PhaseDetail
from harness.kinds.server.idle import IdleMeasurement
from harness.kinds.server.loadgen import Latency, LoadgenError, LoadResult, SocketErrors
from harness.kinds.server.oha import load_result as oha_result
from harness.kinds.server.oha import oha_argv, parse_summary, read_durations
from harness.kinds.server.rows import server_rows
from harness.kinds.server.wrk import REPORT_LUA, load_result, parse_wrk, wrk_argv
from harness.manifests.model import ServerProfile
from harness.measure.memory import TreeMemory
from harness.measure.metrics import METRICS
from harness.measure.outcome import CaseKey, CaseResult, ProcessRun
from harness.measure.process import Rusage

WRK_STDOUT = """\
Running 3s test @ http://127.0.0.1:40000/plaintext
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.00us  300.00us  12.00ms   90.00%
    Req/Sec    78.00k     2.00k   80.00k    70.00%
  234567 requests in 3.00s, 30.00MB read
Requests/sec:  78189.00
Transfer/sec:     10.00MB

CMBENCH-WRK {"requests": 234567, "duration_us": 3000123, "bytes": 31456789, \
"errors": {"connect": 0, "read": 2, "write": 1, "status": 5, "timeout": 3}, \
"latency_us": {"min": 95, "max": 12000, "50": 800, "90": 1100, "99": 2500, "99.9": 9000}, \
"histogram_us": [[95, 10], [800, 200000], [1100, 30000], [2500, 4000], [9000, 300], [12000, 1]]}
"""

OHA_JSON = {
    "summary": {"successRate": 1.0, "total": 8.000512, "slowest": 0.0123, "fastest": 0.00004, "average": 0.0002,
                "requestsPerSec": 12000.0, "totalData": 1248000, "sizePerRequest": 13, "sizePerSec": 156000.0},
    "responseTimeHistogram": {"0.00004": 90000, "0.0123": 6000},
    "latencyPercentiles": {"p10": 0.0001, "p25": 0.00012, "p50": 0.00015, "p75": 0.0002, "p90": 0.0003,
                           "p95": 0.0004, "p99": 0.0009, "p99.9": 0.004, "p99.99": 0.01},
    "rps": {"mean": 12000.0, "stddev": 10.0, "max": 12100.0, "min": 11900.0, "percentiles": {}},
    "details": {"DNSDialup": {"average": 0.0001, "fastest": 0.0001, "slowest": 0.0001},
                "DNSLookup": {"average": 0.0, "fastest": 0.0, "slowest": 0.0}},
    "statusCodeDistribution": {"200": 95990, "503": 10},
    "errorDistribution": {"connection closed before message completed": 4},
}


def test_wrk_report_line_is_parsed_not_the_human_text():
    result = load_result(parse_wrk(WRK_STDOUT), ["wrk"], cpu=2.7, wall=3.05)
    assert result.requests == 234567 and result.pipeline == 1 and result.settled is None
    assert result.duration == pytest.approx(3.000123)
    assert result.qps == pytest.approx(234567 / 3.000123)
    assert result.errors == SocketErrors(connect=0, read=2, write=1, timeout=3)
    assert result.non_2xx == 5
    assert result.latency == Latency(p50=800e-6, p90=1100e-6, p99=2500e-6, p999=9000e-6, max=12000e-6)
    assert result.cpu_utilisation == pytest.approx(2.7 / 3.05)
    h = histogram.decode(result.histogram["data"])
    assert h.get_total_count() == 234311 == result.histogram["count"]
    assert h.get_value_at_percentile(50) == pytest.approx(800, rel=1e-3)
    assert result.histogram["unit"] == "us"
    assert result.problems() == ["6 socket errors (read 2, write 1, timeout 3)",
                                 "wrk counts a timeout each time (every 2 s) it finds a connection's request "
                                 "unanswered for over 8 s: the server left some connections waiting that long",
                                 "5 non-2xx responses"]


def test_wrk_report_without_histogram_keeps_percentiles():
    line = WRK_STDOUT.split('"histogram_us"')[0].rstrip(", ") + "}\n"
    result = load_result(parse_wrk(line), ["wrk"], cpu=1.0, wall=3.0)
    assert result.histogram is None
    assert result.latency.p999 == 9000e-6


@pytest.mark.parametrize("stdout, message", [
    ("unable to connect to 127.0.0.1:1 Connection refused\n", "wrk printed no CMBENCH-WRK line"),
    ("CMBENCH-WRK {not json\n", "wrk's report line is not JSON"),
    ('CMBENCH-WRK {"requests": 3}\n', "wrk's report line lacks fields"),
])
def test_wrk_without_a_valid_report_is_an_error(stdout, message):
    with pytest.raises(LoadgenError, match=message):
        parse_wrk(stdout)


def test_wrk_command_line_and_script():
    argv = wrk_argv("wrk", "http://127.0.0.1:1/plaintext", connections=64, duration=8.0, threads=1, script="s.lua")
    assert argv == ["wrk", "-t1", "-c64", "-d8s", "--timeout=8s", "-s", "s.lua", "http://127.0.0.1:1/plaintext"]
    assert "done = function(summary, latency, requests)" in REPORT_LUA
    assert "CMBENCH-WRK " in REPORT_LUA and "BUDGET" not in REPORT_LUA


def _oha_db(path, durations, statuses=None):
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE oha (url TEXT NOT NULL, start REAL NOT NULL, start_latency_correction REAL, "
                     "end REAL NOT NULL, duration REAL NOT NULL, status INTEGER NOT NULL, "
                     "len_bytes INTEGER NOT NULL, run INTEGER NOT NULL)")
        conn.executemany("INSERT INTO oha VALUES ('u', 0, 0, 0, ?, ?, 13, 1)",
                         [(d, s) for d, s in zip(durations, statuses or [200] * len(durations))])
    conn.close()


def test_oha_summary_and_per_request_rows(tmp_path):
    durations = [0.0001] * 900 + [0.001] * 90 + [0.01] * 9 + [0.5]
    _oha_db(tmp_path / "r.sqlite", durations)
    report = parse_summary("Storing results to r.sqlite\n" + json.dumps(OHA_JSON))
    result = oha_result(report, read_durations(tmp_path / "r.sqlite"), ["oha"], cpu=4.0, wall=9.0)
    assert result.requests == 96000
    assert result.duration == pytest.approx(8.000512)
    assert result.non_2xx == 10
    assert result.errors.total == 4
    assert result.problems() == ["4 socket errors ('connection closed before message completed' x4)",
                                 "10 non-2xx responses"]
    # percentiles from every request, at rank round(p% x n) as HdrHistogram ranks them
    assert result.latency == Latency(p50=0.0001, p90=0.0001, p99=0.001, p999=0.01, max=0.5)
    h = histogram.decode(result.histogram["data"])
    assert h.get_total_count() == 1000
    assert h.get_max_value() == pytest.approx(500_000, rel=1e-3)


def test_oha_without_rows_falls_back_to_its_percentiles():
    result = oha_result(OHA_JSON, None, ["oha"], cpu=1.0, wall=1.0)
    assert result.histogram is None
    assert result.latency == Latency(p50=0.00015, p90=0.0003, p99=0.0009, p999=0.004, max=0.0123)


def test_oha_with_no_request_has_no_latency():
    report = {**OHA_JSON, "statusCodeDistribution": {}, "latencyPercentiles": {"p50": None},
              "summary": {**OHA_JSON["summary"], "slowest": None}}
    result = oha_result(report, np.empty(0), ["oha"], cpu=1.0, wall=1.0)
    assert result.requests == 0 and result.latency is None and result.histogram is None


@pytest.mark.parametrize("text", ["", "error: connection refused", '{"summary": {}}'])
def test_oha_without_summary_is_an_error(text):
    with pytest.raises(LoadgenError, match="oha"):
        parse_summary(text)


def test_oha_command_line():
    argv = oha_argv("oha", "http://x/plaintext", rate=1234.5678, connections=64, duration=8, db=None)
    assert argv[-1] == "http://x/plaintext"
    assert {"--no-tui", "--latency-correction", "--wait-ongoing-requests-after-deadline"} <= set(argv)
    assert argv[argv.index("-q") + 1] == "1234.568" and argv[argv.index("-z") + 1] == "8s"
    assert "--disable-keepalive" not in argv
    closed = oha_argv("oha", "http://x/plaintext", rate=None, connections=8, duration=1, db="r.sqlite")
    assert "-q" not in closed and "--latency-correction" not in closed
    assert closed[closed.index("--db-url") + 1] == "r.sqlite"


def test_missing_database_is_no_rows(tmp_path):
    assert len(read_durations(tmp_path / "absent.sqlite")) == 0


def test_phases_and_their_labels():
    profile = ServerProfile(connections=(16, 64), rates=(0.5, 0.9), min_duration=3, warmup=1, idle_connections=500,
                            pipelined_connections=(256,), startup_runs=5)
    assert [p.label for p in phases_for(profile)] == [
        "startup", "closed,connections=16", "closed,connections=64", "pipelined,connections=256", "open,rate=0.5",
        "open,rate=0.9", "idle,connections=500"]
    assert Phase("open", rate=0.25).label == "open,rate=0.25"
    for phase in phases_for(profile):
        assert phase_of(phase_params(phase, profile)) == phase


@pytest.mark.parametrize("cpus, allowed, expected", [
    ((0, 1), (0, 1), ((0,), (1,))),
    ((0,), (0, 1), ((0,), (1,))),
    ((0, 1, 2, 3), (0, 1, 2, 3), ((0, 1), (2, 3))),
    ((0, 1, 2), (0, 1, 2, 3), ((0, 1, 2), (3,))),
    ((5,), (5,), ((5,), ())),
])
def test_cpu_split_is_disjoint(cpus, allowed, expected):
    assert split_cpus(cpus, allowed) == expected


def _phase_result(detail, *, status="ok"):
    ru = Rusage(user=1.5, system=0.5, max_rss=20 << 20, voluntary=2100, involuntary=150)
    base = Rusage(user=0.1, system=0.1, max_rss=5 << 20, voluntary=100, involuntary=50)
    return CaseResult(key=CaseKey("http_server", "closed,connections=64", "go/goroutines", "default"),
                      language="go", model="goroutines", params={"phase": detail.phase}, status=status,
                      operations=detail.requests_served, processes=(ProcessRun((), ru, 10.0),), baseline=base,
                      kind="server", detail=detail)


def test_rows_of_a_load_phase():
    load = LoadResult("wrk", ("wrk",), 50_000, 5.0, SocketErrors(), 0, Latency(1e-4, 2e-4, 5e-4, 1e-3, 2e-3),
                      None, cpu=4.0, wall=5.0)
    rows = {r.metric: r for r in server_rows(_phase_result(PhaseDetail("closed", 1000, load=load, loadgen_cpu=0.8)))}
    assert rows["qps"].value == 10_000
    assert [rows[m].value for m in ("latency_p50", "latency_p90", "latency_p99", "latency_p999", "latency_max")] \
        == [1e-4, 2e-4, 5e-4, 1e-3, 2e-3]
    assert rows["errors"].value == 0 and rows["loadgen_cpu"].value == 0.8
    assert rows["peak_rss"].value == 20 << 20 and rows["peak_rss"].process == 0
    assert rows["ctx_switches_per_request"].value == pytest.approx((2250 - 150) / 1000)
    assert rows["cpu_time_per_request"].value == pytest.approx(1.8 / 1000)
    assert "memory_per_connection" not in rows
    assert all(name in METRICS for name in rows)


def test_rows_of_the_idle_phase_and_of_a_failed_phase():
    idle = PhaseDetail("idle", 1000, idle=IdleMeasurement(100, TreeMemory(1000, None, 1),
                                                          TreeMemory(201000, None, 1), 0.1))
    rows = {r.metric: r.value for r in server_rows(_phase_result(idle))}
    assert rows["memory_per_connection"] == 2000.0 and rows["memory_with_connections"] == 201000
    assert "ctx_switches_per_request" not in rows and "qps" not in rows
    assert list(server_rows(_phase_result(idle, status="crashed"))) == []


def test_histogram_round_trip_and_clamping():
    h = histogram.build([(0, 5), (10, 3), (10**12, 1), (7, 0)])
    back = histogram.decode(histogram.encode(h))
    assert back.get_total_count() == 9
    assert back.get_min_value() == 1  # below 1 us counts as 1 us
    assert back.get_max_value() >= histogram.HIGHEST * 0.999


@pytest.mark.parametrize("gen_cpu, responder_cpu, bottleneck, text", [
    (0.98, 0.40, "load generator", "its ceiling: a server measured near this rate is limited by the generator"),
    (0.50, 0.95, "responder", "limited by the responder"),
    (0.30, 0.20, "neither (kernel or scheduling)", "a lower bound on its ceiling"),
])
def test_headroom_names_the_bottleneck(gen_cpu, responder_cpu, bottleneck, text):
    from harness.kinds.server.headroom import Headroom, headroom_table

    load = LoadResult("wrk", ("wrk",), 500_000, 5.0, SocketErrors(), 0, None, None, cpu=gen_cpu * 5.0, wall=5.0)
    h = Headroom("wrk", 64, load, responder_cpu, server_cpus=1, load_cpus=1)
    assert h.bottleneck == bottleneck
    table = headroom_table([h])
    assert "wrk (closed): up to 100k/s on 1 CPU(s)" in table and text in table


def test_the_pipelined_script_writes_depth_requests_at_once():
    from harness.kinds.server.wrk import script

    assert script(1) == REPORT_LUA
    piped = script(16)
    assert "for i = 1, 16 do" in piped and "request = function()" in piped and piped.endswith(REPORT_LUA)
    with pytest.raises(ValueError):
        script(0)


def test_a_settled_load_reports_its_settled_window():
    from harness.kinds.server.settle import Settled

    def load(reason):
        return LoadResult("wrk", ("wrk",), 90_000, 10.0, SocketErrors(), 0, None, None, cpu=1.0, wall=10.0,
                          settled=Settled(reason, 10.0, (0.0, 5_000.0, 9_900.0, 10_000.0, 10_100.0), 3, 0.05))

    assert load("settled").rate == pytest.approx(10_000.0)  # the connections' opening does not weigh on it
    assert load("max_duration").rate == load("fixed").rate == 9_000.0
    back = LoadResult.from_dict(load("settled").as_dict())
    assert back.settled == load("settled").settled and back.rate == pytest.approx(10_000.0)


def test_wrk_progress_is_read_from_proc():
    import os

    from harness.kinds.server.wrk import read_rchar

    assert read_rchar(os.getpid()) > 0
    assert read_rchar(2**22 + 12345) is None
