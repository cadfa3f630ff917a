"""TechEmpower's layout on real hosts: the server on a benchmark host, wrk and oha on a `--loadgen` host.

Containers on a private Docker network, as in test_cluster.py: a scheduler, one benchmark host and
one load-generator host. The fixture implementation fake/good serves http_server with Python's
standard library; its phases are short (tests/fixtures/root/workloads/http_server).
"""

from __future__ import annotations

import json

import pytest

from .cluster_env import Cluster
from .test_cluster import finish, wait_for

pytestmark = pytest.mark.integration

HTTP = ("--profile", "smoke", "--workload", "http_server", "--impl", "fake/good", "--out", "/out/run")
LOAD_PHASES = ("closed,connections=4", "closed,connections=8", "pipelined,connections=4", "open,rate=0.5")
# What a phase leaves running if it is not stopped: the fixture server, the relay, the generators.
LEFTOVERS = ("fake_impl.py good http_server", "relay-", "wrk ", "oha ")


@pytest.fixture
def cluster(engine, image, checkout):
    made = Cluster(engine, image, checkout)
    try:
        made.start_scheduler()
        yield made
    finally:
        made.close()


def leftovers(cluster: Cluster, hosts) -> list[str]:
    return [f"{h}: {line}" for h in hosts for pattern in LEFTOVERS for line in cluster.processes(h, pattern)
            if "python3 -c" not in line]


def run_cases(out) -> dict:
    run = json.loads((out / "run" / "run.json").read_text())
    return run, {c["case"]: c for c in run["cases"]}


def test_the_generator_runs_on_the_loadgen_host_and_reaches_the_server_through_the_relay(cluster, tmp_path):
    cluster.start_worker("b1")
    cluster.start_worker("lg1", loadgen=True)
    code, log = finish(cluster, cluster.controller(tmp_path, *HTTP, "--loadgen-host"), timeout=400)
    assert code == 0, log
    assert "host lg1 ready as a load generator" in log, log
    run, cases = run_cases(tmp_path)
    assert {c["status"] for c in cases.values()} == {"ok"}, {k: c["error"] for k, c in cases.items()}
    assert {c["host"] for c in cases.values()} == {"b1"}  # lg1 measures nothing of its own
    for label in LOAD_PHASES:
        extra = cases[label]["extra"]
        assert (extra["layout"], extra["loadgen_host"]) == ("separate", "lg1"), label
        url = extra["load"]["argv"][-1]
        assert "127.0.0.1" not in url and url.endswith("/plaintext"), url  # the relay on b1's cluster address
        assert extra["load"]["requests"] > 0 and extra["relay"]["cpu"] > 0, extra
    for label in ("startup", "idle,connections=20"):  # no generator: the harness's own client on b1
        assert "layout" not in cases[label]["extra"], label
    assert set(run["hosts"]) == {"b1"} and "wrk" in run["loadgen_hosts"]["lg1"]["tools"]
    separate = run["loadgen_headroom_separate"]
    assert separate and {(r["host"], r["loadgen_host"]) for r in separate} == {("b1", "lg1")}
    assert all(h["layout"] == "separate" and h["qps"] > 0 for r in separate for h in r["runs"]), separate
    assert run["loadgen_headroom"]["runs"], "the one-host ceilings of b1, for comparison"
    assert not leftovers(cluster, ("b1", "lg1"))


def test_without_a_loadgen_host_units_run_on_one_host_and_say_so(cluster, tmp_path):
    cluster.start_worker("b2")
    code, log = finish(cluster, cluster.controller(tmp_path, *HTTP, "--loadgen-host"), timeout=300)
    assert code == 0, log
    assert "no host offers the `loadgen` resource" in log, log
    _, cases = run_cases(tmp_path)
    assert all(cases[label]["extra"]["layout"] == "same-host" for label in LOAD_PHASES)


def test_a_loadgen_host_dying_mid_phase_loses_the_phase_naming_it_and_stops_the_server(cluster, tmp_path):
    cluster.start_worker("b3")
    cluster.start_worker("lg3", loadgen=True)
    controller = cluster.controller(tmp_path, *HTTP, "--loadgen-host")
    # wrk at 8 connections runs twice there: for the generators' ceiling before the phases, then in the second
    # phase (a unit's cases are stored when it ends, so the controller says nothing of the first phase yet)
    wait_for(lambda: cluster.processes("lg3", "-c8 "), "wrk at 8 connections for the ceiling", timeout=360)
    wait_for(lambda: not cluster.processes("lg3", "-c8 "), "the end of the ceiling's wrk at 8 connections")
    wait_for(lambda: cluster.processes("lg3", "-c8 "), "wrk at 8 connections on the generator host", timeout=120)
    cluster.kill("lg3")
    code, log = finish(cluster, controller, timeout=300)
    assert code == 1, log
    _, cases = run_cases(tmp_path)
    lost = cases["closed,connections=8"]
    assert lost["status"] == "lost" and "load generator host lg3" in lost["error"], lost
    assert cases["closed,connections=4"]["status"] == "ok"
    assert all(cases[label]["status"] == "lost" for label in ("pipelined,connections=4", "open,rate=0.5"))
    assert cases["idle,connections=20"]["status"] == "ok"  # needs no generator
    assert not leftovers(cluster, ("b3",))


def test_loadgen_headroom_measures_the_generators_ceiling_on_one_host_and_from_a_loadgen_host(cluster, tmp_path):
    cluster.start_worker("b4")
    cluster.start_worker("lg4", loadgen=True)
    command = ["python3", "-m", "cmbench", "--root", "/cmbench/tests/fixtures/root", "loadgen-headroom", "--cluster",
               cluster.address, "--duration", "1", "--connections", "16", "--pipeline", "0"]
    code, log = finish(cluster, cluster._run("headroom", command), timeout=200)
    assert code == 0, log
    assert "host b4: server CPUs" in log and "relay CPU" in log and "lg4" in log, log
    rows = [line.split()[:2] for line in log.splitlines() if " closed " in line and line.endswith(" 0")]
    assert rows == [["this", "host"]] * 2 + [["lg4", "wrk"], ["lg4", "oha"]], log  # on b4, then from lg4
    assert not leftovers(cluster, ("b4", "lg4"))
