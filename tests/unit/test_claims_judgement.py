"""The claims ledger judges usable evidence by its verdict, compares what a claim claims, and says why
every unjudged claim is unjudged.

Evidence flagged only for its precision (unconverged, host busy) counts; a spread too wide to decide
leaves the check inconclusive. Every test and interval is at one level, 95%. Per-operation figures
of calibrated cases compare whatever the size; one-CPU claims read the placement=one cases.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.claims import (
    BIGGER_HOST,
    CONSISTENT,
    CONTRADICTED,
    NOT_MEASURED,
    NOT_USABLE,
    OUT_OF_SCOPE,
    PARTIAL,
    UNDECIDED,
    claims_document,
    evaluate,
    evaluate_all,
)
from reports.claims_ledger import Extrapolation, Subject, load_ledger
from reports.claims_rules import ALPHA, CONFIDENCE, judge_ratio, median_interval
from reports.pages.claims import rest_to_judge, verdict_counts

from .test_reports_claims import case, claim, hop_claim, make_results, ping, spread

SEEDS = Path("/work/shared/seeds")
UNCONVERGED = "unconverged: 95% CI of the median ±3.1%, wider than the ±2% asked; stopped at the budget"


def test_one_level_everywhere():
    assert CONFIDENCE == 0.95 and ALPHA == pytest.approx(0.05)
    assert median_interval([10.0, 11.0, 12.0]).confidence == CONFIDENCE  # not 75%
    assert median_interval(list(range(30))).confidence >= CONFIDENCE
    for c in load_ledger().claims:
        if c.workload:
            text = c.rule_text()
            assert "95%" in text and "75%" not in text and "94%" not in text, c.id


def test_an_unconverged_case_counts_when_the_figure_is_decided():
    # Java's default stack: 1,048,576 B in 3 of 3 processes, unconverged or not, is decided
    stack = claim(workload="spawn_idle", metric="default_stack_bytes", unit="B", rule="range", low=1_000_000,
                  high=1_048_576, checks=((Subject("java/threads"),),))
    java = case("spawn_idle", "java/threads", {"tasks": 10000}, "default_stack_bytes", [1_048_576] * 3, unit="B",
                flags=[UNCONVERGED])
    v = evaluate(stack, make_results([{"id": "r", "cases": [java]}]))
    assert v.verdict == CONSISTENT and "every value equal" in v.checks[0].text
    assert v.checks[0].evidence[0].flags == (UNCONVERGED,) and not v.checks[0].evidence[0].excluded
    # Go 2.99 KB a task against 8.5 / 9.8 / 47.6 KB: three values each, ranges apart, decided at alpha = 0.05
    memory = claim(workload="spawn_idle", metric="memory_per_task", unit="B", rule="order",
                   checks=tuple((Subject("go/goroutines"), Subject(i)) for i in ("c/pthreads", "rust/threads",
                                                                                 "java/threads")))
    cases = [case("spawn_idle", i, {"tasks": 10000}, "memory_per_task", [m * 0.98, m, m * 1.03], unit="B",
                  flags=[UNCONVERGED])
             for i, m in (("go/goroutines", 2990), ("c/pthreads", 8500), ("rust/threads", 9800),
                          ("java/threads", 47600))]
    assert evaluate(memory, make_results([{"id": "r", "cases": cases}])).verdict == CONSISTENT
    # a spread too wide to decide is inconclusive, never a verdict and never "not measured"
    wide = case("spawn_idle", "java/threads", {"tasks": 10000}, "default_stack_bytes", [600_000, 1_040_000, 1.6e6],
                unit="B", flags=[UNCONVERGED])
    assert evaluate(stack, make_results([{"id": "r", "cases": [wide]}])).verdict == UNDECIDED


def test_a_busy_host_leaves_the_pool_spawn_ratio_judged():
    """The smoke run's pool/spawn evidence under load from other tests is flagged host busy: it is judged."""
    c = claim(workload="worker_pool", metric="throughput", rule="ratio", ratio=2.768, factor=2,
              checks=((Subject("go/goroutines", params={"workers": "4"}),
                       Subject("go/goroutines", params={"workers": "0"})),))
    busy = ["host busy: other processes used 0.80 CPUs while this was measured (2 s)"]
    for noise in (0.02, 0.6):
        pool = case("worker_pool", "go/goroutines", {"tasks": 5000, "workers": 4}, "throughput",
                    spread(3e6, 3, noise), flags=busy)
        spawn = case("worker_pool", "go/goroutines", {"tasks": 5000, "workers": 0}, "throughput",
                     spread(1e6, 3, noise), flags=busy)
        v = evaluate(c, make_results([{"id": "r", "profile": "smoke", "cases": [pool, spawn]}]))
        assert v.verdict in (CONSISTENT, CONTRADICTED, UNDECIDED), v.reason
        assert all(e.n == 3 and not e.excluded for e in v.checks[0].evidence)


def test_ratios_are_rank_tests_that_three_values_a_side_can_decide():
    assert judge_ratio([30, 31, 32], [10, 10.5, 11], 3, 1.5).result == "pass"  # about 2.9x, band 2x-4.5x
    assert judge_ratio([60, 61, 62], [10, 10.5, 11], 3, 1.5).result == "fail"  # about 5.8x, above the band
    assert judge_ratio([10, 30, 60], [10, 20, 30], 3, 1.5).result == "inconclusive"
    assert judge_ratio([1, 2, 3], [0, 0, 0], 3, 1.5) is None  # no ratio can be formed


def test_per_operation_figures_of_calibrated_cases_compare_at_their_own_sizes():
    c = claim(workload="mutex_counter", metric="throughput", rule="order", order="increasing",
              checks=((Subject("go/goroutines", params={"mode": "mutex"}),
                       Subject("go/goroutines", params={"mode": "atomic"})),))

    def calibrated(mode: str, size: int, rate: float, placement: str = "one") -> dict:
        return case("mutex_counter", "go/goroutines", {"threads": 4, "increments": size, "mode": mode,
                                                       "placement": placement}, "throughput", spread(rate),
                    extra={"calibrated": "run", "calibration": {"param": "increments", "value": size}},
                    label=f"threads=4,increments=1000000,mode={mode},placement={placement}")
    runs = [{"id": "r", "cases": [calibrated("mutex", 240_000, 2e7), calibrated("atomic", 1_900_000, 9e7)]}]
    v = evaluate(c, make_results(runs))
    assert v.verdict == CONSISTENT and v.checks[0].measured[0].where == "placement=one,threads=4"
    # a size written in the profile still defines the operation, and placement always does
    written = [case("mutex_counter", "go/goroutines", {"threads": 4, "increments": n, "mode": m}, "throughput",
                    spread(r)) for m, n, r in (("mutex", 1000, 2e7), ("atomic", 5000, 9e7))]
    assert evaluate(c, make_results([{"id": "r", "cases": written}])).verdict == NOT_MEASURED
    apart = [calibrated("mutex", 240_000, 2e7, "one"), calibrated("atomic", 1_900_000, 9e7, "spread")]
    assert evaluate(c, make_results([{"id": "r", "cases": apart}])).verdict == NOT_MEASURED
    # a figure that grows with the size is never compared across sizes, calibrated or not
    rss = claim(workload="mutex_counter", metric="peak_rss", rule="order",
                checks=((Subject("go/goroutines", params={"mode": "mutex"}),
                         Subject("go/goroutines", params={"mode": "atomic"})),))
    sized = [case("mutex_counter", "go/goroutines", {"threads": 4, "increments": n, "mode": m}, "peak_rss",
                  spread(9e6), unit="B", extra={"calibrated": "run", "calibration": {"param": "increments"}})
             for m, n in (("mutex", 1000), ("atomic", 5000))]
    assert evaluate(rss, make_results([{"id": "r", "cases": sized}])).verdict == NOT_MEASURED


def test_one_cpu_claims_read_the_one_cpu_placement_of_a_two_cpu_run():
    ledger = {c.id: c for c in load_ledger().claims}
    handoff = ledger["thread-handoff-one-cpu"]
    one = case("ping_pong", "c/pthreads", {"roundtrips": 1000, "placement": "one"}, "throughput", spread(400_000))
    two = case("ping_pong", "c/pthreads", {"roundtrips": 1000, "placement": "spread"}, "throughput", spread(50_000))
    v = evaluate(handoff, make_results([{"id": "r", "cpus": 2, "cases": [one, two]}]))
    assert v.verdict == PARTIAL and v.checks[0].passed  # c/pthreads judged, rust and java not run
    assert {e.case for c in v.checks for e in c.evidence} == {"roundtrips=1000,placement=one"}


def test_an_order_with_figures_is_judged_for_its_gap():
    c = claim(workload="reference", metric="time_per_op", unit="ns", rule="order", gap=(5.2,), factor=2,
              checks=((Subject("host/os", params={"op": "thread_switch"}),
                       Subject("host/os", params={"op": "process_switch"})),))

    def refs(thread: float, process: float) -> dict:
        return {"reference_measurements": {"schema": 1, "cpu": 0, "skipped": [], "measured": [
            {"name": "thread_switch", "unit": "ns", "method": "perf -T", "values": spread(thread, 5, 0.01)},
            {"name": "process_switch", "unit": "ns", "method": "perf", "values": spread(process, 5, 0.01)}]}}
    near = evaluate(c, make_results([{"id": "r", "cases": [], "meta": refs(1500, 1560)}]))  # 4% apart, not 5x
    assert near.verdict == CONTRADICTED and "by another size" in near.checks[0].text
    assert "against ~5.2× claimed" in near.checks[0].text
    far = evaluate(c, make_results([{"id": "r", "cases": [], "meta": refs(1500, 7000)}]))
    assert far.verdict == CONSISTENT and "gap" in far.checks[0].text


def test_a_projected_or_partial_figure_is_partially_measured_saying_which_part():
    c = claim(workload="spawn_idle", metric="peak_rss", unit="B", rule="range", high=1 << 30,
              extrapolate=Extrapolation("memory_per_task", "tasks", 100_000),
              partial="goroutines only, not connections", checks=((Subject("go/goroutines"),),))
    rows = [case("spawn_idle", "go/goroutines", {"tasks": 10000}, "peak_rss", spread(40e6, 3), unit="B"),
            case("spawn_idle", "go/goroutines", {"tasks": 10000}, "memory_per_task", spread(3000, 3), unit="B")]
    v = evaluate(c, make_results([{"id": "r", "cases": rows}]))
    assert v.verdict == PARTIAL and v.checks[0].passed
    assert "goroutines only, not connections" in v.reason and "projected from the measured tasks" in v.reason


def test_a_verdict_that_flips_between_runs_is_inconclusive():
    c = hop_claim()
    runs = make_results([{"id": "r1", "cases": [ping("c/pthreads", 400_000)]},
                         {"id": "r2", "cases": [ping("c/pthreads", 50_000)]}])
    v = evaluate(c, runs)
    assert v.verdict == UNDECIDED and "flips" in v.reason and "run r1" in v.reason and "run r2" in v.reason
    same = make_results([{"id": "r1", "cases": [ping("c/pthreads", 400_000)]},
                         {"id": "r2", "cases": [ping("c/pthreads", 410_000)]}])
    assert evaluate(c, same).verdict == CONSISTENT


def test_every_unjudged_claim_is_in_one_named_group_with_what_would_judge_it():
    ledger = load_ledger()
    one_run = make_results([{"id": "r", "cpus": 2, "cases": [ping("c/pthreads", 400_000)]}])
    verdicts = evaluate_all(ledger, one_run)
    doc = {c["id"]: c for c in claims_document(verdicts)["claims"]}
    unjudged = [c for c in doc.values() if c["verdict"] == NOT_MEASURED]
    assert unjudged and all(c["group"] in (BIGGER_HOST, OUT_OF_SCOPE, NOT_USABLE) and c["how"] for c in unjudged)
    assert all("group" not in c for c in doc.values() if c["verdict"] != NOT_MEASURED)
    groups = {c["id"]: c["group"] for c in unjudged}
    assert {i for i, g in groups.items() if g == OUT_OF_SCOPE} == {
        "scheduler-strategies", "sub-ms-scheduling-10k", "control-plane-startup"}
    assert {i for i, g in groups.items() if g == BIGGER_HOST} == {"http-qps-go", "http-qps-fastapi", "http-qps-axum"}
    assert "--cpus 4" in doc["http-qps-go"]["how"] and "--cluster" in doc["http-qps-go"]["how"]
    assert "cmbench run --profile quick --workload spawn_idle" in doc["spawn-cost"]["how"]
    counts = verdict_counts(verdicts)
    assert counts["needs_a_bigger_host"] == 3 and counts["out_of_scope"] == 3
    assert counts["evidence_not_usable"] == counts["not_measured"] - 6
    rest = rest_to_judge(verdicts)
    assert [g["group"] for g in rest] == [BIGGER_HOST, OUT_OF_SCOPE, NOT_USABLE]
    # 41 claims, 6 a 2-CPU host cannot judge: 35 are left to the runs
    assert len(ledger.claims) - 6 == 35


def test_the_articles_are_named_by_their_titles():
    ledger = load_ledger()
    assert all(c.source.title and c.source.name == c.source.title for c in ledger.claims)
    assert set(ledger.titles) == {c.source.document for c in ledger.claims} | {o.document for o in
                                                                             ledger.out_of_scope}
    if SEEDS.is_dir():  # the seeds beside the project: each title is the document's first heading
        for file, title in ledger.titles.items():
            first = (SEEDS / file).read_text(encoding="utf-8").splitlines()[0]
            assert first.split(":", 1)[-1].strip() == title, file


def test_the_quick_profile_measures_what_the_ledger_reads():
    from harness.catalog import load_catalog
    from harness.kinds.server.cases import phase_params, phases_for

    from ..conftest import PROJECT

    workloads = load_catalog(PROJECT).workloads
    quick = workloads["http_server"].servers["quick"]
    assert quick.repeats >= 3  # three values of each phase in one run
    phases = [phase_params(p, quick) for p in phases_for(quick)]
    for c in load_ledger().claims:
        if not c.workload or c.workload == "reference" or c.min_cpus and c.min_cpus > 2:
            continue
        for subject in (s for check in c.checks for s in check):
            named = dict(subject.params)
            if c.workload == "http_server":
                assert any(all(str(p.get(k)) == v for k, v in named.items() if k != "cpus") for p in phases), c.id
                continue
            w = workloads[c.workload]
            placement = named.pop("placement", None)
            assert placement is None or placement in w.placements, c.id
            written = [{k: str(v) for k, v in case.as_dict().items()} for case in w.cases_for("quick")]
            assert any(all(p.get(k) == v for k, v in named.items()) for p in written), (c.id, named)


def test_a_case_with_modes_is_judged_in_each_mode():
    def modal(fast: float, slow: float) -> list[dict]:
        rates = [fast] * 10 + [slow] * 10  # processes 0-1 on one CPU, 2-3 across two (5 iterations each)
        flag = ["modes: 2 (50% at 2.5 ms, 50% at 4 ms)"]
        label = "roundtrips=1000"
        return [case("ping_pong", "c/pthreads", {"roundtrips": 1000}, "throughput", rates, flags=flag, label=label),
                case("ping_pong", "c/pthreads", {"roundtrips": 1000}, "wall_time", [1000 / r for r in rates],
                     unit="s", flags=flag, label=label)]
    c = hop_claim()
    alike = evaluate(c, make_results([{"id": "r", "cases": modal(400_000, 300_000)}]))  # 1250 and 1667 ns per hop
    assert alike.verdict == CONSISTENT and "judged in each mode, alike" in alike.checks[0].text
    apart = evaluate(c, make_results([{"id": "r", "cases": modal(400_000, 100_000)}]))  # 1250 and 5000 ns
    assert apart.verdict == UNDECIDED and "judged in each mode" in apart.checks[0].text


def test_modes_in_the_wall_time_leave_memory_judged_whole():
    """Modes are found in the per-process wall times (placement); the same processes' memory is one figure."""
    flag = ["modes: 2 (50% at 638 ms, 50% at 793 ms)"]

    def task_memory(impl: str, kib: float) -> dict:
        return case("spawn_idle", impl, {"tasks": 10000}, "memory_per_task", spread(kib * 1024, n=4), unit="B",
                    flags=flag if impl == "c/pthreads" else (), per_case=True)
    c = claim(workload="spawn_idle", metric="memory_per_task", rule="order", order="increasing",
              checks=((Subject("go/goroutines"), Subject("c/pthreads")),))
    v = evaluate(c, make_results([{"id": "r", "cases": [task_memory("go/goroutines", 2.9),
                                                       task_memory("c/pthreads", 8.3)]}]))
    assert v.verdict == CONSISTENT and "mode" not in v.checks[0].text, v.checks[0].text


def test_the_page_names_articles_by_title_and_shows_reasons_in_full():
    from reports.pages.claims import ledger_tables

    ledger = load_ledger()
    verdicts = evaluate_all(ledger, make_results([{"id": "r", "cases": [ping("c/pthreads", 400_000)]}]))
    summary, oos = ledger_tables(verdicts, ledger)
    rows = {r[0].text: r for r in summary.rows}
    assert rows["spawn-cost"][1].text == "Go语言一般做什么" and rows["spawn-cost"][1].title.startswith("000_")
    long = max((v for v in verdicts if v.verdict == NOT_MEASURED), key=lambda v: len(v.reason))
    assert len(long.reason) > 240 and long.reason in rows[long.claim.id][3].text  # in full, no "…"
    assert not any(r[1].text.endswith(".txt") for r in summary.rows)
    assert {r[0].text for r in oos.rows} <= set(ledger.titles.values())
