"""The cluster runner with real hosts: a Dask scheduler and `cmbench worker`s in containers on a private network.

Needs a Docker engine; the worker image is built the first time (see cluster_env.py). The plans
are the fixture implementations' (tests/fixtures/root), so the hosts need no toolchain but Python.
"""

from __future__ import annotations

import csv
import json
import re
import time

import pytest

from harness.manifests.model import PROFILE_SHAPES
from harness.store.run import load_samples

from ..conftest import HANG_PLAN, startup_only
from .cluster_env import Cluster, make_certificates, snapshot

pytestmark = pytest.mark.integration

SMOKE = ("--profile", "smoke", "--workload", "ping_pong,mutex_counter")
FAULTY = "fake/good,fake/crash,fake/wrong,fake/garbage,fake/notool,fake/badbuild"
# The implementations of one case run interleaved in one unit, so the good one finishes first only in a unit of
# its own: its server's start-up phase (the hanging fixture serves no HTTP), while ping_pong hangs on another host.


def hang_run(cluster: Cluster, tmp_path) -> tuple[str, ...]:
    """The controller's arguments for that run: the plan, made in a container, in `tmp_path` (its /out)."""
    plan = startup_only(cluster.plan(*HANG_PLAN, "--impl", "fake/good,fake/hang"))
    (tmp_path / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    return "--plan", "/out/plan.json", "--out", "/out/run"


VERIFY = PROFILE_SHAPES["verify"]  # the hang comes in verification, which runs this shape
HANG = f"fake_impl.py hang ping_pong --roundtrips 100 --warmups {VERIFY.warmups} --iterations {VERIFY.iterations}"


@pytest.fixture
def make_cluster(engine, image, checkout):
    made = []

    def make(**kwargs) -> Cluster:
        cluster = Cluster(engine, image, checkout, **kwargs)
        made.append(cluster)
        cluster.start_scheduler()
        return cluster

    yield make
    for cluster in made:
        cluster.close()


@pytest.fixture(scope="module")
def shared(engine, image, checkout, tmp_path_factory):
    """Two good hosts and one at another commit, for the tests that leave the cluster as they found it."""
    cluster = Cluster(engine, image, checkout)
    try:
        cluster.start_scheduler()
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        other = snapshot(tmp_path_factory.mktemp("other"), extra_commit=True)
        cluster.start_worker("w3", checkout=other)
        yield cluster
    finally:
        cluster.close()


def finish(cluster: Cluster, container, timeout: float = 240) -> tuple[int, str]:
    import requests

    try:
        code = container.wait(timeout=timeout)["StatusCode"]
    except requests.exceptions.ConnectionError:
        others = "\n".join(f"--- {role}:\n{cluster.logs(role)[-1500:]}" for role in cluster.containers)
        raise AssertionError(
            f"still running after {timeout:g} s:\n{container.logs().decode()[-3000:]}\n{others}"
        ) from None
    return code, container.logs().decode("utf-8", "replace")


def wait_for(check, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"no {what} within {timeout:g} s")


def hanging_on(cluster: Cluster, hosts) -> list[str]:
    return [h for h in hosts if cluster.processes(h, HANG)]


def good_server_kept(run: dict) -> bool:
    good = [c for c in run["cases"] if c["impl"] == "fake/good" and c["workload"] == "http_server"]
    return bool(good) and {c["status"] for c in good} == {"ok"}


def reached(run: dict) -> list[dict]:
    """The cases a stopped run measured or began (the others are listed as `not_run`)."""
    return [c for c in run["cases"] if c["status"] != "not_run"]


def stopped_run_is_listed_whole(run: dict) -> None:
    """Every planned case is in run.json: measured, `interrupted` in the unit in flight, or `not_run`."""
    assert len(run["cases"]) == run["plan"]["cases"], run["plan"]
    assert {c["status"] for c in run["cases"] if c["workload"] == "ping_pong"} <= {"interrupted", "not_run"}


def cases(run_dir) -> dict:
    return {(c["impl"], c["workload"], c["case"]): c for c in json.loads((run_dir / "run.json").read_text())["cases"]}


def test_a_plan_runs_across_hosts_and_is_stored_as_a_local_run_is(shared, tmp_path):
    local = shared._run(
        "local",
        [
            "python3",
            "-m",
            "cmbench",
            "--root",
            "/cmbench/tests/fixtures/root",
            "run",
            *SMOKE,
            "--impl",
            FAULTY,
            "--out",
            "/out/local",
        ],
        out=tmp_path,
    )
    code, log = finish(shared, local)
    assert code == 1, log  # the faulty fixtures fail
    code, log = finish(shared, shared.controller(tmp_path, *SMOKE, "--impl", FAULTY, "--out", "/out/cluster"))
    assert code == 1, log
    assert "host w3 REFUSED" in log and "commit" in log.split("host w3 REFUSED")[1].splitlines()[0]
    assert "Traceback" not in log and (tmp_path / "cluster" / "dask.log").is_file()
    refused = json.loads((tmp_path / "cluster" / "run.json").read_text())["refused_hosts"]
    assert [(r["host"], r["role"]) for r in refused] == [("w3", "bench")] and "commit" in refused[0]["reason"]
    here, there = cases(tmp_path / "local"), cases(tmp_path / "cluster")
    assert {k: c["status"] for k, c in here.items()} == {k: c["status"] for k, c in there.items()}
    assert {c["status"] for c in there.values()} >= {
        "ok",
        "crashed",
        "verify_failed",
        "skipped",
        "build_failed",
        "unsupported",
    }
    measured = [c for c in there.values() if c["status"] not in ("unsupported", "skipped")]
    assert {c["host"] for c in measured} <= {"w1", "w2"} and len({c["host"] for c in measured}) == 2
    run = json.loads((tmp_path / "cluster" / "run.json").read_text())
    assert set(run["hosts"]) == {"w1", "w2"} and run["hosts"]["w1"]["hostname"] == "w1"
    assert run["status"] == "complete" and run["cluster"]["unit_overhead_seconds"]
    assert set(json.loads((tmp_path / "local" / "run.json").read_text())) <= set(run) | {"host"}
    for k, c in here.items():  # the same entry, field for field, but where and how long
        assert set(c) == set(there[k]), k

    def rows(folder):
        with open(folder / "results.csv") as f:
            return {
                (r["workload"], r["case"], r["impl"], r["metric"], r["process"], r["iteration"])
                for r in csv.DictReader(f)
            }

    assert rows(tmp_path / "local") == rows(tmp_path / "cluster") != set()
    assert sorted(b.get_name() for b in load_samples(tmp_path / "cluster")) == sorted(
        b.get_name() for b in load_samples(tmp_path / "local")
    )


def test_hosts_lists_the_fleet_and_a_taken_name_is_one_line(shared, tmp_path):
    bare = ["python3", "-m", "cmbench", "--root", "/cmbench/tests/fixtures/root"]
    code, log = finish(shared, shared._run("hosts", [*bare, "hosts", shared.address, "--json"]), timeout=90)
    assert code == 0, log
    hosts = {h["host"]: h for h in json.loads(log[log.index("{"):])["hosts"]}
    assert {h: hosts[h]["state"] for h in ("w1", "w2", "w3")} == {"w1": "ready", "w2": "ready", "w3": "refused"}
    assert "commit" in hosts["w3"]["why"] and hosts["w1"]["commit"] and hosts["w1"]["cpus"], hosts
    assert hosts["w1"]["toolchains"] and hosts["w1"]["role"] == "bench"
    code, log = finish(shared, shared._run("twin", [*bare, "worker", shared.address, "--name", "w1"]), timeout=60)
    assert code == 1 and "--name w1" in log and len(log.splitlines()) == 1, log


def test_ctrl_c_on_the_controller_stops_the_remote_processes(shared, tmp_path):
    controller = shared.controller(tmp_path, *hang_run(shared, tmp_path))
    wait_for(lambda: hanging_on(shared, ("w1", "w2")), "hanging process on a host")
    # a unit's cases are printed when the unit ends: one good server line means its whole unit is stored
    wait_for(lambda: re.search(r"http_server\[[^\]]*\] fake/good on", controller.logs().decode()),
             "finished good server")
    controller.kill(signal="SIGINT")
    code, log = finish(shared, controller, timeout=60)
    assert code == 130, log
    wait_for(lambda: not hanging_on(shared, ("w1", "w2")), "stop of the hanging process", timeout=15)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["status"] == "interrupted"
    assert good_server_kept(run) and {c["workload"] for c in reached(run)} <= {"http_server", "ping_pong"}
    stopped_run_is_listed_whole(run)
    for host in ("w1", "w2"):  # the hosts serve on
        shared.containers[host].reload()
        assert shared.containers[host].status == "running"


def test_a_host_dying_mid_unit_loses_it_to_one_retry_then_the_cases_are_lost(make_cluster, tmp_path):
    cluster = make_cluster()
    hosts = ("h1", "h2", "h3")
    for h in hosts:
        cluster.start_worker(h)
    controller = cluster.controller(tmp_path, *hang_run(cluster, tmp_path))
    first = wait_for(lambda: hanging_on(cluster, hosts), "hanging process")[0]
    cluster.kill(first)
    second = wait_for(lambda: hanging_on(cluster, [h for h in hosts if h != first]), "the retry")[0]
    cluster.kill(second)
    code, log = finish(cluster, controller, timeout=120)
    assert code == 1, log
    run = cases(tmp_path / "run")
    lost = run[("fake/hang", "ping_pong", "roundtrips=2000")]
    assert lost["status"] == "lost", lost
    assert f"host {first} went away" in lost["error"] and f"retried on host {second}" in lost["error"]
    assert (lost["host"], lost["lost_hosts"]) == (second, [first, second]), lost  # not the third, which stayed up
    assert run[("fake/good", "ping_pong", "roundtrips=2000")]["status"] == "lost"  # it shared the hanging unit
    assert good_server_kept(json.loads((tmp_path / "run" / "run.json").read_text()))
    last = next(h for h in hosts if h not in (first, second))
    wait_for(lambda: not hanging_on(cluster, [last]), "stop of the third attempt", timeout=15)


def test_the_scheduler_going_away_interrupts_the_run_and_keeps_what_finished(make_cluster, tmp_path):
    cluster = make_cluster()
    for h in ("s1", "s2"):
        cluster.start_worker(h)
    controller = cluster.controller(tmp_path, *hang_run(cluster, tmp_path))
    wait_for(lambda: hanging_on(cluster, ("s1", "s2")), "hanging process")
    wait_for(lambda: "fake/good on" in controller.logs().decode(), "finished good case")
    cluster.kill("scheduler")
    code, log = finish(cluster, controller, timeout=90)
    assert code == 1 and "lost the connection to the scheduler" in log, log
    assert "Traceback" not in log and "ERROR" not in log, log  # Dask's own lines went to dask.log
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["status"] == "interrupted" and "scheduler" in run["stopped"], log
    assert good_server_kept(run) and {c["workload"] for c in reached(run)} <= {"http_server", "ping_pong"}
    stopped_run_is_listed_whole(run)
    assert {c["error"] for c in run["cases"] if c["status"] == "not_run"} <= {
        f"the run stopped before it ({run['stopped']})"}
    for h in ("s1", "s2"):  # the workers stop their cases and exit
        cluster.containers[h].wait(timeout=60)
        assert "lost the scheduler" in cluster.logs(h)


def test_tls_end_to_end(make_cluster, tmp_path):
    cluster = make_cluster(tls=make_certificates(tmp_path / "tls"))
    assert cluster.address.startswith("tls://")
    cluster.start_worker("t1")
    code, log = finish(
        cluster,
        cluster.controller(
            tmp_path, "--profile", "smoke", "--workload", "ping_pong", "--impl", "fake/good", "--out", "/out/run"
        ),
    )
    assert code == 0, log
    assert [c["status"] for c in cases(tmp_path / "run").values()] == ["ok"]
    assert "tls://" in cluster.logs("scheduler")
    # mistakes: one line each, at once
    bare = ["python3", "-m", "cmbench", "--root", "/cmbench/tests/fixtures/root"]
    command = [*bare, "run", "--cluster", cluster.address, "--profile", "smoke"]
    code, log = finish(cluster, cluster._run("bare", command), timeout=30)
    assert code == 2 and "needs --tls-ca-file, --tls-cert and --tls-key" in log and len(log.splitlines()) == 1, log
    other = make_certificates(tmp_path / "other")
    cluster.tls = other  # a worker whose certificates come from another CA
    code, log = finish(cluster, cluster._run("stranger", [*bare, "worker", cluster.address, *cluster._tls_args()]),
                       timeout=30)
    assert code == 1 and "not signed by the CA of --tls-ca-file" in log and len(log.splitlines()) == 1, log
