"""The Go server verified and loaded for real in every kind of phase, and in a smoke run; FastAPI with workers;
broken servers (fixtures) failing with their reasons; the headroom measurement."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from harness.catalog import load_catalog
from harness.executors.native import NativeExecutor
from harness.kinds.server import cases
from harness.kinds.server.bound import SHORT_PREFIX
from harness.kinds.server.cases import Phase, iter_server_cases, make_setup, measure_phases, split_cpus, verify_case
from harness.kinds.server.check import verify_http
from harness.kinds.server.client import Connection
from harness.kinds.server.headroom import measure_headroom
from harness.kinds.server.loadgen import INSTALL_HINTS, find_tool
from harness.kinds.server.rows import server_rows
from harness.kinds.server.server import start_server
from harness.kinds.server.wrk import run_wrk
from harness.manifests.model import ServerProfile
from harness.measure.memory import tree_pids

from ..conftest import FIXTURE_ROOT, PROJECT

pytestmark = pytest.mark.integration

CATALOG = load_catalog(PROJECT)
GO = "go/goroutines"


def _cpus():
    server, load = split_cpus(sorted(os.sched_getaffinity(0)), sorted(os.sched_getaffinity(0)))
    if not load:
        pytest.skip("needs at least 2 CPUs: one for the server, one for the load generator")
    return server, load


def _tools(*names):
    missing = [n for n in names if find_tool(n) is None]
    if missing:
        pytest.skip("; ".join(f"{n} missing: {INSTALL_HINTS[n]}" for n in missing))


@pytest.fixture(scope="module")
def go_built():
    impl = CATALOG.impls[GO]
    executor = NativeExecutor()
    if not executor.toolchain(impl).present:
        pytest.skip(f"{GO}: toolchain missing: {impl.toolchain_hint}")
    built = executor.build(impl)
    assert built.ok, built.log
    return executor, impl


def test_go_server_passes_verification(go_built):
    executor, impl = go_built
    server, load = _cpus()
    setup = make_setup(executor, impl, impl.variants[0], CATALOG.workloads["http_server"], "verify", server, load)
    result = verify_case(setup)
    assert result.status == "ok", result.error


# Every kind of phase, short: the smoke profile has only a closed loop and idle connections.
EVERY_PHASE = ServerProfile(connections=(16, 64), rates=(0.5,), min_duration=3, warmup=1, idle_connections=500,
                            idle_hold=7, pipelined_connections=(64,), startup_runs=5)


def test_go_server_every_phase(go_built):
    _tools("wrk", "oha")
    executor, impl = go_built
    server, load = _cpus()
    results = list(iter_server_cases(make_setup(executor, impl, impl.variants[0], CATALOG.workloads["http_server"],
                                                EVERY_PHASE, server, load)))
    assert [r.key.case for r in results] == ["startup", "closed,connections=16", "closed,connections=64",
                                             "pipelined,connections=64", "open,rate=0.5", "idle,connections=500"]
    for r in results:
        assert r.status == "ok", f"{r.key.case}: {r.error}"
    rows = {r.key.case: {row.metric: row.value for row in server_rows(r)} for r in results}
    for case in ("closed,connections=16", "closed,connections=64"):
        assert rows[case]["qps"] > 500 and rows[case]["errors"] == 0
        assert 0 < rows[case]["loadgen_cpu"] <= 1.05
        assert rows[case]["ctx_switches_per_request"] > 0 and rows[case]["cpu_time_per_request"] > 0
    assert rows["pipelined,connections=64"]["qps"] > 500 and "latency_p50" not in rows["pipelined,connections=64"]
    starts = [row.value for row in server_rows(results[0]) if row.metric == "time_to_ready"]
    assert len(starts) == 5 and all(0 < s < 5 for s in starts)
    best = max(rows[c]["qps"] for c in ("closed,connections=16", "closed,connections=64"))
    open_ = next(r for r in results if r.key.case == "open,rate=0.5")
    assert open_.params["target_qps"] <= 0.5 * best * 1.01  # at most; capped below oha's ceiling when known
    if any(f.startswith(SHORT_PREFIX) for f in open_.flags):  # a busy host: no latency is reported as the server's
        assert "latency_p50" not in rows["open,rate=0.5"]
    else:
        assert 0 < rows["open,rate=0.5"]["latency_p50"] <= rows["open,rate=0.5"]["latency_p99"] \
            <= rows["open,rate=0.5"]["latency_p999"] <= rows["open,rate=0.5"]["latency_max"]
    assert open_.detail.load.histogram["count"] == open_.detail.load.requests
    # a goroutine and its buffers per connection: between 1 KiB and 1 MiB
    assert 1024 < rows["idle,connections=500"]["memory_per_connection"] < 1 << 20
    assert rows["idle,connections=500"]["peak_rss"] > 1 << 20
    assert rows["idle,connections=500"]["memory_with_connections"] > 500 * 1024
    closed = next(r for r in results if r.key.case == "closed,connections=64")
    assert closed.detail.load.settled.reason == "fixed" and len(closed.detail.load.settled.rates) >= 2
    assert closed.detail.probe_qps > 0


def test_wrk_lua_report_against_the_go_server(go_built):
    _tools("wrk")
    executor, impl = go_built
    server_cpus, load = _cpus()
    setup = make_setup(executor, impl, impl.variants[0], CATALOG.workloads["http_server"], "smoke", server_cpus,
                       load)
    with setup.serving() as server:
        result = run_wrk(find_tool("wrk"), server.port, connections=4, duration=1, cpus=load, timeout=30)
    assert result.requests > 0 and result.errors.total == 0 and result.non_2xx == 0
    assert 0 < result.latency.p50 <= result.latency.p999 <= result.latency.max


def test_headroom_measures_the_generator_against_the_responder():
    _tools("wrk")
    server, load = _cpus()
    results = measure_headroom(server, load, duration=1, connections=[16], tools=["wrk"])
    assert len(results) == 1
    h = results[0]
    assert h.load.qps > 1000 and h.load.errors.total == 0
    assert 0 < h.loadgen_cpu <= 1.05 and 0 < h.responder_cpu <= 1.05


def test_a_run_records_the_generator_ceiling_for_the_report(go_built, tmp_path, capsys):
    _tools("wrk", "oha")
    from cmbench.cli import main

    out = tmp_path / "run"
    code = main(["--root", str(PROJECT), "run", "--profile", "smoke", "--impl", "go/goroutines",
                 "--workload", "http_server", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    run = json.loads((out / "run.json").read_text())
    headroom = run["loadgen_headroom"]
    assert headroom["runs"][0]["tool"] == "wrk" and headroom["runs"][0]["qps"] > 500
    # the generators the run's phases use: smoke loads closed-loop only (quick adds wrk pipelined and oha)
    assert {(h["tool"], h["mode"]) for h in headroom["runs"]} == {("wrk", "closed")}
    assert {c["case"] for c in run["cases"]} == {"closed,connections=16", "idle,connections=100"}
    assert all(c["status"] == "ok" for c in run["cases"])


FIXTURES = load_catalog(FIXTURE_ROOT)


def _fixture_setup(model: str, profile: str = "smoke"):
    impl = FIXTURES.impls[f"fake/{model}"]
    server, load = _cpus()
    return make_setup(NativeExecutor(), impl, impl.variants[0], FIXTURES.workloads["http_server"], profile, server,
                      load)


def test_a_server_that_hangs_every_other_request_fails_with_the_reason():
    _tools("wrk")
    setup = _fixture_setup("hangodd")
    verified = verify_case(setup)
    assert verified.status == "verify_failed"
    # verify first opens the idle keep-alive connection it holds (one request), so the server's every other
    # request may fall on the check's first response or its second
    assert re.search(r"plaintext, Date and keep-alive: response [12] on one connection: no response within 5 s",
                     verified.error), verified.error
    # measured anyway (as a plan run would if it skipped verification): every closed phase fails, saying why. The
    # keep-alive connection the phase holds through its loads asks first, so the probe's hanging request is its
    # first or its second
    results = {r.key.case: r for r in measure_phases(setup, [Phase("closed", connections=4),
                                                             Phase("closed", connections=8)])}
    for r in results.values():
        assert r.status == "verify_failed", r.error
        assert re.search(r"probe before the load: request ([12]) on one keep-alive connection: response \1 on one "
                         r"connection: no response within", r.error), r.error


def test_requests_left_hanging_under_load_fail_the_phase(monkeypatch):
    """Past the single-connection probe, the load itself shows the stall."""
    _tools("wrk")
    monkeypatch.setattr(cases, "probe_rate", lambda port: (1, 1.0))
    setup = _fixture_setup("hangodd", "quick")  # runs 2 to 4 s: long enough to see seconds without an answer
    r = next(measure_phases(setup, [Phase("closed", connections=8)]))
    assert r.status == "verify_failed"
    assert r.error.startswith("requests left unanswered: nothing was answered for ")


def test_a_server_that_cannot_pipeline_fails_verification_saying_what_it_received():
    setup = _fixture_setup("nopipeline")
    r = verify_case(setup)
    assert r.status == "verify_failed"
    assert ("pipelined burst of 16 requests in one send: response 2 on one connection: no response within 5 s; "
            "expected 16 responses in order") in r.error
    assert "received 1 (200): the server does not answer pipelined requests" in r.error


@pytest.fixture(scope="module")
def fastapi_ready():
    impl = CATALOG.impls["python/fastapi"]
    executor = NativeExecutor()
    tc = executor.toolchain(impl)
    if not tc.present:
        pytest.skip(f"python/fastapi: {tc.version}: {impl.toolchain_hint}")
    return executor, impl


def test_fastapi_with_two_workers_is_ready_only_when_both_serve_and_stops_whole(fastapi_ready):
    executor, impl = fastapi_ready
    cpus = sorted(os.sched_getaffinity(0))[:2]
    if len(cpus) < 2:
        pytest.skip("needs 2 CPUs for two workers")
    server = start_server(executor, impl, impl.variants[0], cpus)
    try:
        root = server.running.program_pid()
        tree = {pid: _started(pid) for pid in tree_pids(root)}
        workers = [p for p in tree if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]
        assert len(workers) == 2, tree
        with Connection(server.port) as conn:
            assert conn.get("/plaintext").status == 200
        m = server.running.tree_memory()
        assert m.processes >= 3 and m.pss is not None
        assert m.rss > server.running.memory()  # the tree, not the supervisor alone
        assert verify_http(server.port) == []
    finally:
        stopped = server.stop()
    assert stopped.returncode == 0 and not stopped.timed_out, stopped.stderr
    deadline = time.monotonic() + 2  # a process killed with the group may take a moment to die
    while any(_started(pid) == started for pid, started in tree.items()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_started(pid) != started for pid, started in tree.items()), "a process of the server is left"


def _started(pid: int) -> str | None:
    """The process's start time (its identity with the pid, as pids are reused), or None when it is gone
    (a zombie is gone: dead, waiting for an init that reaps slowly)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]
