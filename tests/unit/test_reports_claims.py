"""The claims ledger: claims.toml loads and validates, and verdicts hold up to their rules.

A verdict may rest only on ok, unflagged cases with the parameters the claim names, from one
source (one run, or a series on one fingerprint), with n >= 3 per subject; orderings are decided
by a test, ties are inconclusive.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harness.errors import UserError
from harness.kinds.server.bound import BOUND_PREFIX, LEGACY_BOUND, SHORT_PREFIX, Ceiling, bound_flag
from harness.store.run import load_run
from reports.claims import (
    CONSISTENT,
    CONTRADICTED,
    NOT_MEASURED,
    PARTIAL,
    UNDECIDED,
    claims_document,
    evaluate,
    evaluate_all,
)
from reports.claims_ledger import Claim, Extrapolation, Source, Subject, load_ledger
from reports.claims_rules import AT_LEAST, AT_MOST, judge_order, judge_range, judge_ratio, median_interval
from reports.data import CASE_COLUMNS, Results, Run, implementation_label, load_results
from reports.pages.claims import measured_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reports"
SOURCE = Source("000_x.txt", "2.1 某节", "引文")


def case(workload, impl, params, metric, values, *, unit="ops/s", status="ok", flags=(), extra=None,
         per_case=False, label=None):
    """One case of a run: (workload, impl[:variant], params dict, metric, values, ...)."""
    return dict(workload=workload, impl=impl, params=params, metric=metric, values=list(values), unit=unit,
                status=status, flags=tuple(flags), extra=extra or {}, per_case=per_case, label=label)


def make_results(runs: list[dict]) -> Results:
    """runs: {id, cpus=2, profile="quick", kernel=..., cases=[case(...), ...], meta={...}}."""
    out_runs, frames = [], []
    for k, r in enumerate(runs):
        run_id, cpus = r["id"], r.get("cpus", 2)
        records, outcomes = [], []
        for c in r["cases"]:
            base, _, variant = c["impl"].partition(":")
            variant = variant or "default"
            label = c["label"] or ",".join(f"{a}={b}" for a, b in c["params"].items())
            params = f"{label if c['label'] is None else ','.join(f'{a}={b}' for a, b in c['params'].items())}" \
                     f",cpus={cpus},executor=native"
            outcomes.append({"run_id": run_id, "workload": c["workload"], "case": label, "impl": base,
                             "variant": variant, "implementation": implementation_label(base, variant),
                             "language": base.split("/")[0], "model": base.split("/")[1], "status": c["status"],
                             "error": "", "params": params, "flags": "; ".join(c["flags"]),
                             "flag_list": c["flags"], "extra": c["extra"]})
            if c["status"] != "ok":
                continue
            for i, v in enumerate(c["values"]):
                records.append({"run_id": run_id, "workload": c["workload"], "case": label, "impl": base,
                                "language": base.split("/")[0], "model": base.split("/")[1], "variant": variant,
                                "executor": "native", "params": params, "metric": c["metric"], "unit": c["unit"],
                                "direction": "higher", "process": float("nan") if c["per_case"] else i // 5,
                                "iteration": float("nan") if c["per_case"] else i % 5, "value": float(v),
                                "implementation": implementation_label(base, variant)})
        if records:
            frames.append(pd.DataFrame(records))
        meta = {"run_id": run_id, "started": f"2026-01-{k + 1:02d}T00:00:00", "cpus": list(range(cpus)),
                "profile": r.get("profile", "quick"), "executor": "native",
                "host": {"cpu_model": r.get("cpu_model", "Test CPU"), "cpu_count": 8, "kernel": "Linux 6.1"},
                **r.get("meta", {})}
        out_runs.append(Run(Path(run_id), meta, pd.DataFrame(outcomes, columns=CASE_COLUMNS)))
    samples = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return Results(tuple(out_runs), samples)


def claim(**kw) -> Claim:
    base = dict(id="c", source=SOURCE, zh="中文", en="English", claimed="x", needs="the right results")
    return Claim(**{**base, **kw})


def spread(center: float, n: int = 10, width: float = 0.02) -> list[float]:
    return [center * (1 + width * ((i % 5) - 2) / 2) for i in range(n)]


def ping(impl: str, per_second: float, n: int = 10, **kw) -> dict:
    return case("ping_pong", impl, {"roundtrips": 1000}, "throughput", spread(per_second, n), **kw)


def hop_claim(**kw) -> Claim:
    # 1 / (2 x round trips per second) in ns: 400k round trips/s -> 1250 ns per hop
    return claim(workload="ping_pong", metric="throughput", scale=5e8, invert=True, unit="ns", rule="range",
                 low=500, high=2000, factor=1.5, checks=((Subject("c/pthreads"),),), **kw)


# --- the ledger file ------------------------------------------------------------------------


def test_the_ledger_loads_and_every_measured_claim_is_well_formed():
    ledger = load_ledger()
    ids = [c.id for c in ledger.claims]
    assert len(ids) == len(set(ids)) >= 30
    documents = {c.source.document for c in ledger.claims}
    assert documents == {"000_25352d511d78d765.txt", "001_60d4421e1e2cd94c.txt", "003_b6f8a11798753660.txt"}
    assert {o.document for o in ledger.out_of_scope} >= {"002_e7e9def27a1338e6.txt", "001_60d4421e1e2cd94c.txt"}
    for c in ledger.claims:
        assert c.zh and c.en and c.claimed and c.source.section and c.source.quote
        if c.workload:
            assert c.rule in ("range", "ratio", "order") and c.checks and c.rule_text()
            assert c.across_cases in ("each", "max", "min")
    by_id = {c.id: c for c in ledger.claims}
    # claims about one CPU read the one-CPU placement, which every run of the hand-off workloads measures
    for cid in ("thread-handoff-one-cpu", "lightweight-switch"):
        assert by_id[cid].cpus is None
        assert all(dict(s.params).get("placement") == "one" for check in by_id[cid].checks for s in check)
    # seed 003's table is TechEmpower plaintext: pipelined phases; absolute requests/s only for a 4-CPU server
    for cid, impl in (("http-qps-go", "go/goroutines"), ("http-qps-fastapi", "python/fastapi"),
                      ("http-qps-axum", "rust/tokio:axum")):
        (subject,), = by_id[cid].checks
        assert implementation_label(subject.impl, subject.variant) == implementation_label(*impl.split(":") + [
            "default"][: 2 - len(impl.split(":"))])
        assert dict(subject.params) == {"phase": "pipelined", "cpus": "4"} and by_id[cid].metric == "qps"
    for cid in ("http-qps-order", "http-qps-axum-vs-go", "http-qps-go-vs-fastapi"):
        assert all(dict(s.params) == {"phase": "pipelined"} for s in by_id[cid].checks[0])
    assert [s.variant for s in by_id["http-qps-axum-vs-go"].checks[0]] == ["axum", "default"]
    # platform threads are compared with virtual threads on the same JVM
    assert [s.variant for s in by_id["lightweight-switch"].checks[1]] == ["default", "jdk25"]
    # memory at 10,000 connections is read directly at 10,000 idle connections: no projection
    for cid in ("http-memory-go-10k", "http-memory-fastapi-10k", "http-memory-axum-10k", "http-memory-axum-vs-go"):
        c = by_id[cid]
        assert c.metric == "memory_with_connections" and c.extrapolate is None
        assert all(dict(s.params) == {"phase": "idle", "connections": "10000"} for s in c.checks[0])
    assert by_id["http-startup-go"].metric == "time_to_ready" and by_id["http-startup-go"].checks[0][0].impl == \
        "go/goroutines"
    assert not by_id["control-plane-startup"].workload and "startup_cpu_time" in by_id["control-plane-startup"].needs
    assert {frozenset(c.claims) for c in ledger.conflicts} >= {
        frozenset({"memory-100k-connections", "http-memory-go-10k"}), frozenset({"go-preemption-10ms",
                                                                                 "go-preemption-1ms"})}


def test_the_claims_the_documents_make_are_in_the_ledger():
    ledger = load_ledger()
    quotes = " ".join(c.source.quote + " ".join(a.quote for a in c.also) for c in ledger.claims)
    for figure in ("500 – 2000", "3000 – 10000", "2KB", "1MB", "~32,000", "~18,500", "~41,000", "~1.2GB",
                   "~3.8GB", "~860MB", "8,200", "22,700", "10万级并发连接仅需百MB内存", "小于预期", "原子操作",
                   "每任务一goroutine", "数万QPS", "8 MB", "fork()", "默认为CPU核心数", "不可动态增减",
                   "10ms 降至 1ms", "超过 10ms", "M:N协作", "| 启动时间 | ~300ms |", "启动延迟"):
        assert figure in quotes, figure
    left_out = " ".join(o.figure for o in ledger.out_of_scope)
    for figure in ("Istio", "EX280", "42 µs", "256 goroutines", "98k QPS"):
        assert figure in left_out, figure


@pytest.mark.parametrize("text, message", [
    ('schema = 1\n[[claims]]\nid = "a"\n', "field 'document' must be a non-empty string"),
    ('schema = 9\n', "schema 9"),
    ('schema = 1\n[[claims]]\nid = "a"\ndocument = "d"\nsection = "s"\nquote = "q"\nzh = "z"\nen = "e"\n'
     'claimed = "c"\nneeds = "n"\nworkload = "w"\nmetric = "m"\nrule = "guess"\nsubjects = [{ impl = "a/b" }]\n',
     "field 'rule' must be one of range, ratio, order"),
    ('schema = 1\n[[claims]]\nid = "a"\ndocument = "d"\nsection = "s"\nquote = "q"\nzh = "z"\nen = "e"\n'
     'claimed = "c"\nneeds = "n"\nworkload = "w"\nmetric = "m"\nrule = "ratio"\nsubjects = [{ impl = "a/b" }]\n',
     "field 'ratio' is needed"),
    ('schema = 1\n[[claims]]\nid = "a"\ndocument = "d"\nsection = "s"\nquote = "q"\nzh = "z"\nen = "e"\n'
     'claimed = "c"\nneeds = "n"\nworkload = "w"\nmetric = "m"\nrule = "range"\nlow = 1\nsubjects = [{ im = 1 }]\n',
     "unknown key 'im'"),
    ('schema = 1\n[[claims]]\nid = "a"\ndocument = "d"\nsection = "s"\nquote = "q"\nzh = "z"\nen = "e"\n'
     'claimed = "c"\nneeds = "n"\nworkload = "w"\nmetric = "m"\nrule = "range"\nlow = 1\nacross_cases = "pool"\n'
     'subjects = [{ impl = "a/b" }]\n', "field 'across_cases' must be one of each, max, min"),
    ('schema = 1\n[[claims]]\nid = "a"\ndocument = "d"\nsection = "s"\nquote = "q"\nzh = "z"\nen = "e"\n'
     'claimed = "c"\nneeds = "n"\nworkload = "w"\nmetric = "m"\nrule = "range"\nlow = 1\n'
     'extrapolate = { per = "x", size = "n" }\nsubjects = [{ impl = "a/b" }]\n', "extrapolate: field 'to'"),
    ('schema = 1\n[[claims]]\nid = "a"\ndocument = "d"\nsection = "s"\nquote = "q"\nzh = "z"\nen = "e"\n'
     'claimed = "c"\nneeds = "n"\n[[claims]]\nid = "a"\ndocument = "d"\nsection = "s"\nquote = "q"\nzh = "z"\n'
     'en = "e"\nclaimed = "c"\nneeds = "n"\n', "claim id 'a' is used twice"),
    ('schema = 1\n[[claims]]\nid = "a"\ndocument = "d"\nsection = "s"\nquote = "q"\nzh = "z"\nen = "e"\n'
     'claimed = "c"\nneeds = "n"\n[[conflicts]]\nclaims = ["a", "b"]\nnote = "x"\n', "names 'b', which is not"),
])
def test_ledger_mistakes_are_one_line_naming_the_file(tmp_path, text, message):
    path = tmp_path / "claims.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message) as e:
        load_ledger(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


# --- the statistics -------------------------------------------------------------------------


def test_median_interval_has_the_coverage_it_states():
    assert median_interval([3, 1, 2]) == pytest.approx(median_interval([1, 2, 3]))
    # below six values no order-statistic interval reaches 95%: Student's t at 95% stands in, never [min, max] at 75%
    small = median_interval([1, 2, 3])
    assert small.method == "t" and small.confidence == 0.95
    assert small.low == pytest.approx(2 - 4.303 / 3**0.5, rel=1e-3) and small.high == pytest.approx(2 + 4.303 / 3**0.5,
                                                                                                   rel=1e-3)
    big = median_interval(list(range(1, 21)))  # n = 20: [x(6), x(15)] covers 95.9%
    assert (big.low, big.high) == (6, 15) and big.confidence >= 0.95 and big.method == "order statistics"
    # a setting every process reports alike is that value, with three values as with thirty
    same = median_interval([1_048_576] * 3)
    assert (same.low, same.high, same.method) == (1_048_576, 1_048_576, "exact")


def test_order_test_needs_evidence_not_medians():
    assert judge_order([1, 2, 3, 4], [5, 6, 7, 8]).result == "pass"
    assert judge_order([5, 6, 7, 8], [1, 2, 3, 4]).result == "fail"
    # medians 2 < 3, but the samples interleave: a tie, not a verdict
    assert judge_order([1, 2, 4, 6], [0.5, 3, 3.5, 7]).result == "inconclusive"
    assert judge_order([1, 1, 1], [1, 1, 1]).result == "inconclusive"
    assert judge_order([1], [2]).result == "inconclusive"  # too few values to decide at all


# --- rules on data --------------------------------------------------------------------------


def test_range_rule_with_a_transform():
    c = hop_claim()
    ok = evaluate(c, make_results([{"id": "r1", "cases": [ping("c/pthreads", 400_000)]}]))
    assert ok.verdict == CONSISTENT
    assert ok.checks[0].measured[0].summary.median == pytest.approx(1250, rel=0.01)
    assert "1.25 µs" in ok.checks[0].text and ok.checks[0].run_id == "r1"
    slow = evaluate(c, make_results([{"id": "r1", "cases": [ping("c/pthreads", 100_000)]}]))  # 5000 ns > 3000 ns
    assert slow.verdict == CONTRADICTED
    # values spanning a bound give no verdict either way
    edge = case("ping_pong", "c/pthreads", {"roundtrips": 1000}, "throughput",
                [5e8 / v for v in (2500, 2800, 3100, 3400, 3700)])
    assert evaluate(c, make_results([{"id": "r1", "cases": [edge]}])).verdict == UNDECIDED


def test_flagged_failed_mismatched_or_small_evidence_never_decides():
    c = hop_claim()
    flagged = ping("c/pthreads", 400_000, flags=["rate short of target: 90% of the rate asked"])
    failed = ping("c/pthreads", 400_000, status="crashed")
    small = ping("c/pthreads", 400_000, n=2)
    for bad, why in ((flagged, "flagged: rate short"), (failed, "status crashed"), (small, "n = 2 < 3")):
        v = evaluate(c, make_results([{"id": "r1", "cases": [bad]}]))
        assert v.verdict == NOT_MEASURED and why in v.reason, v.reason
        evidence = claims_document([v])["claims"][0]["evidence"]
        assert evidence and all(e["n"] == 0 or not e["used"] or e["n"] < 3 for e in evidence)
    flagged_doc = claims_document([evaluate(c, make_results([{"id": "r1", "cases": [flagged]}]))])
    assert flagged_doc["claims"][0]["evidence"][0]["flags"] == ["rate short of target: 90% of the rate asked"]
    assert flagged_doc["claims"][0]["group"] == "evidence not usable"
    # parameters the claim does not name are matched exactly between subjects, never pooled
    other = claim(workload="ping_pong", metric="throughput", rule="range", low=1,
                  checks=((Subject("c/pthreads", params={"roundtrips": "5"}),),))
    assert evaluate(other, make_results([{"id": "r1", "cases": [ping("c/pthreads", 4e5)]}])).verdict == NOT_MEASURED


def mutex(impl: str, threads: int, mode: str, rate: float) -> dict:
    return case("mutex_counter", impl, {"threads": threads, "increments": 1000, "mode": mode}, "throughput",
                spread(rate))


def test_order_compares_only_cases_with_the_same_other_parameters():
    c = claim(workload="mutex_counter", metric="throughput", rule="order", order="increasing",
              checks=((Subject("go/goroutines", params={"mode": "mutex"}),
                       Subject("go/goroutines", params={"mode": "atomic"})),))
    # mutex at T=16 is slow, but there is no atomic case at T=16 to compare it with
    runs = [{"id": "r", "cases": [mutex("go/goroutines", 4, "mutex", 50), mutex("go/goroutines", 16, "mutex", 1),
                                  mutex("go/goroutines", 4, "atomic", 40)]}]
    v = evaluate(c, make_results(runs))
    assert v.verdict == CONTRADICTED and len(v.checks) == 1
    assert v.checks[0].measured[0].where == "increments=1000,threads=4"
    pool = case("worker_pool", "go/goroutines", {"tasks": 200000, "workers": 4}, "peak_rss", spread(9e6), unit="B")
    spawn = case("worker_pool", "go/goroutines", {"tasks": 20000, "workers": 0}, "peak_rss", spread(8e6), unit="B")
    memory = claim(workload="worker_pool", metric="peak_rss", rule="order",
                   checks=((Subject("go/goroutines", params={"workers": "4"}),
                            Subject("go/goroutines", params={"workers": "0"})),))
    v = evaluate(memory, make_results([{"id": "r", "cases": [pool, spawn]}]))
    assert v.verdict == NOT_MEASURED and "no case has the same parameters" in v.reason


def test_some_subjects_measured_is_partial_and_a_tie_is_inconclusive():
    each = tuple((Subject(i, params={"mode": "mutex"}), Subject(i, params={"mode": "atomic"}))
                 for i in ("go/goroutines", "c/pthreads", "java/threads"))
    c = claim(workload="mutex_counter", metric="throughput", rule="order", order="increasing", checks=each)
    one = [mutex("go/goroutines", 4, "mutex", 10), mutex("go/goroutines", 4, "atomic", 50)]
    v = evaluate(c, make_results([{"id": "r", "cases": one}]))
    assert v.verdict == PARTIAL and [k.passed for k in v.checks] == [True, None, None]
    assert "no mutex_counter throughput results for c/pthreads" in v.reason
    tie = [mutex(i, 4, m, 10) for i in ("go/goroutines", "c/pthreads", "java/threads") for m in ("mutex", "atomic")]
    assert evaluate(c, make_results([{"id": "r", "cases": tie}])).verdict == UNDECIDED


def test_zero_denominators_and_failed_reads_are_not_figures():
    ratio = claim(workload="ping_pong", metric="throughput", rule="ratio", ratio=2, factor=1.5, positive=False,
                  checks=((Subject("go/goroutines"), Subject("c/pthreads")),))
    zeros = [ping("go/goroutines", 100), case("ping_pong", "c/pthreads", {"roundtrips": 1000}, "throughput", [0] * 10)]
    v = evaluate(ratio, make_results([{"id": "r", "cases": zeros}]))
    assert v.verdict == NOT_MEASURED and "denominator" in v.reason
    # an upper bound alone does not let negative readings through
    upper = claim(workload="spawn_idle", metric="memory_per_task", rule="range", high=4096,
                  checks=((Subject("go/goroutines"),),))
    negative = case("spawn_idle", "go/goroutines", {"tasks": 100}, "memory_per_task", [-10, -5, -1, 2, 3], unit="B")
    v = evaluate(upper, make_results([{"id": "r", "cases": [negative]}]))
    assert v.verdict == NOT_MEASURED and "0 or below (a failed read)" in v.reason
    # a server's idle phase whose memory read failed (0, as under docker) has no per-connection figure
    idle = case("http_server", "go/goroutines", {"phase": "idle", "connections": 500}, "memory_per_connection",
                [9000], unit="B", per_case=True, label="idle,connections=500",
                extra={"idle": {"rss_before": 0, "rss_with": 4_500_000}})
    per_conn = claim(workload="http_server", metric="memory_per_connection", rule="range", high=1e6,
                     checks=((Subject("go/goroutines"),),))
    runs = [{"id": f"r{k}", "cases": [idle]} for k in range(3)]
    v = evaluate(per_conn, make_results(runs))
    assert v.verdict == NOT_MEASURED and "rss_before is 0" in v.reason


# --- where the evidence comes from ----------------------------------------------------------


def test_a_full_run_outranks_a_newer_smoke_run_and_checks_share_one_source():
    c = claim(workload="ping_pong", metric="throughput", rule="ratio", ratio=2, factor=1.2,
              checks=((Subject("go/goroutines"), Subject("c/pthreads")),))
    results = make_results([
        {"id": "full", "profile": "full", "cases": [ping("go/goroutines", 200), ping("c/pthreads", 100)]},
        {"id": "smoke", "profile": "smoke", "cases": [ping("go/goroutines", 900), ping("c/pthreads", 100)]},
    ])
    v = evaluate(c, results)
    assert v.source.label == "run full" and v.verdict == CONSISTENT
    # two checks whose subjects sit in different runs are judged from one run: the other is unmeasured
    two = claim(workload="ping_pong", metric="throughput", rule="range", low=1,
                checks=((Subject("go/goroutines"),), (Subject("c/pthreads"),)))
    split = make_results([{"id": "a", "cases": [ping("go/goroutines", 5)]},
                          {"id": "b", "cpus": 4, "cases": [ping("c/pthreads", 5)]}])
    v = evaluate(two, split)
    assert v.verdict == PARTIAL and len({e.run_id for k in v.checks for e in k.evidence}) == 1


def test_single_sample_figures_pool_over_a_series_on_one_fingerprint():
    def qps(value, conns=64):
        return case("http_server", "go/goroutines", {"phase": "closed", "connections": conns}, "qps", [value],
                    unit="req/s", per_case=True, label=f"closed,connections={conns}")
    c = claim(workload="http_server", metric="qps", rule="range", low=10_000, across_cases="max",
              checks=((Subject("go/goroutines"),),))
    one = make_results([{"id": "r1", "cases": [qps(30_000), qps(20_000, 16)]}])
    assert evaluate(c, one).verdict == NOT_MEASURED
    series = make_results([{"id": f"r{k}", "cases": [qps(30_000 + k), qps(20_000, 16)]} for k in range(3)])
    v = evaluate(c, series)
    assert v.verdict == CONSISTENT and v.source.series and v.checks[0].measured[0].summary.n == 3
    assert v.checks[0].measured[0].where == "connections=64,phase=closed"
    # a run on another CPU count is another fingerprint: it never joins the series
    mixed = make_results([{"id": "r0", "cases": [qps(30_000)]}, {"id": "r1", "cases": [qps(30_000)]},
                          {"id": "r2", "cpus": 4, "cases": [qps(30_000)]}])
    assert evaluate(c, mixed).verdict == NOT_MEASURED


def test_claims_for_one_cpu_read_only_one_cpu_runs():
    c = hop_claim(cpus=1)
    two = make_results([{"id": "r", "cpus": 2, "cases": [ping("c/pthreads", 400_000)]}])
    v = evaluate(c, two)
    assert v.verdict == NOT_MEASURED and "run with --cpus 1" in v.reason
    both = make_results([{"id": "r1", "cpus": 1, "cases": [ping("c/pthreads", 400_000)]},
                         {"id": "r2", "cpus": 2, "cases": [ping("c/pthreads", 100_000)]}])
    v = evaluate(c, both)
    assert v.verdict == CONSISTENT and v.source.label == "run r1"


def test_reference_measurements_come_from_run_json():
    refs = {"schema": 1, "cpu": 0, "skipped": [], "measured": [
        {"name": "thread_switch", "unit": "ns", "method": "perf -T", "values": [1500, 1600, 1550, 1580, 1520]},
        {"name": "process_switch", "unit": "ns", "method": "perf", "values": [1700, 1800, 1750, 1780, 1720]}]}
    results = make_results([{"id": "r", "cases": [], "meta": {"reference_measurements": refs}}])
    order = claim(workload="reference", metric="time_per_op", unit="ns", rule="order",
                  checks=((Subject("host/os", params={"op": "thread_switch"}),
                           Subject("host/os", params={"op": "process_switch"})),))
    v = evaluate(order, results)
    assert v.verdict == CONSISTENT and v.checks[0].measured[0].summary.n == 5
    thread = claim(workload="reference", metric="time_per_op", unit="ns", rule="range", low=500, high=2000,
                   checks=((Subject("host/os", params={"op": "thread_switch"}),),))
    assert evaluate(thread, results).verdict == CONSISTENT
    busy = {**refs, "flags": ["host busy: 1-minute load average 9.0 on 2 CPUs; figures may be disturbed"]}
    flagged = make_results([{"id": "r", "cases": [], "meta": {"reference_measurements": busy}}])
    v = evaluate(thread, flagged)  # a busy host widens the spread; the interval still decides
    assert v.verdict == CONSISTENT and v.checks[0].evidence[0].flags == tuple(busy["flags"])


def test_rates_and_projections_combine_metrics_of_the_same_process():
    gc = case("worker_pool", "go/goroutines", {"tasks": 100, "workers": 0}, "gc_cycles", [2] * 5, unit="count")
    wall = case("worker_pool", "go/goroutines", {"tasks": 100, "workers": 0}, "wall_time", [0.5] * 5, unit="s")
    rate = claim(workload="worker_pool", metric="gc_cycles", per="wall_time", positive=False, rule="range",
                 low=3.9, high=4.1, checks=((Subject("go/goroutines"),),))
    v = evaluate(rate, make_results([{"id": "r", "cases": [gc, wall]}]))
    assert v.verdict == CONSISTENT and v.checks[0].measured[0].summary.median == 4
    rss = case("spawn_idle", "go/goroutines", {"tasks": 10000}, "peak_rss", [30e6] * 3, unit="B")
    per = case("spawn_idle", "go/goroutines", {"tasks": 10000}, "memory_per_task", [2500] * 3, unit="B")
    total = claim(workload="spawn_idle", metric="peak_rss", unit="B", rule="range", high=2**30,
                  extrapolate=Extrapolation("memory_per_task", "tasks", 100_000), checks=((Subject("go/goroutines"),),))
    v = evaluate(total, make_results([{"id": "r", "cases": [rss, per]}]))
    assert v.checks[0].measured[0].summary.median == pytest.approx(30e6 + 90_000 * 2500)
    assert "(100,000 − tasks) × memory_per_task" in total.projection and v.checks[0].measured[0].where == "tasks=10000"


# --- load-generator bound figures: lower bounds ---------------------------------------------

# the flag the harness writes (two reasons joined with "; " inside the one flag)
BOUND = bound_flag("wrk", 0.97, 1, 400_000, Ceiling("wrk", 16, 256, 410_000, "load generator"))
HOST_BUSY = "host busy: 1-minute load average 5.6 on 2 CPUs; figures may be disturbed"


def pipelined(impl: str, center: float, *, bound: bool = False, flags=(), conns: int = 256, k: int = 0) -> dict:
    return case("http_server", impl, {"phase": "pipelined", "connections": conns}, "qps",
                [center * (1 + 0.01 * (k - 1.5))], unit="req/s", per_case=True, label=f"pipelined,connections={conns}",
                flags=([BOUND] if bound else []) + list(flags))


def series(*subjects: tuple, runs: int = 4) -> Results:
    """Runs on one fingerprint, each with one figure per subject: (impl, requests/s, bound, extra flags)."""
    return make_results([{"id": f"r{k}", "cases": [pipelined(i, q, bound=b, flags=f, k=k) for i, q, b, f in subjects]}
                         for k in range(runs)])


def piped(name: str) -> Subject:
    """The pipelined phases of an implementation named "language/model[:variant]"."""
    impl, _, variant = name.partition(":")
    return Subject(impl, variant or "default", {"phase": "pipelined"})


def faster(a: str, b: str) -> Claim:
    """a serves more requests/s than b."""
    return claim(workload="http_server", metric="qps", rule="order", order="decreasing", across_cases="max",
                 checks=((piped(a), piped(b)),))


def test_the_bound_flag_is_one_flag_though_it_holds_semicolons():
    assert BOUND.startswith(BOUND_PREFIX) and "; " in BOUND


def test_a_bound_figure_is_a_lower_bound_in_an_ordering():
    axum, go = "rust/tokio:axum", "go/goroutines"
    # A bound and at or above B: A's true value is at least its figure, so A is faster
    v = evaluate(faster(axum, go), series((axum, 400_000, True, ()), (go, 300_000, False, ())))
    assert v.verdict == CONSISTENT
    assert "≥ 400k req/s, load-generator bound" in v.checks[0].text
    assert "≥ 400k req/s, load-generator bound" in measured_text(v)
    used = [e for e in claims_document([v])["claims"][0]["evidence"] if e["impl"] == "rust/tokio"]
    assert used and all(e["used"] and e["bound"] == "at least" and e["flags"] == [BOUND] for e in used)
    # A bound and below B: A may really be faster: inconclusive, never contradicted
    v = evaluate(faster(axum, go), series((axum, 300_000, True, ()), (go, 400_000, False, ())))
    assert v.verdict == UNDECIDED and "lower figure is load-generator bound" in v.checks[0].text
    # B bound and above A: B's true value is higher still, so A is not faster
    v = evaluate(faster(go, axum), series((axum, 400_000, True, ()), (go, 300_000, False, ())))
    assert v.verdict == CONTRADICTED
    # B bound and below A: B may really be faster than A
    v = evaluate(faster(go, axum), series((axum, 300_000, True, ()), (go, 400_000, False, ())))
    assert v.verdict == UNDECIDED
    # the same figures unbound would decide: the bound alone makes it inconclusive
    assert evaluate(faster(axum, go), series((axum, 300_000, False, ()), (go, 400_000, False, ()))).verdict == \
        CONTRADICTED


def test_two_bound_figures_are_never_ordered():
    axum, go = "rust/tokio:axum", "go/goroutines"
    for a, b in ((400_000, 300_000), (300_000, 400_000)):
        v = evaluate(faster(axum, go), series((axum, a, True, ()), (go, b, True, ())))
        assert v.verdict == UNDECIDED and "inconclusive: both load-generator bound" in v.checks[0].text
    assert judge_order([1, 2, 3], [7, 8, 9], True, (AT_LEAST, AT_LEAST)).result == "inconclusive"
    assert judge_order([1, 2, 3], [7, 8, 9], True, (AT_MOST, "")).result == "pass"  # an upper bound below: holds


def test_a_ratio_with_a_bound_numerator_is_at_least():
    axum, go = "rust/tokio:axum", "go/goroutines"
    ratio = claim(workload="http_server", metric="qps", rule="ratio", ratio=1.28, factor=1.5, across_cases="max",
                  checks=((piped(axum), piped(go)),))
    v = evaluate(ratio, series((axum, 420_000, True, ()), (go, 300_000, False, ())))  # 1.4x, band 1x-1.92x
    assert v.verdict == UNDECIDED and v.checks[0].value_sense == AT_LEAST and "ratio ≥ 1.4×" in measured_text(v)
    # at least 3x is already above the band: contradicted, bound or not
    v = evaluate(ratio, series((axum, 900_000, True, ()), (go, 300_000, False, ())))
    assert v.verdict == CONTRADICTED and "≥ 3×" in v.checks[0].text
    # a bound denominator makes the ratio "at most": below the band contradicts, inside is inconclusive
    v = evaluate(ratio, series((axum, 240_000, False, ()), (go, 300_000, True, ())))
    assert v.verdict == CONTRADICTED and v.checks[0].value_sense == AT_MOST
    assert evaluate(ratio, series((axum, 420_000, False, ()), (go, 300_000, True, ()))).verdict == UNDECIDED
    # both bound: no ratio at all
    v = evaluate(ratio, series((axum, 420_000, True, ()), (go, 300_000, True, ())))
    assert v.verdict == UNDECIDED and "both load-generator bound" in v.checks[0].text and v.checks[0].value is None
    # the unbound figures would be consistent
    assert evaluate(ratio, series((axum, 420_000, False, ()), (go, 300_000, False, ()))).verdict == CONSISTENT
    o = judge_ratio([5, 5, 5], [1, 1, 1], 2, 1.5, (AT_LEAST, ""))
    assert o.result == "fail" and o.sense == AT_LEAST  # at least 5x, above 3x


def test_a_range_with_a_bound_figure():
    go = "go/goroutines"
    about = claim(workload="http_server", metric="qps", rule="range", low=32_000, high=32_000, factor=1.5,
                  across_cases="max", checks=((Subject(go, params={"phase": "pipelined"}),),))  # 21.3k - 48k
    below = evaluate(about, series((go, 15_000, True, ())))
    assert below.verdict == UNDECIDED and "≥ 15k req/s, load-generator bound" in below.checks[0].text
    assert evaluate(about, series((go, 30_000, True, ()))).verdict == UNDECIDED  # inside: it may be above
    assert evaluate(about, series((go, 60_000, True, ()))).verdict == CONTRADICTED  # already above the top
    assert evaluate(about, series((go, 30_000, False, ()))).verdict == CONSISTENT
    at_least = claim(workload="http_server", metric="qps", rule="range", low=10_000, across_cases="max",
                     checks=((Subject(go, params={"phase": "pipelined"}),),))
    assert evaluate(at_least, series((go, 30_000, True, ()))).verdict == CONSISTENT  # ≥ 30k is ≥ 10k
    assert evaluate(at_least, series((go, 5_000, True, ()))).verdict == UNDECIDED
    fmt = str
    assert judge_range([5, 6, 7], 1, 10, fmt, AT_MOST).result == "inconclusive"  # at most 7: maybe below 1
    assert judge_range([5, 5.1, 5.2], 8, 10, fmt, AT_MOST).result == "fail"  # at most about 5.3, below 8


def test_other_flags_still_refuse_the_evidence_bound_or_not():
    go = "go/goroutines"
    at_least = claim(workload="http_server", metric="qps", rule="range", low=10_000, across_cases="max",
                     checks=((Subject(go, params={"phase": "pipelined"}),),))
    settle = "rate did not settle: stopped at the maximum duration, 15 s, without settling"
    for flags in ((settle,), (HOST_BUSY, settle)):
        for bound in (True, False):
            v = evaluate(at_least, series((go, 30_000, bound, flags)))
            assert v.verdict == NOT_MEASURED and "flagged: " in v.reason and settle in v.reason, v.reason
            assert all(not e["used"] for e in claims_document([v])["claims"][0]["evidence"])
    short = case("http_server", go, {"phase": "open", "rate": 0.5}, "qps", [30_000], unit="req/s", per_case=True,
                 label="open,rate=0.5", flags=[f"{SHORT_PREFIX} achieved 30,000 req/s of the 40,000 asked"])
    open_claim = claim(workload="http_server", metric="qps", rule="range", low=10_000,
                       checks=((Subject(go, params={"phase": "open"}),),))
    v = evaluate(open_claim, make_results([{"id": f"r{k}", "cases": [short]} for k in range(3)]))
    assert v.verdict == NOT_MEASURED and "flagged: rate short of target" in v.reason
    # the bound flag qualifies requests/s only: the same phase's latency is refused
    p99 = case("http_server", go, {"phase": "pipelined", "connections": 256}, "latency_p99", [0.01], unit="s",
               per_case=True, label="pipelined,connections=256", flags=[BOUND])
    latency = claim(workload="http_server", metric="latency_p99", rule="range", high=1.0,
                    checks=((Subject(go, params={"phase": "pipelined"}),),))
    v = evaluate(latency, make_results([{"id": f"r{k}", "cases": [p99]} for k in range(3)]))
    assert v.verdict == NOT_MEASURED and "flagged: load-generator bound" in v.reason


def test_an_unchosen_bound_case_makes_the_peak_a_lower_bound():
    go = "go/goroutines"
    peak = claim(workload="http_server", metric="qps", rule="range", low=20_000, high=40_000, across_cases="max",
                 checks=((Subject(go, params={"phase": "pipelined"}),),))
    runs = [{"id": f"r{k}", "cases": [pipelined(go, 30_000, k=k), pipelined(go, 25_000, bound=True, conns=16, k=k)]}
            for k in range(4)]
    v = evaluate(peak, make_results(runs))
    # the 16-connection figure is at least 25k and may be the true peak: 30k is only a lower bound of the peak
    assert v.verdict == UNDECIDED and v.checks[0].measured[0].bound == AT_LEAST
    assert v.checks[0].measured[0].where == "connections=256"
    runs = [{"id": f"r{k}", "cases": [pipelined(go, 30_000, k=k), pipelined(go, 25_000, conns=16, k=k)]}
            for k in range(4)]
    assert evaluate(peak, make_results(runs)).verdict == CONSISTENT


def test_runs_from_before_the_prefix_flag_the_same_way():
    go = "go/goroutines"
    at_least = claim(workload="http_server", metric="qps", rule="range", low=10_000, across_cases="max",
                     checks=((Subject(go, params={"phase": "closed"}),),))
    old = case("http_server", go, {"phase": "closed", "connections": 64}, "qps", [30_000], unit="req/s",
               per_case=True, label="closed,connections=64", flags=[f"{LEGACY_BOUND} kept 95% of its 1 CPU(s) busy"])
    v = evaluate(at_least, make_results([{"id": f"r{k}", "cases": [old]} for k in range(3)]))
    assert v.verdict == CONSISTENT and v.checks[0].measured[0].bound == AT_LEAST


def test_a_bound_flag_read_from_run_json_keeps_its_semicolons(tmp_path):
    """The whole path from a stored run: the flag list of run.json, not its "; "-joined text, is judged."""
    go_faster = claim(workload="http_server", metric="qps", rule="range", low=10_000, across_cases="max",
                      checks=((Subject("rust/tokio", params={"phase": "closed"}),),))
    settle = "rate did not settle: stopped at the maximum duration, 15 s, without settling"
    for flags, verdict in (([BOUND], CONSISTENT), ([BOUND, HOST_BUSY], CONSISTENT), ([BOUND, settle], NOT_MEASURED)):
        folders = []
        for k in range(3):
            run = load_run(FIXTURES / "run-a")
            run_id = f"20260101T00000{k}Z"
            run["run_id"] = run_id
            for c in run["cases"]:
                if c["workload"] == "http_server" and c["impl"] == "rust/tokio" and c["case"].startswith("closed"):
                    c["flags"] = list(flags)
            folder = tmp_path / f"{verdict[:3]}{len(flags)}-{k}"
            folder.mkdir()
            (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
            csv = (FIXTURES / "run-a" / "results.csv").read_text(encoding="utf-8")
            (folder / "results.csv").write_text(csv.replace("20260101T000000Z", run_id), encoding="utf-8")
            folders.append(folder)
        v = evaluate(go_faster, load_results(folders))
        assert v.verdict == verdict, v.reason
        if verdict == CONSISTENT:
            assert v.checks[0].measured[0].bound == AT_LEAST and "≥ 47k req/s, load-generator bound" in v.checks[0].text
        else:
            assert "flagged: " in v.reason and "rate did not settle" in v.reason


def test_claims_json_lists_each_claims_verdict_and_evidence():
    results = make_results([{"id": "r1", "cases": [ping("c/pthreads", 400_000)]}])
    verdicts = evaluate_all(load_ledger(), results)
    doc = json.loads(json.dumps(claims_document(verdicts)))
    assert doc["schema"] == 1 and len(doc["claims"]) == len(load_ledger().claims)
    allowed = {CONSISTENT, CONTRADICTED, PARTIAL, UNDECIDED, NOT_MEASURED}
    for c in doc["claims"]:
        assert c["verdict"] in allowed and isinstance(c["evidence"], list) and c["id"]
        for e in c["evidence"]:
            assert {"run_id", "workload", "case", "impl", "variant", "n", "flags"} <= set(e)


def test_the_real_ledger_on_the_fixture_runs():
    results = load_results([FIXTURES / "run-a", FIXTURES / "run-b"])
    verdicts = {v.claim.id: v for v in evaluate_all(load_ledger(), results)}
    # fixture: go 2.6 KB per goroutine against 20 KiB for c/pthreads, two smoke runs of one fingerprint
    assert verdicts["goroutine-vs-thread-memory"].verdict == PARTIAL  # rust and java threads were not run
    assert verdicts["goroutine-vs-thread-memory"].checks[0].passed
    # one closed-loop phase per run: requests/s have n = 2 over the two runs, too few to judge
    assert verdicts["http-qps-axum-vs-go"].verdict == NOT_MEASURED
    go = verdicts["http-qps-go"]
    assert go.verdict == NOT_MEASURED and "needs at least 4 CPUs" in go.reason  # a 2-CPU run, a 1-CPU server
    assert go.group == "needs a bigger host" and "--cpus 4" in go.how and "--cluster" in go.how
    assert verdicts["http-qps-fastapi"].verdict == NOT_MEASURED
    assert verdicts["pool-vs-spawn-throughput"].verdict == CONSISTENT  # 3.0x against 2.77x within a factor 2
