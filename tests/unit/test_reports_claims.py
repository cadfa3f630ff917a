"""The claims ledger: claims.toml loads and validates, and verdicts follow their rules."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness.errors import UserError
from reports.claims import (
    CONSISTENT,
    CONTRADICTED,
    NOT_MEASURED,
    Claim,
    Source,
    Subject,
    evaluate,
    evaluate_all,
    load_ledger,
)
from reports.data import CASE_COLUMNS, Results, Run, implementation_label, load_results

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reports"
SOURCE = Source("000_x.txt", "2.1 某节", "引文")


def make_results(runs: list[tuple[str, int, list[tuple]]]) -> Results:
    """runs: (run_id, cpus, rows); a row: (workload, case, impl, params, metric, unit, direction, values)."""
    out_runs, frames = [], []
    for run_id, cpus, rows in runs:
        records = []
        for workload, case, impl, params, metric, unit, direction, values in rows:
            base, _, variant = impl.partition(":")
            variant = variant or "default"
            for i, v in enumerate(values):
                records.append({"run_id": run_id, "workload": workload, "case": case, "impl": base,
                                "language": base.split("/")[0], "model": base.split("/")[1], "variant": variant,
                                "executor": "native", "params": f"{params},cpus={cpus},executor=native",
                                "metric": metric, "unit": unit, "direction": direction, "process": i // 3,
                                "iteration": i % 3, "value": float(v),
                                "implementation": implementation_label(base, variant)})
        frames.append(pd.DataFrame(records))
        out_runs.append(Run(Path(run_id), {"run_id": run_id, "started": run_id, "cpus": list(range(cpus))},
                            pd.DataFrame(columns=CASE_COLUMNS)))
    return Results(tuple(out_runs), pd.concat(frames, ignore_index=True))


def claim(**kw) -> Claim:
    base = dict(id="c", source=SOURCE, zh="中文", en="English", claimed="x", needs="the right results")
    return Claim(**{**base, **kw})


def ping(impl: str, per_second: float) -> tuple:
    return ("ping_pong", "roundtrips=1000", impl, "roundtrips=1000", "throughput", "ops/s", "higher",
            [per_second * f for f in (0.99, 1.0, 1.01, 1.0, 0.98, 1.02)])


def test_the_ledger_loads_and_every_measured_claim_is_well_formed():
    ledger = load_ledger()
    ids = [c.id for c in ledger.claims]
    assert len(ids) == len(set(ids)) >= 20
    documents = {c.source.document for c in ledger.claims}
    assert documents == {"000_25352d511d78d765.txt", "001_60d4421e1e2cd94c.txt", "003_b6f8a11798753660.txt"}
    assert {o.document for o in ledger.out_of_scope} >= {"002_e7e9def27a1338e6.txt"}
    for c in ledger.claims:
        assert c.zh and c.en and c.claimed and c.source.section and c.source.quote
        if c.workload:
            assert c.rule in ("range", "ratio", "order") and c.checks and c.rule_text()
    by_id = {c.id: c for c in ledger.claims}
    assert by_id["http-qps-go"].cpus == 4
    assert "FastAPI" in by_id["http-qps-fastapi"].needs and not by_id["http-qps-fastapi"].workload


def test_the_claims_the_documents_make_are_in_the_ledger():
    quotes = " ".join(c.source.quote + " ".join(a.quote for a in c.also) for c in load_ledger().claims)
    for figure in ("500 – 2000", "3000 – 10000", "2KB", "1MB", "~32,000", "~18,500", "~41,000", "~1.2GB",
                   "~3.8GB", "~860MB", "8,200", "22,700", "10万级并发连接仅需百MB内存", "小于预期", "原子操作",
                   "每任务一goroutine", "数万QPS", "8 MB"):
        assert figure in quotes, figure


def test_range_rule_with_a_transform():
    # 1 / (2 x round trips per second) in ns: 400k round trips/s -> 1250 ns per hop
    c = claim(workload="ping_pong", metric="throughput", scale=5e8, invert=True, unit="ns", rule="range",
              low=500, high=2000, factor=1.5, checks=((Subject("c/pthreads"),),))
    ok = evaluate(c, make_results([("r1", 2, [ping("c/pthreads", 400_000)])]))
    assert ok.verdict == CONSISTENT
    assert ok.checks[0].measured[0].summary.median == pytest.approx(1250)
    assert "1.25 us" in ok.checks[0].text and ok.checks[0].run_id == "r1"
    slow = evaluate(c, make_results([("r1", 2, [ping("c/pthreads", 100_000)])]))  # 5000 ns > 3000 ns
    assert slow.verdict == CONTRADICTED


def test_range_rule_bound_by_the_widening_factor():
    c = claim(workload="ping_pong", metric="throughput", rule="range", low=100, factor=2,
              checks=((Subject("go/goroutines"),),))
    assert evaluate(c, make_results([("r", 2, [ping("go/goroutines", 51)])])).verdict == CONSISTENT
    assert evaluate(c, make_results([("r", 2, [ping("go/goroutines", 49)])])).verdict == CONTRADICTED


def test_ratio_rule_needs_the_same_side_of_one_and_the_factor():
    c = claim(workload="ping_pong", metric="throughput", rule="ratio", ratio=1.28, factor=1.5,
              checks=((Subject("rust/tokio"), Subject("go/goroutines")),))

    def verdict_for(rust: float, go: float) -> str:
        return evaluate(c, make_results([("r", 2, [ping("rust/tokio", rust), ping("go/goroutines", go)])])).verdict
    assert verdict_for(41_000, 32_000) == CONSISTENT
    assert verdict_for(30_000, 32_000) == CONTRADICTED  # within the factor, but the order is reversed
    assert verdict_for(80_000, 32_000) == CONTRADICTED  # 2.5x, beyond 1.28 x 1.5


def test_order_rule_per_implementation_and_partial_data():
    rows = [("mutex_counter", "mode=mutex", "go/goroutines", "mode=mutex", "throughput", "ops/s", "higher",
             [10, 11, 12]),
            ("mutex_counter", "mode=atomic", "go/goroutines", "mode=atomic", "throughput", "ops/s", "higher",
             [50, 51, 52])]
    each = tuple((Subject(i, params={"mode": "mutex"}), Subject(i, params={"mode": "atomic"}))
                 for i in ("go/goroutines", "c/pthreads"))
    c = claim(workload="mutex_counter", metric="throughput", rule="order", order="increasing", checks=each)
    v = evaluate(c, make_results([("r", 2, rows)]))
    assert v.verdict == CONSISTENT
    assert [k.passed for k in v.checks] == [True, None]
    assert "no mutex_counter throughput results for c/pthreads" in v.checks[1].text
    flipped = [(*r[:7], [50, 51, 52] if "mutex" in r[1] else [10, 11, 12]) for r in rows]
    assert evaluate(c, make_results([("r", 2, flipped)])).verdict == CONTRADICTED


def test_not_measured_when_nothing_matches_or_no_workload():
    c = claim(workload="ping_pong", metric="throughput", rule="range", low=1, checks=((Subject("java/threads"),),))
    v = evaluate(c, make_results([("r", 2, [ping("go/goroutines", 5)])]))
    assert v.verdict == NOT_MEASURED
    assert "no ping_pong throughput results for java/threads" in v.reason and "the right results" in v.reason
    static = evaluate(claim(needs="a FastAPI implementation"), make_results([("r", 2, [ping("go/goroutines", 5)])]))
    assert static.verdict == NOT_MEASURED and static.reason == "a FastAPI implementation"


def test_absolute_claims_need_the_same_core_count():
    c = claim(workload="ping_pong", metric="throughput", rule="range", low=1, cpus=4,
              checks=((Subject("go/goroutines"),),))
    v = evaluate(c, make_results([("r", 2, [ping("go/goroutines", 5)])]))
    assert v.verdict == NOT_MEASURED
    assert "measured on 2 CPUs" in v.reason and "compare ratios" in v.reason
    assert evaluate(c, make_results([("r", 4, [ping("go/goroutines", 5)])])).verdict == CONSISTENT


def test_the_newest_run_with_every_subject_is_used():
    c = claim(workload="ping_pong", metric="throughput", rule="ratio", ratio=2, factor=1.2,
              checks=((Subject("go/goroutines"), Subject("c/pthreads")),))
    results = make_results([
        ("r1", 2, [ping("go/goroutines", 200), ping("c/pthreads", 100)]),  # ratio 2: consistent
        ("r2", 2, [ping("go/goroutines", 900), ping("c/pthreads", 100)]),  # ratio 9: contradicted
        ("r3", 2, [ping("go/goroutines", 200)]),  # c/pthreads missing: not usable
    ])
    v = evaluate(c, results)
    assert v.checks[0].run_id == "r2" and v.verdict == CONTRADICTED


def test_across_cases_max_takes_the_best_case():
    rows = [("http_server", f"closed,connections={n}", "go/goroutines", f"phase=closed,connections={n}", "qps",
             "req/s", "higher", [q]) for n, q in ((16, 20_000), (64, 30_000))]
    c = claim(workload="http_server", metric="qps", rule="range", low=25_000, across_cases="max",
              checks=((Subject("go/goroutines"),),))
    v = evaluate(c, make_results([("r", 2, rows)]))
    assert v.verdict == CONSISTENT and v.checks[0].measured[0].cases == ("closed,connections=64",)
    pooled = claim(workload="http_server", metric="qps", rule="range", low=25_000,
                   checks=((Subject("go/goroutines"),),))
    assert evaluate(pooled, make_results([("r", 2, rows)])).verdict == CONSISTENT  # median of 20k, 30k = 25k


def test_the_real_ledger_on_the_fixture_runs():
    results = load_results([FIXTURES / "run-a", FIXTURES / "run-b"])
    verdicts = {v.claim.id: v for v in evaluate_all(load_ledger(), results)}
    # fixture: go 2600 B per goroutine (1-4 KiB: consistent), c/pthreads 20 KiB
    assert verdicts["goroutine-stack-2kb"].verdict == CONSISTENT
    assert verdicts["goroutine-vs-thread-memory"].verdict == CONSISTENT
    assert verdicts["spawn-cost"].verdict == CONSISTENT
    # fixture http runs on 1 server CPU: absolutes are not compared, ratios are
    assert verdicts["http-qps-go"].verdict == NOT_MEASURED and "1 CPU" in verdicts["http-qps-go"].reason
    assert verdicts["http-qps-axum-vs-go"].verdict == CONSISTENT  # 47k / 36k = 1.31 against 1.28
    # 4 KiB / 9 KiB per connection = 0.44, below 0.717 / 1.5 = 0.48: the claimed ratio is too far
    assert verdicts["http-memory-axum-vs-go"].verdict == CONTRADICTED
    assert verdicts["http-qps-fastapi"].verdict == NOT_MEASURED


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
     'claimed = "c"\nneeds = "n"\n[[claims]]\nid = "a"\ndocument = "d"\nsection = "s"\nquote = "q"\nzh = "z"\n'
     'en = "e"\nclaimed = "c"\nneeds = "n"\n', "claim id 'a' is used twice"),
])
def test_ledger_mistakes_are_one_line_naming_the_file(tmp_path, text, message):
    path = tmp_path / "claims.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message) as e:
        load_ledger(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)
