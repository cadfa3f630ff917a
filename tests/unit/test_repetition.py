"""Repetitions that follow the variance, calibrated sizes in a run, and interleaved processes (fake executor)."""

import io
import json
from collections import Counter
from dataclasses import replace

import pytest

from harness.catalog import Catalog
from harness.console import Console
from harness.engine.local import make_plan, run_cases, run_plan
from harness.engine.recorder import _Progress
from harness.kinds import KINDS, result_from_dict
from harness.kinds.batch.kind import UNKNOWN_FLAG
from harness.kinds.batch.repetition import (
    BUDGET,
    CONVERGED,
    FIXED,
    MAX_PROCESSES,
    MODES,
    OUT_OF_REACH,
    SAMPLE_SHARE,
    TIME_LIMIT,
    as_interrupted,
    at_time_limit,
    cold,
    robust_half_width,
    sampled_enough,
    stop_reason,
    unconverged_flag,
    warming,
    warmups_after,
    wider,
)
from harness.manifests.model import PROFILE_SHAPES
from harness.measure.outcome import Iteration, ProcessRun
from harness.measure.process import Rusage
from harness.measure.stats import Components, Interval, median_ci, optimal_iterations, variance_components
from harness.plan.spec import CaseSpec, Plan
from tests.conftest import FakeExecutor, parse_args

# --- statistics ----------------------------------------------------------------------------------


def test_median_ci_is_deterministic_and_holds_the_median():
    groups = [[10.0, 10.1, 9.9, 10.2], [10.4, 10.5, 10.3], [9.8, 9.9, 10.0, 9.7, 9.9]]
    ci = median_ci(groups, seed=7)
    assert ci == median_ci(groups, seed=7)
    assert ci.low <= ci.median <= ci.high and ci.level == 0.95
    # each process weighs 1: the running weight reaches half exactly at 10.0, so halfway to 10.1
    assert ci.median == pytest.approx(10.05) and 0 < ci.half_width < 0.05


def test_differences_between_processes_widen_the_interval():
    within = [[1.0 + 0.01 * (k % 5) for k in range(10)] for _ in range(4)]
    shifted = [[v + 0.05 * p for v in g] for p, g in enumerate(within)]
    assert median_ci(shifted).half_width > 3 * median_ci(within).half_width


def test_variance_components_split_the_levels():
    assert variance_components([[1.0, 1.0, 1.0], [3.0, 3.0, 3.0]]) == Components(2.0, 0.0)
    parts = variance_components([[1.0, 3.0], [1.0, 3.0], [1.0, 3.0]])
    assert parts == Components(0.0, 2.0)
    assert variance_components([[5.0]]) == Components(0.0, 0.0)


@pytest.mark.parametrize("process, iteration, parts, expected", [
    (1.0, 0.1, Components(0.1, 1.0), 10),  # sqrt(1 x 1 / (0.1 x 0.1))
    (1.0, 0.1, Components(0.0, 1.0), 20),  # nothing differs between processes: as many as allowed
    (1.0, 0.1, Components(1.0, 0.0), 5),  # iterations never differ: as few as allowed
    (100.0, 0.1, Components(0.01, 1.0), 20),  # clamped to the maximum
])
def test_optimal_iterations(process, iteration, parts, expected):
    assert optimal_iterations(process, iteration, parts, 5, 20) == expected


def spec(**changes):
    base = CaseSpec(kind="batch", workload="w", case="c", impl="a/b", variant="default", language="a", model="b",
                    profile="quick", executor="fake", params={}, cpus=(0,), command=("x",), processes=3,
                    iterations=5, max_processes=10, max_iterations=20, budget=10.0, precision=0.02, reach=1.5)
    return replace(base, **changes)


@pytest.mark.parametrize("changes, half_width, processes, spent, next_cost, expected", [
    ({}, 0.01, 2, 1.0, 1.0, None),  # below the minimum processes
    ({}, 0.01, 3, 1.0, 1.0, CONVERGED),
    ({}, 0.05, 3, 1.0, 1.0, None),  # wide, with budget and processes left: another process
    ({}, 0.10, 4, 1.0, 1.0, OUT_OF_REACH),  # six more processes would leave it at ±6.3%, above 1.5 x 2%
    ({}, 0.10, 3, 1.0, 1.0, None),  # the same at three: a fourth first, the fewest that can show modes
    ({}, 0.05, 4, 7.0, 1.0, OUT_OF_REACH),  # three more would leave it at ±3.8%
    ({}, 0.05, 3, 7.0, 0.5, None),  # six more would bring it to ±2.9%: within reach
    ({}, 0.05, 3, 9.5, 1.0, BUDGET),
    ({}, 0.05, 10, 1.0, 1.0, MAX_PROCESSES),
    ({"budget": 0.0}, 0.05, 9, 1e6, 1.0, None),  # no budget: only the processes bound it
    ({"reach": 0.0}, 0.10, 3, 1.0, 1.0, None),  # no reach (the full profile): the budget is spent
    ({"precision": 0.0}, 0.5, 3, 1.0, 1.0, FIXED),
])
def test_stop_reason(changes, half_width, processes, spent, next_cost, expected):
    ci = Interval(1.0, 1.0 - half_width, 1.0 + half_width)
    assert stop_reason(spec(**changes), ci, processes, spent, next_cost) == expected


def test_most_processes_together_keep_a_case_within_reach():
    """One process of four far from the others widens the interval like four spread ones; the median absolute
    deviation tells them apart, and out_of_reach projects from the narrower of the two."""
    wide = Interval(1.0, 0.9, 1.1)
    together = robust_half_width([1.00, 1.01, 0.99, 1.25])
    spread = robust_half_width([0.85, 0.95, 1.05, 1.15])
    assert together < 0.02 < spread
    assert stop_reason(spec(), wide, 4, 1.0, 1.0) == OUT_OF_REACH
    assert stop_reason(spec(), wide, 4, 1.0, 1.0, robust=together) is None
    assert stop_reason(spec(), wide, 4, 1.0, 1.0, robust=spread) == OUT_OF_REACH
    assert stop_reason(spec(), wide, 4, 1.0, 1.0, robust=together, modal=True) == OUT_OF_REACH  # modes: their own
    assert stop_reason(spec(), wide, 10, 1.0, 1.0, robust=together) == MAX_PROCESSES
    assert robust_half_width([1.0]) is None


def test_a_case_with_one_far_process_runs_on_and_converges(twin_catalog, tmp_path):
    stored_sizes(twin_catalog, tmp_path)
    # each implementation's second measured process (after a verification of two and a baseline) 30% slower
    ex = ScalingExecutor(shifts=(1.0, 1.0, 1.0, 1.001, 1.3, 0.999, 1.002, 0.998, 1.0, 1.001, 0.999, 1.002, 1.0, 0.998),
                         start=0.01)
    for r in quick_run(twin_catalog, ex, tmp_path).results:
        assert r.status == "ok" and len(r.processes) > 4 and r.detail.stop == CONVERGED, (r.detail.stop, r.flags)


def test_a_case_with_modes_converges_on_its_modes():
    narrow, wide = Interval(1.0, 0.99, 1.01), Interval(1.0, 0.9, 1.1)
    assert stop_reason(spec(), narrow, 4, 1.0, 1.0, modal=True) == MODES
    assert stop_reason(spec(), wide, 4, 1.0, 1.0, modal=True) == OUT_OF_REACH
    assert stop_reason(spec(), wide, 10, 1.0, 1.0, modal=True) == MAX_PROCESSES


# --- runs with a fake executor --------------------------------------------------------------------


class ScalingExecutor(FakeExecutor):
    """The fake implementation, with iterations lasting `ns_per_op` x operations (per impl id) times a noise:
    `between` shifts every other process up and the others down (two modes), `shifts` each process by the
    next factor of its cycle, `within` every other iteration. A process's wall is `start` plus
    its iterations."""

    def __init__(self, ns_per_op=None, *, between=0.0, within=0.0, start=0.05, crash_above=None, shifts=()) -> None:
        super().__init__()
        self.ns_per_op = ns_per_op or {}
        self.between, self.within, self.start = between, within, start
        self.shifts = shifts  # instead of `between`: each process's factor, in turn
        self.crash_above = crash_above  # (impl id, size): that implementation crashes beyond that size

    def run(self, impl, variant, args, *, cpus, timeout):
        r = super().run(impl, variant, args, cpus=cpus, timeout=timeout)
        if UNKNOWN_FLAG[0] in args:  # verification's probe, refused
            return r
        workload, params, _, _ = parse_args(args)
        ops = params["roundtrips"] if workload == "ping_pong" else params["threads"] * params["increments"]
        if self.crash_above and impl.id == self.crash_above[0] and ops > self.crash_above[1]:
            return replace(r, returncode=-11, stdout="", stderr="segfault at this size\n")
        mine = sum(1 for c in self.calls if c[0] == impl.id)  # this implementation's processes so far
        shift = self.shifts[mine % len(self.shifts)] if self.shifts else 1 + self.between * (1 if mine % 2 else -1)
        lines, total = [], 0.0
        for k, line in enumerate(line for line in r.stdout.splitlines() if line):
            obj = json.loads(line)
            noise = shift * (1 + self.within * (1 if k % 2 else -1)) * self.line_factor(k)
            obj["elapsed_ns"] = max(1, round(self.ns_per_op.get(impl.id, 1000.0) * ops * noise))
            total += obj["elapsed_ns"] / 1e9
            lines.append(json.dumps(obj))
        return replace(r, stdout="".join(line + "\n" for line in lines), wall=self.start + total)

    def line_factor(self, k: int) -> float:
        """How much longer a process's `k`th line (warm-ups first) lasts than its steady level."""
        return 1.0


@pytest.fixture
def twin_catalog(fixture_catalog):
    """The fixture catalog with a second correct implementation, so that a unit holds two."""
    good = fixture_catalog.impls["fake/good"]
    return Catalog(fixture_catalog.root, fixture_catalog.workloads,
                   {**fixture_catalog.impls, "fake/twin": replace(good, id="fake/twin")})


def quick_run(catalog, executor, tmp_path, impls=("fake/good", "fake/twin"), workloads=("ping_pong",), name="run",
              **kw):
    with open(tmp_path / "console.txt", "a") as stream:
        return run_cases(catalog, executor, catalog.select_impls(impls), catalog.select_workloads(workloads),
                         profile="quick", cpus=(0,), out=tmp_path / name, console=Console(stream=stream), **kw)


def run_json(tmp_path, name="run"):
    return json.loads((tmp_path / name / "run.json").read_text())


def measured_calls(executor):
    """(impl, iterations) of every measured process of at least the quick minimum, in order."""
    least = PROFILE_SHAPES["quick"].iterations
    return [(impl, parse_args(args)[3]) for impl, _, args in executor.calls if parse_args(args)[3] >= least]


def searches(executor):
    """Sizes the size searches tried: the quick profile's processes of a case before its start-up baseline (its
    second process of no iteration: verification's is the first), 1 iteration each, or the case's own iterations
    to confirm."""
    warmups, found, idle = PROFILE_SHAPES["quick"].warmups, [], Counter()
    for impl, _, args in executor.calls:
        workload, params, warm, iterations = parse_args(args)
        if (warm, iterations) == (0, 0):
            idle[impl, workload] += 1
        elif warm == warmups and idle[impl, workload] < 2:
            found.append(params["roundtrips"])
    return found


def stored_sizes(catalog, tmp_path):
    """Sizes stored by a steady run first, so that a test's own run measures with no search."""
    quick_run(catalog, ScalingExecutor(within=0.002), tmp_path, name="sizes")


def test_a_unit_holds_every_implementation_of_a_case(twin_catalog, fake_executor):
    plan = make_plan(twin_catalog, fake_executor, twin_catalog.select_impls(["fake/good", "fake/twin"]),
                     twin_catalog.select_workloads(["ping_pong", "mutex_counter"]), profile="quick", cpus=(0,))
    units = KINDS["batch"].units(plan.cases)
    assert [[(s.workload, s.impl) for s in u] for u in units] == [
        [("ping_pong", "fake/good"), ("ping_pong", "fake/twin")],
        [("mutex_counter", "fake/good"), ("mutex_counter", "fake/twin")]]


def test_processes_of_a_unit_interleave_in_a_recorded_seeded_order(twin_catalog, tmp_path):
    quick_run(twin_catalog, ScalingExecutor(within=0.002), tmp_path, seed=11, name="sizes")  # stores the sizes
    first = ScalingExecutor(within=0.002)
    quick_run(twin_catalog, first, tmp_path, seed=11)
    data = run_json(tmp_path)
    assert data["seed"] == 11 and not searches(first)  # sizes stored: no search
    impls = [impl for impl, _ in measured_calls(first)]  # three processes each (they converge)
    assert sorted(impls) == ["fake/good"] * 3 + ["fake/twin"] * 3
    assert all(sorted(impls[i:i + 2]) == ["fake/good", "fake/twin"] for i in (0, 2, 4))  # one of each per round
    slots = {c["impl"]: c["extra"]["slots"] for c in data["cases"]}
    assert sorted(slots["fake/good"] + slots["fake/twin"]) == list(range(8))  # baselines, then 3 rounds of 2
    order = [impl for _, impl in sorted((s, impl) for impl, ss in slots.items() for s in ss)]
    assert order[2:] == impls
    again = ScalingExecutor(within=0.002)
    quick_run(twin_catalog, again, tmp_path, seed=11, name="again")
    assert measured_calls(again) == measured_calls(first)
    orders = set()
    for seed in range(8):
        ex = ScalingExecutor(within=0.002)
        quick_run(twin_catalog, ex, tmp_path, seed=seed, name=f"seed{seed}")
        orders.add(tuple(impl for impl, _ in measured_calls(ex)))
    assert len(orders) > 1


def unit_visits(executor):
    """The units (workload and case parameters) of the measured processes, consecutive ones of a unit as one visit."""
    visits = []
    for impl, _, args in executor.calls:
        workload, params, _, iterations = parse_args(args)
        if iterations < PROFILE_SHAPES["quick"].iterations:
            continue
        unit = (workload, tuple(sorted((k, v) for k, v in params.items() if k not in ("roundtrips", "increments"))))
        if not visits or visits[-1][0] != unit:
            visits.append((unit, []))
        visits[-1][1].append(impl)
    return visits


def test_a_run_takes_the_rounds_of_its_units_in_turn(twin_catalog, tmp_path):
    """Each unit's first round, then each unit's second, ...: a case's processes spread over the whole run."""
    workloads = ("ping_pong", "mutex_counter")
    quick_run(twin_catalog, ScalingExecutor(within=0.002), tmp_path, workloads=workloads, name="sizes")
    ex = ScalingExecutor(within=0.002)
    outcome = quick_run(twin_catalog, ex, tmp_path, workloads=workloads)
    assert all(r.status == "ok" for r in outcome.results)
    visits = unit_visits(ex)
    units = list(dict.fromkeys(unit for unit, _ in visits))
    assert len(units) == 2  # one case of each workload here
    rounds = {c["workload"]: c["processes"] for c in run_json(tmp_path)["cases"]}  # a process per round
    assert min(rounds.values()) >= PROFILE_SHAPES["quick"].processes
    expected = [unit for k in range(max(rounds.values())) for unit in units if rounds[unit[0]] > k]
    assert [unit for unit, _ in visits] == [u for i, u in enumerate(expected) if not i or expected[i - 1] != u]
    assert sorted(impl for _, impls in visits[:2] for impl in impls) == ["fake/good"] * 2 + ["fake/twin"] * 2


def test_a_unit_measured_alone_runs_to_its_end(twin_catalog, fake_executor, tmp_path):
    """A cluster host runs a unit from start to end: the kind's pauses (one before each round but the first) are
    not passed on."""
    from harness.engine.host import HostRun
    from harness.kinds.base import Pause, RunContext

    stored_sizes(twin_catalog, tmp_path)
    plan = make_plan(twin_catalog, fake_executor, twin_catalog.select_impls(["fake/good", "fake/twin"]),
                     twin_catalog.select_workloads(["ping_pong"]), profile="quick", cpus=(0,), results=tmp_path)
    ctx = RunContext(twin_catalog, ScalingExecutor(within=0.002), Console(stream=io.StringIO()),
                     fingerprint=plan.cases[0].calibrated_for)
    unit = KINDS["batch"].units(plan.cases)[0]
    items = list(KINDS["batch"].execute(ctx, unit))
    rounds = PROFILE_SHAPES["quick"].processes
    assert [isinstance(x, Pause) for x in items] == [True] * (rounds - 1) + [False, False]
    host = HostRun(ctx, (0,))
    host.prepare(plan, "here")
    alone = list(host.execute_unit(unit))
    assert len(alone) == 2 and all(m.result.status == "ok" and len(m.result.processes) == rounds for m in alone)


@pytest.mark.parametrize("spells, set_aside, flagged", [(2, 2, False), (100, 3, True)])
def test_processes_measured_in_a_slow_spell_of_the_host_are_set_aside(twin_catalog, fake_executor, tmp_path, spells,
                                                                       set_aside, flagged):
    """The rounds that start while the host's probes find it in a slow spell: their processes are set aside, at
    most MAX_SPELL per case, and later ones take their place; a case that had to keep some is flagged."""
    from harness.kinds.base import Pause, RunContext
    from harness.kinds.batch.repetition import MAX_SPELL

    stored_sizes(twin_catalog, tmp_path)
    plan = make_plan(twin_catalog, fake_executor, twin_catalog.select_impls(["fake/good", "fake/twin"]),
                     twin_catalog.select_workloads(["ping_pong"]), profile="quick", cpus=(0,), results=tmp_path)
    asked = []

    def host_spell():
        asked.append(len(asked) < spells)
        return asked[-1]
    ctx = RunContext(twin_catalog, ScalingExecutor(within=0.002), Console(stream=io.StringIO()),
                     fingerprint=plan.cases[0].calibrated_for, host_spell=host_spell)
    unit = KINDS["batch"].units(plan.cases)[0]
    results = [x for x in KINDS["batch"].execute(ctx, unit) if not isinstance(x, Pause)]
    assert len(results) == 2 and set_aside <= MAX_SPELL
    for r in results:
        assert r.status == "ok" and r.detail.spell == set_aside
        assert len(r.processes) >= PROFILE_SHAPES["quick"].processes
        assert r.detail.to_dict()["spell"] == set_aside
        busy = [f for f in r.flags if f.startswith("host busy")]
        assert bool(busy) is flagged
        if flagged:
            assert f"of its {len(r.processes)} processes ran while the host's own hand-off probes" in busy[0]


def test_a_search_keeps_the_processes_that_confirmed_the_size(twin_catalog, tmp_path):
    """The confirming processes run the case's warm-ups and iterations at its size: a first run keeps them as the
    case's first processes (here they converge, so no other process runs)."""
    ex = ScalingExecutor(within=0.002)
    quick_run(twin_catalog, ex, tmp_path)
    least = PROFILE_SHAPES["quick"].iterations
    for case in run_json(tmp_path)["cases"]:
        size = case["params"]["roundtrips"]
        runs = [args for impl, _, args in ex.calls if impl == case["impl"]]
        confirming = [a for a in runs if parse_args(a)[3] == least and parse_args(a)[1]["roundtrips"] == size]
        assert case["processes"] == len(confirming) == 3 and case["extra"]["calibrated"] == "run"
        assert case["extra"]["stop"] == "converged"
        assert len(case["extra"]["slots"]) == 4  # the baseline's and the three kept processes'


def test_a_size_is_calibrated_once_per_environment_and_reused(twin_catalog, tmp_path, capsys):
    speeds = {"fake/good": 20_000.0, "fake/twin": 2_000.0}  # 20 us and 2 us per round trip
    ex = ScalingExecutor(speeds)
    outcome = quick_run(twin_catalog, ex, tmp_path)
    sizes = {r.key.impl: r.params["roundtrips"] for r in outcome.results}
    assert sizes == {"fake/good": 2500, "fake/twin": 25000}  # 0.05 s per iteration, the quick target
    data = run_json(tmp_path)
    for case in data["cases"]:
        assert case["case"] == "roundtrips=5000"  # the profile's label, whatever size ran
        assert case["spec"]["params"]["roundtrips"] == case["params"]["roundtrips"]
        assert str(case["params"]["roundtrips"]) in case["command"]
        assert case["spec"]["calibrated_for"] == data["environment_fingerprint"]
        assert case["extra"]["calibrated"] == "run" and case["extra"]["calibration"]["steps"]
    stored = json.loads((tmp_path / "calibration.json").read_text())
    assert set(stored["environments"]) == {data["environment_fingerprint"]}

    plan = make_plan(twin_catalog, ex, twin_catalog.select_impls(["fake/good"]),
                     twin_catalog.select_workloads(["ping_pong"]), profile="quick", cpus=(0,), results=tmp_path)
    assert plan.cases[0].params["roundtrips"] == 2500 and "2500" in plan.cases[0].command
    assert not plan.cases[0].pending
    from harness.plan.table import plan_table

    assert "roundtrips=2500 (calibrated)" in plan_table(plan)

    # x64 at most, x2 at least; each size confirmed by three processes
    assert sorted(searches(ex)) == sorted([100, 1250] + [2500] * 3 + [100, 6400, 12800] + [25000] * 3)
    second = ScalingExecutor(speeds)
    quick_run(twin_catalog, second, tmp_path, name="second")
    assert not searches(second)
    assert {c["extra"]["calibrated"] for c in run_json(tmp_path, "second")["cases"]} == {"stored"}

    third = ScalingExecutor(speeds)
    quick_run(twin_catalog, third, tmp_path, name="third", recalibrate=True)
    assert searches(third)
    assert {c["extra"]["calibrated"] for c in run_json(tmp_path, "third")["cases"]} == {"run"}


def test_a_damaged_calibration_file_is_moved_aside_and_the_run_calibrates_again(twin_catalog, tmp_path, capsys):
    speeds = {"fake/good": 20_000.0, "fake/twin": 2_000.0}
    quick_run(twin_catalog, ScalingExecutor(speeds), tmp_path)
    path = tmp_path / "calibration.json"
    damaged = path.read_bytes()[:-40]  # cut short, as a full disk leaves it
    path.write_bytes(damaged)
    capsys.readouterr()
    ex = ScalingExecutor(speeds)
    outcome = quick_run(twin_catalog, ex, tmp_path, name="again")
    assert {r.key.impl: r.params["roundtrips"] for r in outcome.results} == {"fake/good": 2500, "fake/twin": 25000}
    assert searches(ex) and {c["extra"]["calibrated"] for c in run_json(tmp_path, "again")["cases"]} == {"run"}
    [aside] = tmp_path.glob("calibration.json.corrupt-*")
    [warning] = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]  # once, not per case
    assert warning.startswith(f"cmbench: warning: {path}: not a calibration file (")
    assert warning.endswith(f"; moved aside to {aside}, sizes calibrate again") and aside.read_bytes() == damaged
    assert len(json.loads(path.read_text())["environments"]) == 1  # the new sizes stored


def test_sizes_stay_within_the_verify_size_and_ten_times_the_written_one(twin_catalog, tmp_path):
    outcome = quick_run(twin_catalog, ScalingExecutor({"fake/good": 10.0, "fake/twin": 1e7}), tmp_path)
    assert {r.key.impl: r.params["roundtrips"] for r in outcome.results} == {"fake/good": 50000, "fake/twin": 100}


def test_another_environment_calibrates_again(fixture_catalog, tmp_path):
    quick_run(fixture_catalog, ScalingExecutor(), tmp_path, impls=["fake/good"])
    with open(tmp_path / "console.txt", "a") as stream:
        run_cases(fixture_catalog, ScalingExecutor(), fixture_catalog.select_impls(["fake/good"]),
                  fixture_catalog.select_workloads(["ping_pong"]), profile="full", cpus=(0,), out=tmp_path / "full",
                  console=Console(stream=stream))
    assert len(json.loads((tmp_path / "calibration.json").read_text())["environments"]) == 2
    assert run_json(tmp_path, "full")["cases"][0]["extra"]["calibrated"] == "run"


def test_a_saved_plan_with_a_stored_size_still_matches(fixture_catalog, tmp_path):
    from harness.engine.local import check_plan

    ex = ScalingExecutor()
    pending = make_plan(fixture_catalog, ex, fixture_catalog.select_impls(["fake/good"]),
                        fixture_catalog.select_workloads(["ping_pong"]), profile="quick", cpus=(0,), results=tmp_path)
    assert pending.cases[0].pending and "{roundtrips}" in pending.cases[0].command
    quick_run(fixture_catalog, ex, tmp_path, impls=["fake/good"])
    check_plan(Plan.from_dict(json.loads(pending.dumps()), "plan"), fixture_catalog, ex)  # no error


def test_stable_cases_converge_at_the_minimum(twin_catalog, tmp_path):
    outcome = quick_run(twin_catalog, ScalingExecutor(within=0.002), tmp_path)
    for r in outcome.results:
        assert r.status == "ok" and len(r.processes) == 3 and not r.flags
        assert r.detail.stop == CONVERGED and r.detail.ci.half_width <= 0.02


def test_noisy_cases_run_more_processes_until_the_maximum_and_say_so(twin_catalog, tmp_path):
    stored_sizes(twin_catalog, tmp_path)
    outcome = quick_run(twin_catalog, ScalingExecutor(between=0.03, start=0.01), tmp_path)
    for r in outcome.results:
        assert r.status == "ok" and len(r.processes) == 10 and r.detail.stop == MAX_PROCESSES
        assert r.flags and r.flags[0].startswith("unconverged: 95% CI of the median ±3.0%")
        # no variance within a process: later processes run as few iterations as allowed
        assert [len(p.measured) for p in r.processes] == [5] * 10


def test_a_case_its_budget_cannot_bring_near_the_precision_stops_at_four_processes(twin_catalog, tmp_path):
    outcome = quick_run(twin_catalog, ScalingExecutor(shifts=(0.8, 1.0, 1.2, 0.9, 1.1), start=0.01), tmp_path)
    for r in outcome.results:  # ±15% after four processes, spread rather than grouped: no modes
        assert r.status == "ok" and len(r.processes) == 4 and r.detail.stop == OUT_OF_REACH
        assert not r.detail.multimodal and r.detail.modes.n == 4
        assert r.flags[0].startswith("unconverged: 95% CI of the median ±"), r.flags
        assert r.flags[0].endswith("could not narrow it that far")


def test_a_case_whose_processes_fall_into_two_modes_stops_on_its_modes(twin_catalog, tmp_path):
    stored_sizes(twin_catalog, tmp_path)
    outcome = quick_run(twin_catalog, ScalingExecutor(between=0.5, start=0.01), tmp_path)
    for r in outcome.results:  # every other process takes three times as long: the median is a coin toss
        assert r.status == "ok" and len(r.processes) == 4 and r.detail.stop == MODES
        modes = r.detail.modes.modes
        assert [m.share for m in modes] == [0.5, 0.5] and modes[1].location == pytest.approx(3 * modes[0].location)
        assert r.flags == (r.detail.modes.flag(),) and r.flags[0].startswith("modes: 2 (50% at ")
        assert r.detail.ci.half_width > 0.3  # the median's own interval spans both modes
    stored = run_json(tmp_path)["cases"][0]["extra"]
    assert stored["stop"] == "modes" and [m["n"] for m in stored["modes"]["modes"]] == [2, 2]
    assert "modes: 2 (50% at" in (tmp_path / "console.txt").read_text()


def test_modes_still_unsettled_at_the_limit_say_both(twin_catalog, tmp_path):
    stored_sizes(twin_catalog, tmp_path)
    shifts = (0.7, 1.3, 0.74, 1.38)  # two modes, each spread by about 6%
    outcome = quick_run(twin_catalog, ScalingExecutor(shifts=shifts, start=0.5), tmp_path)
    for r in outcome.results:
        assert r.detail.multimodal and r.detail.stop in ("budget", "out_of_reach", "max_processes")
        assert r.flags[0].startswith("modes: 2 (") and "the widest mode's 95% CI ±" in r.flags[0]
        assert "unconverged" not in r.flags[0]


class Interrupting(ScalingExecutor):
    """Ctrl-C while the `at`-th measured process (of the quick profile's iterations at least) runs."""

    def __init__(self, at: int, **kw) -> None:
        super().__init__(**kw)
        self.at, self.measured = at, 0

    def run(self, impl, variant, args, *, cpus, timeout):
        if parse_args(args)[3] >= PROFILE_SHAPES["quick"].iterations:
            self.measured += 1
            if self.measured == self.at:
                raise KeyboardInterrupt
        return super().run(impl, variant, args, cpus=cpus, timeout=timeout)


@pytest.mark.parametrize("between, at, ping_pong", [
    # two units (ping_pong, mutex_counter) of two implementations, one round each per visit: the 11th process
    # is the first of mutex_counter's third round, when ping_pong's cases have three processes each
    (0.002, 11, (3, CONVERGED)),  # converged at three, though not yet judged so
    (0.2, 11, (3, "interrupted")),  # three wide ones: a figure, unconverged
    (0.002, 7, (2, "interrupted")),  # two, of the three it needs: never converged, however narrow
])
def test_an_interrupted_run_keeps_what_the_cases_under_way_measured(twin_catalog, tmp_path, between, at, ping_pong):
    """Ctrl-C stops a run whose units take their rounds in turn: the cases still measuring (those of the unit
    that was running and of the paused ones) are stored as they stand, not lost."""
    workloads = ("ping_pong", "mutex_counter")
    quick_run(twin_catalog, ScalingExecutor(within=0.002), tmp_path, workloads=workloads, name="sizes")
    outcome = quick_run(twin_catalog, Interrupting(at, between=between, start=0.01), tmp_path, workloads=workloads)
    assert outcome.interrupted
    data = run_json(tmp_path)
    assert data["status"] == "interrupted" and len(data["cases"]) == 4  # every case of both units
    for c in data["cases"]:
        if c["workload"] == "mutex_counter":  # its short iterations set its first process aside (cold)
            assert c["status"] == "interrupted" or c["extra"]["stop"] == "interrupted", c
            if c["status"] == "interrupted":
                continue
        assert c["status"] == "ok", c
        processes, stop = ping_pong if c["workload"] == "ping_pong" else (c["processes"], "interrupted")
        assert c["processes"] == processes and c["extra"]["stop"] == stop, c
        assert (c["flags"] == []) == (stop == CONVERGED), c["flags"]
        if stop == "interrupted":
            assert c["flags"][0].startswith(f"unconverged: the run was interrupted while it measured, after "
                                            f"{processes} of its processes (at least 3 asked)"), c["flags"]
    walls = sum(1 for line in (tmp_path / "run" / "results.csv").read_text().splitlines() if ",wall_time," in line)
    assert walls >= 5 * sum(c["processes"] for c in data["cases"])  # every measured iteration of them is stored


def test_a_case_interrupted_before_its_first_process_has_no_figure(twin_catalog, tmp_path):
    quick_run(twin_catalog, ScalingExecutor(within=0.002), tmp_path, name="sizes")
    outcome = quick_run(twin_catalog, Interrupting(1, within=0.002), tmp_path)
    assert outcome.interrupted
    cases = run_json(tmp_path)["cases"]
    assert sorted(c["status"] for c in cases) == ["interrupted", "interrupted"] and cases[0]["processes"] == 0
    assert cases[0]["error"] == "the run was interrupted before the case measured a process"


def test_an_interrupted_run_lists_the_cases_it_did_not_begin(twin_catalog, tmp_path):
    """A signal in the first unit's first process: the later unit never began, and its cases are `not_run`."""
    workloads = ("ping_pong", "mutex_counter")
    quick_run(twin_catalog, ScalingExecutor(within=0.002), tmp_path, workloads=workloads, name="sizes")
    outcome = quick_run(twin_catalog, Interrupting(1, within=0.002), tmp_path, workloads=workloads)
    assert outcome.interrupted
    cases = {(c["workload"], c["impl"], c["variant"]): c for c in run_json(tmp_path)["cases"]}
    assert len(cases) == 4, cases
    statuses = {w: {c["status"] for k, c in cases.items() if k[0] == w} for w in workloads}
    assert statuses == {"ping_pong": {"interrupted"}, "mutex_counter": {"not_run"}}, cases
    errors = {c["error"] for c in cases.values() if c["status"] == "not_run"}
    assert errors == {"the run stopped before it (interrupted)"}
    assert not [r for r in outcome.results if r.status == "not_run"]  # run.json only, not the terminal's tables


def test_a_signal_while_a_case_is_stored_keeps_the_cases_under_way(twin_catalog, tmp_path, monkeypatch):
    """Ctrl-C can land in the runner, not in a process: while the first finished case is being printed. The paused
    units then hand back their cases as they stand all the same."""
    workloads = ("ping_pong", "mutex_counter")
    quick_run(twin_catalog, ScalingExecutor(within=0.002), tmp_path, workloads=workloads, name="sizes")
    shown, signals = Console.case_done, [KeyboardInterrupt]  # one signal: later ones only say so (Interrupts)

    def cut(self, *args, **kw):
        shown(self, *args, **kw)
        if signals:
            raise signals.pop()

    monkeypatch.setattr(Console, "case_done", cut)
    outcome = quick_run(twin_catalog, ScalingExecutor(between=0.2, start=0.01), tmp_path, workloads=workloads)
    assert outcome.interrupted
    cases = run_json(tmp_path)["cases"]
    assert len(cases) == 4 and {c["status"] for c in cases} == {"ok"}, cases
    assert {c["extra"]["stop"] for c in cases} <= {CONVERGED, OUT_OF_REACH, "interrupted"}
    assert "interrupted" in {c["extra"]["stop"] for c in cases}


def test_a_spent_budget_stops_an_unconverged_case(twin_catalog, tmp_path):
    outcome = quick_run(twin_catalog, ScalingExecutor(between=0.2, start=3.0), tmp_path)
    for r in outcome.results:
        assert len(r.processes) == 3 and r.detail.stop == BUDGET  # baseline + 3 x 3.5 s > the 5 s budget
        assert "its 5 s budget was spent" in r.flags[0]


def test_iterations_follow_the_variance_within_processes(twin_catalog, tmp_path):
    stored_sizes(twin_catalog, tmp_path)
    outcome = quick_run(twin_catalog, ScalingExecutor(within=0.03, start=0.5), tmp_path)
    for r in outcome.results:
        counts = [len(p.measured) for p in r.processes]
        # the third process runs the most iterations allowed; the last only what the budget still holds
        assert counts == [5, 5, 20, 12] and r.detail.stop == BUDGET


def test_a_failure_excludes_only_that_implementation(fixture_catalog, tmp_path):
    impls = ["fake/good", "fake/wrong", "fake/crash"]
    outcome = quick_run(fixture_catalog, ScalingExecutor(crash_above=("fake/twin", 1000)), tmp_path,
                        impls=impls)
    by_impl = {r.key.impl: r for r in outcome.results}
    assert by_impl["fake/good"].status == "ok"
    assert by_impl["fake/wrong"].status == "verify_failed" and by_impl["fake/wrong"].error.startswith("verify")
    assert by_impl["fake/crash"].status == "crashed"


class CrashingTwin(ScalingExecutor):
    """fake/twin segfaults in its start-up run (no iteration), or in its `nth` process that measures."""

    def __init__(self, *, startup=False, nth=0, **kw):
        super().__init__(**kw)
        self.startup, self.nth, self.measuring = startup, nth, 0

    def run(self, impl, variant, args, *, cpus, timeout):
        r = super().run(impl, variant, args, cpus=cpus, timeout=timeout)
        if UNKNOWN_FLAG[0] in args:
            return r
        iterations = parse_args(args)[3]
        self.measuring += impl.id == "fake/twin" and iterations > 0
        if impl.id == "fake/twin" and ((self.startup and not iterations) or self.measuring == self.nth):
            return replace(r, returncode=-11, stdout="", stderr="segfault\n")
        return r


def test_a_crash_says_which_process_of_the_case_it_was(twin_catalog, tmp_path):
    stored_sizes(twin_catalog, tmp_path)
    startup = quick_run(twin_catalog, CrashingTwin(startup=True), tmp_path, name="startup")
    crash = {r.key.impl: r for r in startup.results}["fake/twin"]
    assert crash.status == "crashed"
    assert "its start-up run (--warmups 0 --iterations 0): killed by signal 11" in crash.error, crash.error
    later = quick_run(twin_catalog, CrashingTwin(nth=5, within=0.2), tmp_path, name="later")  # verify, then 3 ok
    crash = {r.key.impl: r for r in later.results}["fake/twin"]
    assert crash.status == "crashed" and not crash.processes
    assert crash.error.startswith("process 4, after 3 that measured: killed by signal 11"), crash.error


def test_a_failure_while_sizing_fails_that_case_at_that_size(twin_catalog, tmp_path):
    outcome = quick_run(twin_catalog, ScalingExecutor(crash_above=("fake/twin", 1000)), tmp_path)
    by_impl = {r.key.impl: r for r in outcome.results}
    assert by_impl["fake/good"].status == "ok"
    crash = by_impl["fake/twin"]  # verification (100 round trips) passed; the second size search attempt crashed
    assert crash.status == "crashed" and crash.error.startswith("calibrating roundtrips=6400: killed by signal 11")
    # the second attempt: 100 round trips lasted 0.1 ms, so the search grew x64
    stored = {c["impl"]: c for c in run_json(tmp_path)["cases"]}
    assert stored["fake/twin"]["params"]["roundtrips"] == 6400 and "6400" in stored["fake/twin"]["command"]


def test_a_batch_result_with_detail_round_trips(twin_catalog, tmp_path):
    outcome = quick_run(twin_catalog, ScalingExecutor(within=0.01), tmp_path)
    for r in outcome.results:
        assert result_from_dict(json.loads(json.dumps(r.to_dict()))) == r


def test_a_batch_detail_written_before_modes_were_looked_for_still_loads(twin_catalog, tmp_path):
    outcome = quick_run(twin_catalog, ScalingExecutor(within=0.01), tmp_path)
    stored = outcome.results[0].detail.to_dict()
    assert stored["modes"]["modes"][0]["share"] == 1.0  # looked for, and one group found
    del stored["modes"]
    old = KINDS["batch"].read_detail(json.loads(json.dumps(stored)))
    assert old.modes is None and not old.multimodal and old.stop == CONVERGED


def test_smoke_stays_fixed(fixture_catalog, tmp_path):
    with open(tmp_path / "console.txt", "a") as stream:
        outcome = run_cases(fixture_catalog, ScalingExecutor(between=0.3), fixture_catalog.select_impls(["fake/good"]),
                            fixture_catalog.select_workloads(["ping_pong"]), profile="smoke", cpus=(0,),
                            out=tmp_path / "run", console=Console(stream=stream))
    r = outcome.results[0]
    assert r.params["roundtrips"] == 2000 and len(r.processes) == 1 and r.detail.stop == FIXED and not r.flags
    assert not (tmp_path / "calibration.json").exists()


def test_progress_eta_follows_the_finished_cases(fixture_catalog, fake_executor):
    plan = make_plan(fixture_catalog, fake_executor, fixture_catalog.select_impls(["fake/good"]),
                     fixture_catalog.select_workloads(["ping_pong"]), profile="quick", cpus=(0,))
    case = replace(plan.cases[0], estimate=10.0)
    plan = Plan("quick", "fake", (0,), (case,) * 10)
    fast, slow = _Progress(plan, Console()), _Progress(plan, Console())
    assert fast.eta(case, 10.0) == "about 1 min 30 s left"  # on time: 9 cases of 10 s left
    fast_eta = [fast.eta(case, 2.0) for _ in range(4)][-1]
    slow_eta = [slow.eta(case, 30.0) for _ in range(5)][-1]
    assert fast_eta == "about 23 s left" and slow_eta == "about 2 min 13 s left"  # (150 + 10) / (50 + 10) x 50
    assert slow.eta(case, 30.0) != "" and _Progress(plan, Console()).eta(replace(case, estimate=100.0), 1.0) == ""


def test_run_plan_records_the_seed_it_chose(fixture_catalog, tmp_path):
    ex = ScalingExecutor()
    plan = make_plan(fixture_catalog, ex, fixture_catalog.select_impls(["fake/good"]),
                     fixture_catalog.select_workloads(["ping_pong"]), profile="quick", cpus=(0,), results=tmp_path)
    with open(tmp_path / "console.txt", "a") as stream:
        run_plan(plan, fixture_catalog, ex, out=tmp_path / "run", console=Console(stream=stream))
    data = run_json(tmp_path)
    assert isinstance(data["seed"], int) and data["cases"][0]["extra"]["seed"] == data["seed"]


def test_slow_iterations_are_cut_to_fit_the_budget(fixture_catalog, tmp_path):
    # mutex_counter is not calibrated in the fixture: 2 x 5000 increments at 100 us each is a 1 s iteration
    # (processes alternately 20% below and above, so that three of them do not converge)
    ex = ScalingExecutor({"fake/good": 100_000.0}, within=0.2, between=0.2)
    outcome = quick_run(fixture_catalog, ex, tmp_path, impls=["fake/good"], workloads=["mutex_counter"])
    r = outcome.results[0]
    assert [len(p.measured) for p in r.processes] == [5, 1, 1]  # the first took 5.6 to 8.4 s of the 5 s budget
    assert r.detail.stop == BUDGET and r.flags


def test_a_process_that_is_mostly_its_start_keeps_its_iterations(fixture_catalog, tmp_path):
    # 50 ms iterations (2 x 5000 increments at 5 us each) in processes that take 3 s to start: the budget left
    # after the first cannot pay for the second's start, and measuring fewer iterations would save little
    ex = ScalingExecutor({"fake/good": 5000.0}, within=0.2, between=0.2, start=3.0)
    r = quick_run(fixture_catalog, ex, tmp_path, impls=["fake/good"], workloads=["mutex_counter"]).results[0]
    assert len(r.processes) == 3 and all(len(p.measured) >= 5 for p in r.processes)


def test_a_saved_plan_calibrates_at_run_time_and_stores_the_size_beside_the_run(fixture_root, tmp_path, capsys):
    from cmbench.cli import main

    assert main(["--root", str(fixture_root), "plan", "--impl", "fake/good", "--workload", "ping_pong",
                 "--profile", "quick", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["schema"] == 5 and "{roundtrips}" in plan["cases"][0]["command"]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    assert main(["--root", str(fixture_root), "run", "--plan", str(path), "--out", str(tmp_path / "run"),
                 "--seed", "4"]) == 0
    case = run_json(tmp_path)["cases"][0]
    size = case["params"]["roundtrips"]
    assert isinstance(size, int) and str(size) in case["command"] and "{roundtrips}" not in case["command"]
    assert run_json(tmp_path)["seed"] == 4 and case["extra"]["calibrated"] == "run"
    stored = json.loads((tmp_path / "calibration.json").read_text())
    assert [s["value"] for e in stored["environments"].values() for s in e["sizes"].values()] == [size]


def warmups_run(executor, impl="fake/good"):
    """The warm-ups of each process of `impl` that measured iterations, in order."""
    return [parse_args(args)[2] for i, _, args in executor.calls if i == impl and parse_args(args)[3]]


def test_short_iterations_warm_up_for_the_profile_s_warm_up_time(fixture_catalog, tmp_path):
    # mutex_counter is not calibrated in the fixture: 2 x 5000 increments at 40 ns each is a 0.4 ms iteration,
    # and two warm-ups of it are no warm-up: the first process is set aside, the others warm up for 0.1 s
    ex = ScalingExecutor({"fake/good": 40.0})
    outcome = quick_run(fixture_catalog, ex, tmp_path, impls=["fake/good"], workloads=["mutex_counter"])
    r = outcome.results[0]
    assert r.status == "ok" and r.detail.cold == 1 and r.detail.stop == CONVERGED
    kept = len(r.processes)  # cheap processes: more than three sample a fifth of the budget (next test)
    assert kept > 3 and [sum(it.warmup for it in p.iterations) for p in r.processes] == [250] * kept
    assert warmups_run(ex)[1:] == [2] + [250] * kept  # after verification's process
    assert len(r.detail.slots) == kept + 1  # the baseline and the processes kept
    assert run_json(tmp_path)["cases"][0]["extra"]["cold"] == 1


class WarmingExecutor(ScalingExecutor):
    """A JIT: every line of a process before its `compiled`th (warm-ups first) lasts `slower` times as long."""

    def __init__(self, ns_per_op, compiled, slower=3.0) -> None:
        super().__init__(ns_per_op)
        self.compiled, self.slower = compiled, slower

    def line_factor(self, k: int) -> float:
        return self.slower if k < self.compiled else 1.0


def test_a_process_still_speeding_up_is_cold_and_later_ones_warm_up_for_twice_its_iterations(fixture_catalog,
                                                                                          tmp_path):
    # 50 ms iterations (2 x 5000 increments at 5 us each), warm-ups long enough by the clock; but the code runs
    # three times slower for its first four lines, so the first process's measured iterations speed up half way
    ex = WarmingExecutor({"fake/good": 5000.0}, compiled=4)
    r = quick_run(fixture_catalog, ex, tmp_path, impls=["fake/good"], workloads=["mutex_counter"]).results[0]
    assert r.status == "ok" and r.detail.cold == 1
    assert warmups_run(ex)[1:3] == [2, 14]  # after verification's process: 2 x its 7 iterations
    assert {round(it.elapsed, 4) for p in r.processes for it in p.measured} == {0.05}  # steady only
    assert not any(warming(p) for p in r.processes)


def test_a_size_search_s_confirmations_still_warming_are_set_aside_as_one(fixture_catalog, tmp_path):
    # ping_pong is calibrated: its search's last three processes confirm the size, each run with the profile's two
    # warm-ups and each still speeding up; the first is set aside as cold, the other two ran as few warm-ups and go
    # with it (the case may set aside one more cold process of its own)
    ex = WarmingExecutor({"fake/good": 1000.0}, compiled=4)
    r = quick_run(fixture_catalog, ex, tmp_path, impls=["fake/good"]).results[0]
    assert r.status == "ok" and r.detail.calibrated == "run" and r.detail.cold == 1
    assert all(sum(it.warmup for it in p.iterations) == 14 and not warming(p) for p in r.processes)


def process(*ms, warmups=0):
    """A process whose measured iterations last `ms` milliseconds, after `warmups` as long as its first."""
    its = [Iteration(k, True, ms[0] / 1e3, {}) for k in range(warmups)]
    return ProcessRun(tuple(its + [Iteration(warmups + k, False, m / 1e3, {}) for k, m in enumerate(ms)]),
                      None, 1.0, 0, 0.0)


def test_only_a_process_whose_iterations_fall_by_the_ratio_is_warming():
    assert warming(process(117, 58, 41, 36, 28))  # a JVM's ping_pong after two warm-ups (repetition.py)
    assert warming(process(192, 38, 37, 38, 39))  # one slow first iteration of five: the halves' medians
    assert not warming(process(4.0, 3.0, 4.0, 3.0, 4.0))  # noise, however wide
    assert not warming(process(25, 12, 12))  # too few to tell
    assert not warming(process(10, 11, 13, 14))  # slowing down is not warming up


def test_a_rare_fast_mode_does_not_ask_a_cold_process_s_successors_for_more_warm_ups_than_the_budget_holds():
    def warmed(*ms):
        return process(*ms, warmups=2)
    quick = spec(warmups=2, warmup_seconds=0.1, budget=5.0)
    # a sleeping hand-off's 0.66 s iterations and one spinning one of 0.5 ms: 200 warm-ups by the fastest, of 0.66 s
    assert warmups_after(replace(quick, budget=0.0), warmed(660, 0.5, 660, 700, 650)) == 200  # no budget: no cap
    assert warmups_after(quick, warmed(660, 0.5, 660, 700, 650)) == 2  # 5 s / 3 processes fits two of 0.66 s
    # a JIT still warming (117 ... 28 ms): twice its 7 iterations, which a third of the budget holds
    assert warmups_after(quick, warmed(117, 58, 41, 36, 28)) == 14
    assert warmups_after(quick, warmed(1170, 580, 410, 360, 280)) == 4  # ten times as slow: 1.67 s / 0.41 s


def test_cheap_processes_sample_a_fifth_of_the_budget_before_they_converge(fixture_catalog, tmp_path):
    # 0.4 ms iterations (as above): a process takes about 0.16 s, three agree at once but take a tenth of the budget
    cheap = quick_run(fixture_catalog, ScalingExecutor({"fake/good": 40.0}), tmp_path, impls=["fake/good"],
                      workloads=["mutex_counter"], name="cheap")
    r = cheap.results[0]
    walls = [p.wall for p in r.processes]
    assert r.detail.stop == CONVERGED and len(walls) > 3, (r.detail.stop, walls)
    assert sum(walls[:-1]) < SAMPLE_SHARE * 5.0 <= sum(walls) + 0.5  # stopped at the first process past a fifth
    # 0.5 s more a process: three take more than a fifth of the budget, and the minimum is enough
    dear = quick_run(fixture_catalog, ScalingExecutor({"fake/good": 40.0}, start=0.5), tmp_path, impls=["fake/good"],
                     workloads=["mutex_counter"], name="dear")
    assert [(len(r.processes), r.detail.stop) for r in dear.results] == [(3, CONVERGED)]


def test_cheap_processes_that_spread_sample_a_fifth_of_the_budget_before_they_give_up(fixture_catalog, tmp_path):
    # processes spread evenly over ±15%, no modes: four look out of reach, but cost a few tenths of a second
    ex = ScalingExecutor({"fake/good": 40.0}, shifts=(0.85, 1.15, 0.95, 1.05))
    r = quick_run(fixture_catalog, ex, tmp_path, impls=["fake/good"], workloads=["mutex_counter"]).results[0]
    walls = [p.wall for p in r.processes]
    assert len(walls) > 4 and sum(walls[:-1]) < SAMPLE_SHARE * 5.0, (r.detail.stop, walls)
    assert r.detail.stop in (OUT_OF_REACH, MODES, MAX_PROCESSES)


@pytest.mark.parametrize("changes, processes, spent, next_cost, expected", [
    ({}, 3, 0.5, 0.1, False),  # a fifth of the 10 s budget is 2 s
    ({}, 3, 2.0, 0.1, True),
    ({}, 10, 0.5, 0.1, True),  # its maximum ran
    ({}, 3, 0.5, 9.6, True),  # the next process would overrun the budget
    ({"budget": 0.0}, 3, 0.5, 0.1, True),  # no budget: the minimum is the rule
    ({"precision": 0.0}, 3, 0.5, 0.1, True),  # fixed repetitions
])
def test_sampled_enough(changes, processes, spent, next_cost, expected):
    assert sampled_enough(spec(**changes), processes, spent, next_cost) is expected


def test_an_interrupted_case_short_of_its_sampling_is_not_converged():
    narrow = [ProcessRun(tuple(Iteration(i, False, 0.01) for i in range(5)), Rusage(0, 0, 0, 0, 0), 0.1)
              for _ in range(3)]
    assert as_interrupted(spec(), narrow, 1, spent=0.3).why == "interrupted"
    assert as_interrupted(spec(), narrow, 1, spent=2.5).why == CONVERGED


def test_at_the_time_limit_a_case_within_its_precision_is_converged_however_little_it_sampled():
    def runs(*scales):
        return [ProcessRun(tuple(Iteration(i, False, 0.01 * s) for i in range(5)), Rusage(0, 0, 0, 0, 0), 0.1)
                for s in scales]
    narrow = runs(1.0, 1.0, 1.0)  # three cheap processes that agree: a tenth of a second of the 10 s budget
    assert not sampled_enough(spec(), 3, 0.3, 0.1)
    stopped = at_time_limit(spec(), narrow, 1)
    assert stopped.why == CONVERGED and stopped.flags(spec()) == ()
    wide = at_time_limit(spec(), runs(1.0, 1.1, 0.9), 1)  # ±10%: stopped short, and its flag says so truthfully
    assert wide.why == TIME_LIMIT and wide.judged.half_width > spec().precision
    (flag,) = wide.flags(spec())
    assert flag.startswith("unconverged:") and f"±{wide.ci.half_width:.1%}, wider than" in flag


@pytest.mark.parametrize("half_width, precision, text", [
    (0.031, 0.02, "3.1%"), (0.0204, 0.02, "2.04%"), (0.02001, 0.02, "2.001%"), (0.0101, 0.01, "1.01%"),
    (0.005, 0.02, "0.5%"),  # not wider (an interrupted case's): one decimal
])
def test_an_unconverged_half_width_is_shown_wider_than_the_precision_it_missed(half_width, precision, text):
    assert wider(half_width, precision) == text
    flag = unconverged_flag(spec(precision=precision), BUDGET, Interval(1.0, 1 - half_width, 1 + half_width, 0.95))
    assert f"±{text}, wider than" in flag or half_width <= precision


def test_iterations_at_the_profile_s_length_keep_its_warm_ups(twin_catalog, tmp_path):
    stored_sizes(twin_catalog, tmp_path)
    ex = ScalingExecutor(within=0.002)
    outcome = quick_run(twin_catalog, ex, tmp_path)
    assert all(r.detail.cold == 0 for r in outcome.results)
    # verification's, then the profile's
    assert set(warmups_run(ex)) == {PROFILE_SHAPES["verify"].warmups, PROFILE_SHAPES["quick"].warmups}


def test_the_warm_up_time_is_what_the_spec_s_warm_ups_last_at_the_target_iteration():
    assert PROFILE_SHAPES["quick"].warmup_seconds == pytest.approx(0.1)
    assert PROFILE_SHAPES["full"].warmup_seconds == pytest.approx(0.9)
    assert PROFILE_SHAPES["smoke"].warmup_seconds == 0  # no target iteration: warm-ups are counted only
    one = replace(PROFILE_SHAPES["quick"], warmups=1)  # a workload that asks for one warm-up
    assert one.warmup_seconds == pytest.approx(0.05)


def test_an_iteration_at_half_the_target_is_not_cold_one_a_tenth_of_it_is():
    quick = spec(warmup_seconds=PROFILE_SHAPES["quick"].warmup_seconds, warmups=2)

    def process(seconds):
        its = [Iteration(k, k < 2, seconds, {}) for k in range(7)]
        return ProcessRun(tuple(its), None, 7 * seconds, 0, 0.0)
    assert not cold(quick, process(0.025)) and cold(quick, process(0.005))
    assert not cold(replace(quick, warmup_seconds=0.0), process(0.0001))  # warm-ups counted only


def test_a_plan_saved_before_warm_up_times_still_runs_and_counts_its_warm_ups(fixture_root, tmp_path, capsys):
    from cmbench.cli import main

    assert main(["--root", str(fixture_root), "plan", "--impl", "fake/good", "--workload", "mutex_counter",
                 "--profile", "quick", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    plan["schema"] = 4
    for case in plan["cases"]:
        assert case.pop("warmup_seconds") == PROFILE_SHAPES["quick"].warmup_seconds
        case["schema"] = 3
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    assert main(["--root", str(fixture_root), "run", "--plan", str(path), "--out", str(tmp_path / "run")]) == 0
    case = run_json(tmp_path)["cases"][0]
    assert case["status"] == "ok" and case["spec"]["warmup_seconds"] == 0 and case["extra"]["cold"] == 0


class OneNoisyExecutor(ScalingExecutor):
    """fake/good steady, fake/twin with variance within its processes and a slow start."""

    def run(self, impl, variant, args, *, cpus, timeout):
        self.within, self.start = (0.03, 0.5) if impl.id == "fake/twin" else (0.0, 0.05)
        return super().run(impl, variant, args, cpus=cpus, timeout=timeout)


def test_seconds_a_converged_case_saved_go_to_a_case_near_its_precision(twin_catalog, tmp_path):
    outcome = quick_run(twin_catalog, OneNoisyExecutor(), tmp_path)
    by = {r.key.impl: r for r in outcome.results}
    assert by["fake/good"].detail.stop == CONVERGED and len(by["fake/good"].processes) == 3
    twin = by["fake/twin"]
    # alone it stops at its 5 s budget after 4 processes (test above); the steady case's unspent seconds
    # buy it more, and never more than one budget of its own
    assert len(twin.processes) > 4
    assert sum(p.wall for p in twin.processes) < 2 * 5.0


class ModalAndNoisyExecutor(ScalingExecutor):
    """fake/good in two steady modes, fake/twin with variance within its processes and a slow start."""

    def run(self, impl, variant, args, *, cpus, timeout):
        modal = impl.id == "fake/good"
        self.between, self.within, self.start = (0.5, 0.0, 0.05) if modal else (0.0, 0.03, 0.5)
        return super().run(impl, variant, args, cpus=cpus, timeout=timeout)


def test_a_case_settled_on_its_modes_lends_its_unspent_seconds_too(twin_catalog, tmp_path):
    stored_sizes(twin_catalog, tmp_path)
    # seeded: both reach their limit in the same round, and the loan needs the deposit made first
    outcome = quick_run(twin_catalog, ModalAndNoisyExecutor(), tmp_path, seed=0)
    by = {r.key.impl: r for r in outcome.results}
    assert by["fake/good"].detail.stop == MODES and len(by["fake/good"].processes) == 4
    assert len(by["fake/twin"].processes) > 4  # alone it stops at its budget after 4


def test_the_bank_lends_what_was_deposited_and_no_more():
    from harness.kinds.batch.bank import TimeBank

    bank = TimeBank()
    assert bank.available(5.0) == 0.0 and bank.borrow(1.0) == 0.0
    bank.deposit(3.0)
    bank.deposit(-1.0)  # a case that overran its budget deposits nothing
    assert bank.available(2.0) == 2.0 and bank.available(9.0) == 3.0
    assert bank.borrow(2.5) == 2.5 and bank.borrow(2.5) == 0.5 and bank.balance == 0.0
    assert (bank.deposited, bank.lent) == (3.0, 3.0)


def test_the_bank_closes_at_the_profiles_time_limit_from_the_runs_start():
    from harness.kinds.batch.bank import TimeBank

    now = [100.0]
    quick = TimeBank.for_profile("quick", clock=lambda: now[0])
    full = TimeBank.for_profile("full", clock=lambda: now[0])
    limit = PROFILE_SHAPES["quick"].time_limit
    assert limit and not PROFILE_SHAPES["full"].time_limit
    quick.deposit(4.0)
    now[0] += limit - 1
    assert not quick.closed() and quick.available(9.0) == 4.0
    now[0] += 1
    assert quick.closed() and quick.available(9.0) == 0.0  # closed: it lends nothing more
    now[0] += 1e6
    assert not full.closed()


def test_past_the_time_limit_a_case_runs_its_minimum_and_stops_time_limit(twin_catalog, tmp_path, monkeypatch):
    stored_sizes(twin_catalog, tmp_path)
    # alone fake/twin runs on to its 5 s budget (above); with the run's time limit already passed it stops at its
    # minimum, unconverged and flagged so, while a case that converged there stays converged
    monkeypatch.setitem(PROFILE_SHAPES, "quick", replace(PROFILE_SHAPES["quick"], time_limit=1e-9))
    outcome = quick_run(twin_catalog, OneNoisyExecutor(), tmp_path)
    by = {r.key.impl: r for r in outcome.results}
    assert by["fake/good"].detail.stop == CONVERGED and len(by["fake/good"].processes) == 3
    twin = by["fake/twin"]
    assert twin.detail.stop == TIME_LIMIT and len(twin.processes) == PROFILE_SHAPES["quick"].processes
    assert any(f.startswith("unconverged:") and "time limit" in f for f in twin.flags)
    assert run_json(tmp_path)["time_limit"] == 1e-9
    assert "time limit (profile quick) has passed" in (tmp_path / "console.txt").read_text()
