"""The phases of an http_server case with fakes at the process boundary: servers, wrk, oha, idle sockets."""

from __future__ import annotations

import csv
import json
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from harness.catalog import load_catalog
from harness.console import Console
from harness.engine.local import run_cases
from harness.executors.base import BuildResult, Toolchain
from harness.kinds.server import cases, generator
from harness.kinds.server import kind as http_kind
from harness.kinds.server.bound import Ceiling, Ceilings, is_bound, is_short
from harness.kinds.server.cases import run_server_cases
from harness.kinds.server.idle import IdleMeasurement
from harness.kinds.server.loadgen import Latency, LoadResult, SocketErrors
from harness.kinds.server.rows import server_rows
from harness.kinds.server.settle import Settled
from harness.kinds.server.startup import Start
from harness.manifests.model import DEFAULT_VARIANT, Impl, ServerProfile, Workload
from harness.measure.memory import TreeMemory
from harness.measure.process import ChildResult, Rusage

LOADED = Rusage(user=2.0, system=1.0, max_rss=30 << 20, voluntary=5000, involuntary=500)
IDLE = Rusage(user=0.05, system=0.05, max_rss=5 << 20, voluntary=40, involuntary=10)
PROFILE = ServerProfile(connections=(4, 8), rates=(0.5,), min_duration=2, warmup=1, idle_connections=10)
PROBED = 300  # requests of the single-connection probe before each closed-loop load


class FakeRunning:
    """A server process: listens for real (so readiness connects), prints per `kind`, never serves HTTP."""

    def __init__(self, port: int, kind: str) -> None:
        self.port, self.kind = port, kind
        self.loaded = self.stopped = self.dead = False
        self.sock = None
        self.stderr = {"busy": "listen tcp 127.0.0.1: bind: address already in use\n",
                       "crash": "fatal: cannot start\n",
                       "threadless": "cmbench-c: pthread_create: Resource temporarily unavailable\n"}.get(kind, "")
        if kind in ("busy", "crash"):
            self.dead = True
        else:
            self.sock = socket.create_server(("127.0.0.1", port))
        ready = json.dumps({"ready": True, "port": port})
        self.lines = {"badline": ["listening...\n"], "silent": []}.get(kind, [ready + "\n"])
        if kind == "chatty":
            self.lines.append("GET /plaintext 200\n")

    def read_line(self, timeout: float) -> str | None:
        return self.lines.pop(0) if self.lines and not self.dead else None

    def alive(self) -> bool:
        return not self.dead and not self.stopped

    def memory(self) -> int:
        return 8 << 20

    def tree_memory(self) -> TreeMemory:
        return TreeMemory(12 << 20, 8 << 20, 1)

    def stderr_text(self) -> str:
        return self.stderr

    def die(self, stderr: str) -> None:
        self.dead = True
        self.stderr = stderr

    def stop(self, grace: float = 5.0) -> ChildResult:
        self.stopped = True
        if self.sock:
            self.sock.close()
        code = 1 if self.kind == "badexit" else (3 if self.dead and self.kind == "ok" else 0)
        return ChildResult((), code, "", self.stderr, 1.0, LOADED if self.loaded else IDLE, False)


class FakeServers:
    """An executor whose servers behave per `kinds`, one per start, then "ok"."""

    name = "fake"

    def __init__(self, kinds=()) -> None:
        self.kinds = list(kinds)
        self.started: list[tuple[tuple[str, ...], tuple[int, ...], FakeRunning]] = []

    def toolchain(self, impl) -> Toolchain:
        return Toolchain(True, "fake 1.0")

    def build(self, impl) -> BuildResult:
        return BuildResult(True, 0.0, "")

    def argv(self, impl, variant, args, cpus) -> list[str]:
        return ["fake-server", *args]

    def provenance(self, impl) -> dict[str, str]:
        return {}

    def start(self, impl, variant, args, *, cpus) -> FakeRunning:
        port = int(args[args.index("--port") + 1])
        running = FakeRunning(port, self.kinds.pop(0) if self.kinds else "ok")
        self.started.append((tuple(args), tuple(cpus), running))
        return running

    def close(self) -> None:
        pass

    @property
    def current(self) -> FakeRunning:
        return self.started[-1][2]


class FakeLoad:
    """wrk and oha: requests = qps x duration, with the errors, CPU and latency asked for.

    The measured load's one-second rates are `rates` when set (a stalling server), else steady.
    """

    def __init__(self, servers: FakeServers, qps=None, *, errors=None, non_2xx=0, cpu=0.5,
                 on_measured=None) -> None:
        self.servers = servers
        self.qps = qps or {4: 8000.0, 8: 12000.0}
        self.errors = errors or SocketErrors()
        self.non_2xx, self.cpu, self.on_measured = non_2xx, cpu, on_measured
        self.rates: tuple[float, ...] | None = None
        self.achieved = 1.0  # oha: the fraction of the asked rate achieved
        self.calls: list[dict] = []

    def _result(self, tool, qps, duration, measured, connections, pipeline=1) -> LoadResult:
        self.servers.current.loaded = True
        if measured and self.on_measured:
            self.on_measured(self.servers.current)
        rates = self.rates or (qps,) * 3
        return LoadResult(tool, (tool,), int(qps * duration), duration, self.errors if measured else SocketErrors(),
                          self.non_2xx if measured else 0, Latency(1e-4, 2e-4, 4e-4, 8e-4, 1e-3), None,
                          cpu=self.cpu * duration, wall=duration, pipeline=pipeline,
                          settled=Settled("settled", duration, rates, 3, 0.05) if measured else None)

    def wrk(self, path, port, *, connections, duration, cpus, timeout, pipeline=1, settling=None,
            host="127.0.0.1") -> LoadResult:
        self.calls.append({"tool": "wrk", "port": port, "host": host, "connections": connections, "duration": duration,
                           "cpus": tuple(cpus), "pipeline": pipeline, "settling": settling})
        qps = self.qps.get(connections, 5000.0) * (4 if pipeline > 1 else 1)
        return self._result("wrk", qps, duration, settling is not None, connections, pipeline)

    def oha(self, path, port, *, rate, connections, duration, cpus, timeout, per_request=True,
            host="127.0.0.1") -> LoadResult:
        self.calls.append({"tool": "oha", "port": port, "host": host, "rate": rate, "connections": connections,
                           "duration": duration, "cpus": tuple(cpus), "per_request": per_request})
        return self._result("oha", rate * (self.achieved if per_request else 1.0), duration, per_request,
                            connections)


class FakeConnection:
    def __init__(self, port, timeout=5.0) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def get(self, path):
        return None

    def close(self) -> None:
        pass


def fake_open_idle(port, problems):
    return FakeConnection(port), 0.0


def fake_idle(port, count, memory, *, timeout, hold):
    m = memory()
    return IdleMeasurement(count, m, TreeMemory(m.rss + 4096 * count, m.pss + 2048 * count, 1), 0.01)


def fake_start(start, cpus_poll, timeout):
    return Start(0.25, ChildResult((), 0, "", "", 0.3, IDLE, False))


IMPL = Impl(id="fake/server", path=Path("."), language="fake", model="server", description="", workloads=(
    "http_server",), toolchain_check=("true",), toolchain_hint="", run=("true",))
WORKLOAD = Workload(name="http_server", path=Path("."), summary="", kind="server", operation="request",
                    servers={"smoke": PROFILE})


@pytest.fixture
def world(monkeypatch):
    """Fakes for everything past the process boundary; returns (servers, load, problems to report)."""
    monkeypatch.setattr("os.getloadavg", lambda: (0.5, 0.4, 0.3))
    servers = FakeServers()
    load = FakeLoad(servers)
    problems: list[str] = []
    monkeypatch.setattr(generator, "run_wrk", lambda *a, **k: load.wrk(*a, **k))
    monkeypatch.setattr(generator, "run_oha", lambda *a, **k: load.oha(*a, **k))
    monkeypatch.setattr(cases, "verify_http", lambda port, idle_hold: list(problems))
    monkeypatch.setattr(cases, "measure_idle", fake_idle)
    monkeypatch.setattr(cases, "Connection", FakeConnection)
    monkeypatch.setattr(cases, "open_idle", fake_open_idle)
    monkeypatch.setattr(cases, "check_idle", lambda conn, since, hold, problems, held: None)
    monkeypatch.setattr(generator, "find_tool", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(cases, "probe_rate", lambda port: (PROBED, 1000.0))
    monkeypatch.setattr(cases, "capacity_problem", lambda connections: None)
    monkeypatch.setattr(cases, "time_one_start", fake_start)
    monkeypatch.setattr(http_kind, "measure_probes", lambda *a, **k: [])
    return servers, load, problems


def run(servers, cpus_load=(1,), profile=PROFILE, ceilings=None):
    workload = Workload(name="http_server", path=Path("."), summary="", kind="server", operation="request",
                        servers={"smoke": profile})
    return run_server_cases(servers, IMPL, DEFAULT_VARIANT, workload, "smoke", (0,), cpus_load, timeout=5,
                            ceilings=ceilings)


def by_case(results):
    return {r.key.case: r for r in results}


def test_every_phase_runs_on_a_fresh_server_pinned_apart_from_the_load(world):
    servers, load, _ = world
    results = by_case(run(servers))
    assert list(results) == ["closed,connections=4", "closed,connections=8", "open,rate=0.5", "idle,connections=10"]
    assert {r.status for r in results.values()} == {"ok"}
    # verification, start-up baseline, then one server per phase; every one stopped
    assert len(servers.started) == 2 + 4
    assert all(r.stopped for _, _, r in servers.started)
    assert {cpus for _, cpus, _ in servers.started} == {(0,)}
    assert all(args[args.index("--cpus") + 1] == "1" for args, _, _ in servers.started)
    assert {c["cpus"] for c in load.calls} == {(1,)}
    # primer (at most 8 connections), warm-up, measured run per closed phase
    assert [(c["connections"], c["duration"]) for c in load.calls[:6]] == [
        (4, cases.PRIMER_SECONDS), (4, PROFILE.warmup), (4, PROFILE.min_duration),
        (8, cases.PRIMER_SECONDS), (8, PROFILE.warmup), (8, PROFILE.min_duration)]
    assert [c["settling"] is not None for c in load.calls[:3]] == [False, False, True]
    assert len({c["port"] for c in load.calls[:6]}) == 2
    assert results["closed,connections=8"].params == {
        "phase": "closed", "connections": 8, "min_duration": 2, "max_duration": 2, "warmup": 1, "cpus": 1,
        "load_cpus": 1, "executor": "fake"}


def test_open_loop_runs_at_a_fraction_of_this_servers_best_saturation(world):
    servers, load, _ = world
    results = by_case(run(servers))
    oha = [c for c in load.calls if c["tool"] == "oha"]
    assert [(c["rate"], c["connections"], c["per_request"]) for c in oha] == [(6000.0, 8, False), (6000.0, 8, True)]
    r = results["open,rate=0.5"]
    assert r.params["target_qps"] == 6000.0 and r.params["connections"] == 8 and r.params["rate"] == 0.5
    assert r.detail.loadgen_cpu == 0.5  # from the warm-up, which keeps no per-request rows


def test_per_request_figures_are_net_of_the_start_up_baseline(world):
    servers, _, _ = world
    r = by_case(run(servers))["closed,connections=4"]
    served = (PROBED + int(8000 * cases.PRIMER_SECONDS) + int(8000 * PROFILE.warmup) + int(8000 * PROFILE.min_duration)
              + cases.HELD_REQUESTS)
    assert r.detail.requests_served == served
    rows = {row.metric: row.value for row in server_rows(r)}
    assert rows["ctx_switches_per_request"] == pytest.approx((5500 - 50) / served)
    assert rows["cpu_time_per_request"] == pytest.approx((3.0 - 0.1) / served)
    assert rows["qps"] == 8000.0 and rows["peak_rss"] == 30 << 20
    assert r.baseline == IDLE


def test_idle_phase_gives_memory_per_connection_from_the_trees_pss(world):
    servers, _, _ = world
    r = by_case(run(servers))["idle,connections=10"]
    rows = {row.metric: row.value for row in server_rows(r)}
    assert rows["memory_per_connection"] == 2048  # PSS, not the RSS that grew 4096 per connection
    assert rows["memory_with_connections"] == (8 << 20) + 2048 * 10
    assert rows["peak_tree_rss"] == 12 << 20 and rows["peak_tree_pss"] == 8 << 20
    assert r.detail.idle.kind == "pss"


def test_socket_errors_and_non_2xx_fail_the_phase_with_their_counts(world):
    servers, load, _ = world
    load.errors, load.non_2xx = SocketErrors(read=3, timeout=2), 7
    results = by_case(run(servers))
    r = results["closed,connections=4"]
    assert r.status == "verify_failed"
    assert r.error == ("the measured load: 5 socket errors (read 3, timeout 2); wrk counts a timeout each time "
                       "(every 2 s) it finds a connection's request unanswered for over 8 s: the server left some "
                       "connections waiting that long; 7 non-2xx responses (wrk, 16000 requests)")
    assert list(server_rows(r)) == []
    assert results["idle,connections=10"].status == "ok"  # later phases still run


def test_a_server_dying_mid_run_fails_the_phase_with_its_stderr(world):
    servers, load, _ = world
    load.on_measured = lambda running: running.die("panic: runtime error: index out of range\ngoroutine 7")
    r = by_case(run(servers))["closed,connections=4"]
    assert r.status == "crashed"
    assert "the server exited (status 3) during the measured load" in r.error
    assert "panic: runtime error: index out of range | goroutine 7" in r.error
    assert all(r.stopped for _, _, r in servers.started)


def test_verification_problems_fail_every_phase(world):
    servers, load, problems = world
    problems += ["GET /plaintext: no Server header", "Date did not advance"]
    results = run(servers)
    assert {r.status for r in results} == {"verify_failed"}
    assert results[0].error == "verify: GET /plaintext: no Server header; Date did not advance"
    assert load.calls == [] and len(servers.started) == 1


def test_verification_holds_an_idle_connection_for_the_profiles_idle_hold(world, monkeypatch):
    servers, _, _ = world
    holds = []
    monkeypatch.setattr(cases, "verify_http", lambda port, idle_hold: holds.append(idle_hold) or [])
    run(servers, profile=replace(PROFILE, idle_hold=6.5))
    assert holds == [6.5]


@pytest.mark.parametrize("kind, status, text", [
    ("badline", "verify_failed", "first stdout line 'listening...' is not {\"ready\": true"),
    ("crash", "crashed", "exited before printing its ready line (exit 0); stderr: fatal: cannot start"),
    ("chatty", "verify_failed", "printed on stdout after the ready line: 'GET /plaintext 200'"),
    ("badexit", "verify_failed", "exited with status 1 on SIGTERM, expected 0"),
])
def test_contract_breaches_at_start_and_stop(world, kind, status, text):
    servers, _, _ = world
    servers.kinds = [kind]
    results = run(servers)
    assert {r.status for r in results} == {status}
    assert text in results[0].error


def test_a_port_taken_before_the_server_binds_is_retried_once(world):
    servers, _, _ = world
    servers.kinds = ["busy"]
    results = run(servers)
    assert {r.status for r in results} == {"ok"}
    assert [r.kind for _, _, r in servers.started[:2]] == ["busy", "ok"]


def test_a_port_taken_twice_fails(world):
    servers, _, _ = world
    servers.kinds = ["busy", "busy"]
    results = run(servers)
    assert {r.status for r in results} == {"crashed"}
    assert "address already in use" in results[0].error


def test_a_high_load_average_alone_flags_nothing_but_is_recorded(world, monkeypatch):
    """The load average counts the benchmark's own threads: it is recorded, and the busy-host flag comes
    from other processes' CPU (harness/host/gate.py OthersWatch, read by the runner for every case)."""
    servers, _, _ = world
    monkeypatch.setattr("os.getloadavg", lambda: (40.0, 30.0, 20.0))
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    results = run(servers)
    assert {r.status for r in results} == {"ok"}
    assert not any(f.startswith("host busy") for r in results for f in r.flags)
    assert results[0].detail.host_loadavg == (40.0, 30.0, 20.0)


def test_a_saturated_load_generator_is_flagged_not_failed(world):
    servers, load, _ = world
    load.cpu = 0.97
    r = by_case(run(servers))["closed,connections=8"]
    assert r.status == "ok"
    assert r.flags == ("load-generator bound: wrk kept 97% of its 1 CPU(s) busy: the server may be faster; read "
                       "the figure as a lower bound",)
    assert r.error == ""  # a flag is not an error: the figure counts, read with care
    assert is_bound(r.flags) and r.detail.bound
    assert {row.metric: row.value for row in server_rows(r)}["loadgen_cpu"] == 0.97


def test_missing_tools_skip_the_phases_that_need_them(world, monkeypatch):
    servers, _, _ = world
    monkeypatch.setattr(generator, "find_tool", lambda name: None if name == "oha" else f"/usr/bin/{name}")
    results = by_case(run(servers))
    assert results["open,rate=0.5"].status == "skipped"
    assert "oha not found: cargo install --locked oha --version 1.16.0" in results["open,rate=0.5"].error
    assert results["closed,connections=8"].status == "ok"


def test_no_cpu_left_for_the_load_generator_skips_every_phase(world):
    servers, _, _ = world
    results = run(servers, cpus_load=())
    assert {r.status for r in results} == {"skipped"}
    assert "needs a CPU for the load generator" in results[0].error
    assert servers.started == []


def test_ctrl_c_during_load_stops_the_server_and_propagates(world):
    servers, load, _ = world

    def interrupt(running):
        raise KeyboardInterrupt

    load.on_measured = interrupt
    with pytest.raises(KeyboardInterrupt):
        run(servers)
    assert servers.started and all(r.stopped for _, _, r in servers.started)


def test_runner_stores_one_case_per_phase(world, tmp_path, fixture_root):
    servers, _, _ = world
    root = tmp_path / "root"
    (root / "workloads" / "http_server").mkdir(parents=True)
    toml = (fixture_root / "workloads" / "http_server" / "workload.toml").read_text()
    (root / "workloads" / "http_server" / "workload.toml").write_text(toml)
    (root / "impls" / "fake" / "server").mkdir(parents=True)
    (root / "impls" / "fake" / "server" / "impl.toml").write_text(
        'schema = 1\nlanguage = "fake"\nmodel = "server"\nworkloads = ["http_server"]\n'
        '[toolchain]\ncheck = ["true"]\nhint = "none"\n[run]\ncommand = ["true"]\n')
    catalog = load_catalog(root)
    with open(tmp_path / "console.txt", "w") as stream:
        outcome = run_cases(catalog, servers, list(catalog.impls.values()), list(catalog.workloads.values()),
                            profile="smoke", cpus=(0,), out=tmp_path / "run", console=Console(stream=stream))
    assert not outcome.failed
    assert [r.key.case for r in outcome.results] == [
        "startup", "closed,connections=4", "closed,connections=8", "pipelined,connections=4", "open,rate=0.5",
        "idle,connections=20"]
    with open(tmp_path / "run" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    qps = [r for r in rows if r["metric"] == "qps"]
    assert [r["case"] for r in qps] == ["closed,connections=4", "closed,connections=8", "pipelined,connections=4",
                                        "open,rate=0.5"]
    assert qps[0]["params"].startswith("phase=closed,connections=4,min_duration=2.0,max_duration=2.0,warmup=1.0,"
                                       "cpus=1,load_cpus=")
    assert {r["metric"] for r in rows} >= {"qps", "latency_p99", "errors", "loadgen_cpu", "peak_rss",
                                           "memory_per_connection", "ctx_switches_per_request",
                                           "cpu_time_per_request", "time_to_ready", "memory_with_connections",
                                           "peak_tree_rss"}
    assert len([r for r in rows if r["metric"] == "time_to_ready"]) == 5
    cases_json = json.loads((tmp_path / "run" / "run.json").read_text())["cases"]
    assert cases_json[1]["extra"]["phase"] == "closed" and cases_json[1]["extra"]["load"]["tool"] == "wrk"
    assert "[6/6] http_server[idle,connections=20] fake/server" in (tmp_path / "console.txt").read_text()


FULL = ServerProfile(connections=(4, 8), rates=(0.5,), min_duration=2, max_duration=6, warmup=1,
                     idle_connections=10, pipelined_connections=(8,), pipeline_depth=16, startup_runs=5)


def test_startup_and_pipelined_phases(world):
    servers, load, _ = world
    results = by_case(run(servers, profile=FULL))
    assert list(results)[:1] == ["startup"] and "pipelined,connections=8" in results
    startup = results["startup"]
    assert startup.status == "ok" and startup.params["runs"] == 5
    rows = list(server_rows(startup))
    assert [r.value for r in rows if r.metric == "time_to_ready"] == [0.25] * 5
    assert not any(r.metric == "cpu_time_per_request" for r in rows)  # a start serves one request
    piped = results["pipelined,connections=8"]
    assert piped.params["pipeline"] == 16 and piped.status == "ok"
    measured = [c for c in load.calls if c["tool"] == "wrk" and c["pipeline"] == 16 and c["settling"]]
    assert len(measured) == 1 and measured[0]["settling"].max_duration == 6
    # the open loop scales from the best non-pipelined closed loop (pipelined QPS is 4x here)
    assert results["open,rate=0.5"].params["target_qps"] == 6000.0
    # wrk's latency under pipelining is per batch: the progress line gives it for closed loops only
    progress = http_kind.ServerKind().progress
    assert ", p99 " in progress(results["closed,connections=8"])
    assert ", p99 " not in progress(piped) and "requests" in progress(piped)


def test_requests_left_unanswered_fail_the_phase(world):
    servers, load, _ = world
    load.rates = (0.0, 8000.0, 0.0, 0.0, 5.0)  # connecting, a first answer each, then nothing for two seconds
    r = by_case(run(servers))["closed,connections=4"]
    assert r.status == "verify_failed"
    assert r.error.startswith("requests left unanswered: nothing was answered for 2 consecutive seconds of the "
                              "measured load while 4 connections waited (one-second rates 0, 8,000, 0, 0, 5 req/s)")
    assert list(server_rows(r)) == []


def test_a_slow_start_is_not_a_stall(world):
    servers, load, _ = world
    load.rates = (0.0, 0.0, 0.0, 8000.0, 0.0, 7000.0)  # nothing while 10,000 connections open, one quiet second
    assert by_case(run(servers))["closed,connections=4"].status == "ok"


def test_a_rate_far_below_one_connections_fails_the_phase(world, monkeypatch):
    servers, _, _ = world
    monkeypatch.setattr(cases, "probe_rate", lambda port: (30000, 100000.0))
    r = by_case(run(servers))["closed,connections=4"]
    assert r.status == "verify_failed"
    assert "the measured rate collapsed: 8,000.0 req/s on 4 connections, below 1/10 of the 100,000" in r.error


def test_pipelined_phases_report_no_latency(world):
    servers, _, _ = world
    r = by_case(run(servers, profile=FULL))["pipelined,connections=8"]
    metrics = {row.metric for row in server_rows(r)}
    assert "qps" in metrics and not {m for m in metrics if m.startswith("latency_")}


def test_a_probe_that_hangs_fails_before_any_load(world, monkeypatch):
    servers, load, _ = world

    def hang(port):
        raise cases.CaseFailure("verify_failed", "the single-connection probe before the load: request 2 on one "
                                                 "keep-alive connection: no response within 5 s")

    monkeypatch.setattr(cases, "probe_rate", hang)
    r = by_case(run(servers))["closed,connections=4"]
    assert r.status == "verify_failed" and "request 2" in r.error
    assert not [c for c in load.calls if c["connections"] == 4]


def test_near_the_generators_ceiling_a_figure_is_bound(world):
    servers, _, _ = world
    ceilings = Ceilings((Ceiling("wrk", 1, 8, 12500.0, "load generator"), Ceiling("wrk", 1, 4, 20000.0, "both")))
    results = by_case(run(servers, ceilings=ceilings))
    eight, four = results["closed,connections=8"], results["closed,connections=4"]
    assert is_bound(eight.flags) and eight.detail.bound and eight.detail.ceiling_qps == 12500.0
    assert "12,000 req/s is 96% of wrk's ceiling on these CPUs (12,500 req/s" in eight.flags[0]
    assert not is_bound(four.flags) and four.detail.ceiling_qps == 20000.0


def test_open_loop_targets_stay_below_what_oha_sustains(world):
    servers, load, _ = world
    ceilings = Ceilings((Ceiling("oha", 1, 8, 10000.0, "load generator"),))
    r = by_case(run(servers, ceilings=ceilings))["open,rate=0.5"]
    assert r.params["target_qps"] == 4000.0  # 0.5 x 80% of oha's 10,000, not 0.5 x the server's 12,000
    assert r.detail.reference_qps == 8000.0 and "oha's ceiling" in r.detail.reference
    assert any(f.startswith("rate is a fraction of 80% of oha's ceiling") for f in r.flags)


def test_an_open_loop_rate_short_of_its_target_reports_no_latency(world):
    servers, load, _ = world
    load.achieved = 0.6
    r = by_case(run(servers))["open,rate=0.5"]
    assert r.status == "ok" and is_short(r.flags) and r.detail.rate_short
    metrics = {row.metric for row in server_rows(r)}
    assert "qps" in metrics and not {m for m in metrics if m.startswith("latency_")}
    assert r.detail.load.latency is not None  # kept in run.json


def test_a_host_that_cannot_hold_the_connections_skips_the_phase(world, monkeypatch):
    servers, _, _ = world
    monkeypatch.setattr(cases, "capacity_problem",
                        lambda c: "needs 8 local ports" if c == 8 else None)
    results = by_case(run(servers))
    assert results["closed,connections=8"].status == "skipped"
    assert results["closed,connections=8"].error == "this host: needs 8 local ports"
    assert results["closed,connections=4"].status == "ok"


def test_a_server_diagnostic_on_stderr_is_part_of_the_failure(world):
    servers, load, _ = world
    servers.kinds = ["ok", "ok", "threadless"]  # verification, baseline, then the first phase's server
    load.errors = SocketErrors(read=3)
    r = by_case(run(servers))["closed,connections=4"]
    assert r.status == "verify_failed"
    assert r.error.endswith("(wrk, 16000 requests); server stderr: cmbench-c: pthread_create: Resource temporarily "
                            "unavailable")


def test_repeats_give_three_values_of_each_phase_the_claims_ledger_reads(world):
    """Closed and pipelined loads repeat in one server's life; idle memory is read on fresh servers."""
    servers, load, _ = world
    profile = replace(PROFILE, rates=(), connections=(4,), pipelined_connections=(4,), repeats=3)
    results = by_case(run(servers, profile=profile))
    assert {r.status for r in results.values()} == {"ok"}
    closed = results["closed,connections=4"]
    measured = [c for c in load.calls if c["port"] == load.calls[0]["port"] and c["settling"] is not None]
    assert len(measured) == 3  # three measured loads on one server
    qps = [row for row in server_rows(closed) if row.metric == "qps"]
    assert [row.iteration for row in qps] == [None, 1, 2] and len(closed.detail.repeat_rates) == 2
    idle = results["idle,connections=10"]
    memory = [row for row in server_rows(idle) if row.metric == "memory_with_connections"]
    assert len(memory) == 3 and len(idle.detail.idle_repeats) == 2
    # verification, baseline, closed, pipelined, and three idle servers
    assert len(servers.started) == 2 + 2 + 3
    again = type(idle.detail).from_dict(json.loads(json.dumps(idle.detail.to_dict())))
    assert again.idle_repeats == idle.detail.idle_repeats
    assert type(closed.detail).from_dict(closed.detail.to_dict()).repeat_rates == closed.detail.repeat_rates
    # the plan's estimate counts the repetitions
    assert http_kind._guess({"phase": "closed", "warmup": 1, "min_duration": 2}, 3) == pytest.approx(
        http_kind._guess({"phase": "closed", "warmup": 1, "min_duration": 2}) + 4)


def test_a_server_that_drops_the_connection_held_through_the_loads_fails_the_phase(world, monkeypatch):
    servers, _, _ = world

    def dropped(conn, since, hold, problems, held):
        problems.append(f"idle keep-alive connection: the server closed it within 5.9 s of idling ({held})")
    monkeypatch.setattr(cases, "check_idle", dropped)
    results = by_case(run(servers))
    for label in ("closed,connections=4", "closed,connections=8"):
        assert results[label].status == "verify_failed"
        assert "closed it within 5.9 s of idling (held through the phase's loads)" in results[label].error
