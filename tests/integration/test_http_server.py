"""The Go server verified and loaded for real with the smoke profile; the headroom measurement."""

from __future__ import annotations

import json
import os

import pytest

from harness.catalog import load_catalog
from harness.executors.native import NativeExecutor
from harness.http import measure_headroom, run_server_cases, server_rows, split_cpus, verify_case
from harness.http.cases import make_setup
from harness.http.loadgen import INSTALL_HINTS, find_tool
from harness.http.wrk import run_wrk

from ..conftest import PROJECT

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


def test_go_server_smoke_profile(go_built):
    _tools("wrk", "oha")
    executor, impl = go_built
    server, load = _cpus()
    results = run_server_cases(executor, impl, impl.variants[0], CATALOG.workloads["http_server"], "smoke",
                               server, load)
    assert [r.key.case for r in results] == ["closed,connections=16", "closed,connections=64", "open,rate=0.5",
                                             "idle,connections=500"]
    for r in results:
        assert r.status == "ok", f"{r.key.case}: {r.error}"
    rows = {r.key.case: {row.metric: row.value for row in server_rows(r)} for r in results}
    for case in ("closed,connections=16", "closed,connections=64"):
        assert rows[case]["qps"] > 500 and rows[case]["errors"] == 0
        assert 0 < rows[case]["loadgen_cpu"] <= 1.05
        assert rows[case]["ctx_switches_per_request"] > 0 and rows[case]["cpu_time_per_request"] > 0
    best = max(rows[c]["qps"] for c in ("closed,connections=16", "closed,connections=64"))
    open_ = next(r for r in results if r.key.case == "open,rate=0.5")
    assert open_.params["target_qps"] == pytest.approx(0.5 * best, rel=0.01)
    assert 0 < rows["open,rate=0.5"]["latency_p50"] <= rows["open,rate=0.5"]["latency_p99"] \
        <= rows["open,rate=0.5"]["latency_p999"] <= rows["open,rate=0.5"]["latency_max"]
    assert open_.detail.load.histogram["count"] == open_.detail.load.requests
    # a goroutine and its buffers per connection: between 1 KiB and 1 MiB
    assert 1024 < rows["idle,connections=500"]["memory_per_connection"] < 1 << 20
    assert rows["idle,connections=500"]["peak_rss"] > 1 << 20


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
    headroom = json.loads((out / "run.json").read_text())["loadgen_headroom"]
    assert headroom["runs"][0]["tool"] == "wrk" and headroom["runs"][0]["qps"] > 500
