"""The smoke profile is a smoke test: every workload and implementation variant, each in a case or two, fast."""

from __future__ import annotations

from collections import Counter

from harness.catalog import load_catalog
from harness.console import Console
from harness.engine.local import make_plan
from harness.executors.native import NativeExecutor
from harness.kinds.base import RunContext
from harness.kinds.server import kind as server_kind
from harness.kinds.server.cases import PRIMER_SECONDS
from harness.kinds.server.check import IDLE_HOLD
from harness.manifests.model import PROFILE_SHAPES

from ..conftest import PROJECT

CATALOG = load_catalog(PROJECT)


def _plan(profile: str, tmp_path):
    executor = NativeExecutor()
    impls, workloads = list(CATALOG.impls.values()), list(CATALOG.workloads.values())
    return make_plan(CATALOG, executor, impls, workloads, profile=profile, cpus=(0, 1), results=tmp_path / "none")


def test_smoke_exercises_everything_quick_does_in_a_case_or_two(tmp_path):
    smoke, quick = _plan("smoke", tmp_path), _plan("quick", tmp_path)
    pairs = {(s.workload, s.impl, s.variant) for s in smoke.cases if not s.status}
    quick_pairs = {(s.workload, s.impl, s.variant) for s in quick.cases if not s.status}
    # smoke checks every variant; quick leaves out those whose impl.toml lists other profiles only
    left_out = {(w, i, v) for w, i, v in pairs
                if not next(x for x in CATALOG.impls[i].variants if x.name == v).runs_in("quick")}
    assert {i + ":" + v for _, i, v in left_out} == {"python/asyncio:uvloop", "rust/tokio:current-thread"}
    assert pairs - left_out == quick_pairs
    per_unit = Counter((s.workload, s.impl, s.variant) for s in smoke.cases)
    for (workload, _, _), n in per_unit.items():  # a case per placement; worker_pool: pool and spawn mode
        placements = len(CATALOG.workloads[workload].placements) or 1
        assert n == {"http_server": 2, "worker_pool": 2 * placements}.get(workload, placements), (workload, n)
    assert {s.case for s in smoke.cases if s.workload == "http_server"} == {"closed,connections=16",
                                                                              "idle,connections=100"}
    assert not any(s.calibrate or s.pending for s in smoke.cases)  # sizes as written: nothing to calibrate
    shape = PROFILE_SHAPES["smoke"]
    assert (shape.processes, shape.warmups, shape.iterations, shape.precision) == (1, 1, 3, 0.0)
    assert all(w.shape_for("smoke") == shape for w in CATALOG.workloads.values() if w.kind == "batch")
    assert len(smoke.cases) < len(quick.cases)


def test_a_smoke_run_verifies_servers_with_a_short_idle_hold(monkeypatch):
    """Verification's 7 s idle keep-alive hold would cost every server 6 s of a smoke run, and of a quick run, whose
    closed-loop and pipelined phases each hold an idle connection through their loads instead; full and
    `cmbench verify` keep it."""
    held = []
    monkeypatch.setattr(server_kind, "verify_case", lambda setup, idle_hold=0.0: held.append(idle_hold) or [])
    workload, impl = CATALOG.workloads["http_server"], CATALOG.impls["go/goroutines"]
    for profile in ("smoke", "quick", "full", ""):  # "": `cmbench verify`, which runs no profile
        ctx = RunContext(CATALOG, NativeExecutor(), Console(), environment={"profile": profile} if profile else {})
        server_kind.ServerKind().verify(ctx, impl, impl.variants[0], workload, (0, 1))
    assert held == [workload.servers["smoke"].verify_idle_hold, workload.servers["quick"].verify_idle_hold, 0.0, 0.0]
    assert held[:2] == [1.0, 1.0]
    quick = workload.servers["quick"]  # what a closed-loop phase holds its idle connection through, past Node's 6 s
    assert PRIMER_SECONDS + quick.warmup + quick.repeats * quick.min_duration >= IDLE_HOLD
