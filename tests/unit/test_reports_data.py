"""reports.data: loading, validating and summarising stored runs (fixtures under tests/fixtures/reports)."""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path

import pytest

from harness.errors import UserError
from reports.data import (
    find_runs,
    implementation_label,
    implementation_order,
    label_parts,
    load_results,
    parse_params,
    resolve_run_paths,
    short_case_labels,
    summarize,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reports"
RUN_A, RUN_B = FIXTURES / "run-a", FIXTURES / "run-b"


@pytest.fixture
def copy_run(tmp_path):
    def copy(src: Path = RUN_A, name: str = "run") -> Path:
        dst = tmp_path / name
        shutil.copytree(src, dst)
        return dst
    return copy


def test_runs_are_ordered_by_start_whatever_the_argument_order():
    results = load_results([RUN_B, RUN_A])
    assert [r.run_id for r in results.runs] == ["20260101T000000Z", "20260102T000000Z"]
    assert results.latest.run_id == "20260102T000000Z"
    assert set(results.samples["run_id"]) == {"20260101T000000Z", "20260102T000000Z"}


def test_samples_are_typed_and_labelled():
    s = load_results([RUN_A]).samples
    assert s["value"].dtype == float
    iteration_rows = s[s["metric"] == "wall_time"]
    assert iteration_rows["iteration"].notna().all() and iteration_rows["process"].notna().all()
    case_rows = s[s["metric"] == "qps"]
    assert case_rows["process"].isna().all()
    assert set(s["implementation"]) >= {"go/goroutines", "c/pthreads", "rust/tokio", "python/asyncio"}


def test_case_outcomes_include_failures_and_unsupported():
    cases = load_results([RUN_A]).latest.cases
    by = {(r.workload, r.implementation): r for r in cases.itertuples()}
    assert by[("ping_pong", "rust/threads")].status == "crashed"
    assert "Segmentation fault" in by[("ping_pong", "rust/threads")].error
    assert by[("mutex_counter", "python/asyncio")].status == "unsupported"


def test_summary_uses_the_harness_quartiles_and_instability_rule():
    results = load_results([RUN_A])
    summaries = summarize(results.samples)
    row = summaries[(summaries["workload"] == "worker_pool") & (summaries["implementation"] == "c/pthreads")
                    & (summaries["metric"] == "wall_time") & (summaries["case"].str.contains("workers=4"))].iloc[0]
    values = results.samples[(results.samples["workload"] == "worker_pool")
                             & (results.samples["implementation"] == "c/pthreads")
                             & (results.samples["metric"] == "wall_time")
                             & (results.samples["case"].str.contains("workers=4"))]["value"].tolist()
    q1, _, q3 = statistics.quantiles(sorted(values), n=4, method="inclusive")
    assert row["n"] == 6
    assert row["median"] == pytest.approx(statistics.median(values))
    assert (row["q1"], row["q3"]) == pytest.approx((q1, q3))
    assert bool(row["unstable"]) is True  # the fixture's c/pthreads spread is about 40%
    go = summaries[(summaries["workload"] == "worker_pool") & (summaries["implementation"] == "go/goroutines")
                   & (summaries["metric"] == "wall_time")]
    assert not go["unstable"].any()
    assert set(summaries[summaries["metric"] == "peak_rss"]["n"]) == {1, 2}  # per process (http: one process)


def test_missing_column_is_one_line_naming_the_file(copy_run):
    run = copy_run()
    text = (run / "results.csv").read_text().replace("direction,", "dir,", 1)
    (run / "results.csv").write_text(text)
    with pytest.raises(UserError, match=r"results\.csv: column 'direction' is missing"):
        load_results([run])


def test_a_value_that_is_not_a_number_names_its_line(copy_run):
    run = copy_run()
    lines = (run / "results.csv").read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",oops"
    (run / "results.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"line 4: value 'oops' is not a number"):
        load_results([run])


def test_unknown_direction_is_refused(copy_run):
    run = copy_run()
    text = (run / "results.csv").read_text().replace(",higher,", ",up,", 1)
    (run / "results.csv").write_text(text)
    with pytest.raises(UserError, match="direction 'up'"):
        load_results([run])


def test_rows_of_another_run_are_refused(copy_run):
    run = copy_run()
    meta = json.loads((run / "run.json").read_text())
    meta["run_id"] = "20990101T000000Z"
    (run / "run.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="keep each run in its own folder"):
        load_results([run])


def test_newer_schema_is_refused(copy_run):
    run = copy_run()
    meta = json.loads((run / "run.json").read_text())
    meta["schema"] = 99
    (run / "run.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="newer than this cmbench reads"):
        load_results([run])


def test_the_same_run_twice_is_refused(copy_run):
    with pytest.raises(UserError, match="appears twice"):
        load_results([RUN_A, copy_run(RUN_A, "again")])


def test_no_runs_is_a_user_error():
    with pytest.raises(UserError, match="no runs"):
        load_results([])


def test_run_paths_resolve_folders_and_ids(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(RUN_A, results / "20260101T000000Z")
    assert resolve_run_paths(["20260101T000000Z"], results) == [results / "20260101T000000Z"]
    assert resolve_run_paths([str(RUN_B)], results) == [RUN_B]
    assert find_runs(results) == [results / "20260101T000000Z"]
    with pytest.raises(UserError, match="RUN_DIR nope: no such folder"):
        resolve_run_paths(["nope"], results)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no run.json"):
        resolve_run_paths([str(tmp_path / "empty")], results)


def test_labels_and_params():
    assert implementation_label("go/goroutines", "default") == "go/goroutines"
    assert implementation_label("go/goroutines", "gomaxprocs1") == "go/goroutines:gomaxprocs1"
    assert parse_params("threads=4,mode=mutex,cpus=2") == {"threads": "4", "mode": "mutex", "cpus": "2"}
    assert label_parts("closed,connections=64") == (("closed",), {"connections": "64"})
    assert implementation_order(["rust/tokio", "go/goroutines:gomaxprocs1", "go/goroutines"]) == [
        "go/goroutines", "go/goroutines:gomaxprocs1", "rust/tokio"]


def test_short_case_labels_keep_only_what_differs():
    cases = ["tasks=100,queue=8,workers=4,rounds=2", "tasks=100,queue=8,workers=0,rounds=2"]
    assert short_case_labels(cases) == {cases[0]: "workers=4", cases[1]: "workers=0"}
    assert short_case_labels(["roundtrips=1000"]) == {"roundtrips=1000": "roundtrips=1000"}
    phases = ["closed,connections=16", "open,rate=0.5"]
    assert short_case_labels(phases) == {p: p for p in phases}


def test_every_report_weighs_each_process_once_in_a_median(copy_run):
    import pandas as pd

    from harness.measure.stats import summarize as summarize_values
    from reports.compare import compare_runs
    from reports.figures import figures
    from reports.repeatability import run_figures

    run = copy_run()
    raw = pd.read_csv(run / "results.csv", dtype=str, keep_default_na=False)
    case = ((raw["workload"] == "worker_pool") & (raw["impl"] == "c/pthreads") & (raw["metric"] == "wall_time")
            & raw["case"].str.contains("workers=4"))
    label = raw.loc[case, "case"].iloc[0]
    case &= raw["case"] == label
    values = sorted(float(v) for v in raw.loc[case, "value"])
    # one process ran four of the six iterations, all on the low level; two ran one each, higher
    raw.loc[case, "value"] = [repr(v) for v in values]
    raw.loc[case, "process"] = ["1", "1", "1", "1", "2", "3"]
    raw.to_csv(run / "results.csv", index=False)
    weighted = summarize_values(values, [1, 1, 1, 1, 2, 3]).median
    assert weighted != pytest.approx(statistics.median(values))

    results = load_results([run, RUN_B])
    a = results.runs[-1].run_id if results.runs[-1].path == run else results.runs[0].run_id
    rows = summarize(results.samples)
    row = rows[(rows["run_id"] == a) & (rows["workload"] == "worker_pool") & (rows["implementation"] == "c/pthreads")
               & (rows["metric"] == "wall_time") & (rows["case"] == label)].iloc[0]
    assert row["median"] == pytest.approx(weighted)
    key = ("worker_pool", label, "c/pthreads", "wall_time")
    assert figures(results.run(a), results.samples_of(a), ["wall_time"])[key].median == pytest.approx(weighted)
    assert run_figures(results, a)[("worker_pool", label, "c/pthreads", "default", "wall_time")]["median"] == \
        pytest.approx(weighted)
    other = next(r.run_id for r in results.runs if r.run_id != a)
    table = compare_runs(results, a, other).frame
    mine = table[(table["implementation"] == "c/pthreads") & (table["metric"] == "wall_time")
                 & (table["case"] == label)]
    assert mine.iloc[0]["a_median"] == pytest.approx(weighted)
