"""The history store (reports/history/store.py) over the fixture runs, and the environment fingerprint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from harness.errors import UserError
from harness.host.fingerprint import differences, fingerprint
from harness.measure.stats import summarize
from harness.store.run import load_run
from reports.history.store import (
    ANALYSIS_COLUMNS,
    COLUMNS,
    HISTORY_SCHEMA,
    append_run,
    load_history,
    load_runs,
    rebuild,
    run_environments,
    stored_runs,
    sync,
)
from reports.samples import read_samples, summarize_samples

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reports"


@pytest.fixture
def results(tmp_path) -> Path:
    for name in ("run-a", "run-b"):
        shutil.copytree(FIXTURES / name, tmp_path / name)
    return tmp_path


def test_a_run_becomes_one_row_per_case_and_metric_with_the_harness_summary(results):
    appended = append_run(results, results / "run-a")
    h = load_history(results)
    assert tuple(h.columns) == COLUMNS and appended.rows == len(h) and appended.bytes > 0
    samples = read_samples(results / "run-a" / "results.csv", "20260101T000000Z")
    expected = summarize_samples(samples)
    ok = h[h["metric"] != ""]
    assert len(ok) == len(expected)
    row = ok[(ok["workload"] == "worker_pool") & (ok["impl"] == "c/pthreads") & (ok["metric"] == "wall_time")
             & ok["case"].str.contains("workers=4")].iloc[0]
    values = samples[(samples["workload"] == "worker_pool") & (samples["impl"] == "c/pthreads")
                     & (samples["metric"] == "wall_time") & samples["case"].str.contains("workers=4")]["value"]
    s = summarize(values.tolist())
    assert (row["n"], row["median"], row["q1"], row["q3"]) == (s.n, s.median, s.q1, s.q3)
    assert row["iqr"] == pytest.approx(s.q3 - s.q1) and bool(row["unstable"]) == s.unstable
    meta = load_run(results / "run-a")
    assert row["git_commit"] == meta["host"]["git"]["commit"] and row["fingerprint"] == fingerprint(meta).key
    assert row["toolchain"] == meta["toolchains"]["c/pthreads"] and row["profile"] == "smoke"
    failed = h[h["metric"] == ""]
    crashed = failed[failed["impl"] == "rust/threads"].iloc[0]
    assert crashed["status"] == "crashed" and "Segmentation fault" in crashed["error"] and pd.isna(crashed["n"])


def test_appending_is_idempotent_and_rebuild_gives_the_same_store(results):
    append_run(results, results / "run-a")
    append_run(results, results / "run-b")
    first = load_history(results)
    append_run(results, results / "run-a")
    assert len(stored_runs(results)) == 2
    again = load_history(results)
    assert again.equals(first)
    r = rebuild(results)
    assert (r.runs, r.rows) == (2, len(first)) and r.bytes > 0
    assert load_history(results).equals(first)
    assert list(dict.fromkeys(first["run_id"])) == ["20260101T000000Z", "20260102T000000Z"]  # oldest first


def test_sync_adds_what_is_missing_and_runs_keep_their_facts(results):
    assert sync(results) == ["20260101T000000Z", "20260102T000000Z"]
    assert sync(results) == []
    facts = load_runs(results)["20260102T000000Z"]
    assert facts["fingerprint_text"].startswith("Fixture CPU x2, Linux 6.1.0, native")
    env = run_environments(results)["20260101T000000Z"]
    assert "loadavg" not in env["host"] and env["toolchains"]["go/goroutines"]
    assert set(load_history(results, ANALYSIS_COLUMNS).columns) == set(ANALYSIS_COLUMNS)


def test_case_flags_are_kept(results):
    meta = json.loads((results / "run-a" / "run.json").read_text())
    for c in meta["cases"]:
        c["flags"] = ["host busy: other processes used 1.20 CPUs"] if c["status"] == "ok" else []
    (results / "run-a" / "run.json").write_text(json.dumps(meta))
    append_run(results, results / "run-a")
    h = load_history(results)
    assert h.loc[h["status"] == "ok", "flags"].str.startswith("host busy").all()


def test_a_cluster_runs_cases_take_their_own_hosts_fingerprint(results):
    meta = json.loads((results / "run-a" / "run.json").read_text())
    other = {**meta["host"], "kernel": "Linux 6.12.0"}
    meta["hosts"] = {"a": meta["host"], "b": other}
    for i, c in enumerate(meta["cases"]):
        c["host"] = "ab"[i % 2]
    (results / "run-a" / "run.json").write_text(json.dumps(meta))
    append_run(results, results / "run-a")
    h = load_history(results)
    assert set(h["fingerprint"]) == {fingerprint(meta).key, fingerprint(meta, other).key}


def test_newer_formats_are_refused(results):
    append_run(results, results / "run-a")
    store = results / "history" / "store.json"
    store.write_text(json.dumps({"schema": HISTORY_SCHEMA + 1}))
    with pytest.raises(UserError, match="newer than this cmbench reads"):
        load_history(results)
    store.write_text(json.dumps({"schema": HISTORY_SCHEMA}))
    path = next(iter(stored_runs(results).values()))
    table = pq.read_table(path)
    meta = {**table.schema.metadata, b"cmbench.history.schema": str(HISTORY_SCHEMA + 1).encode()}
    pq.write_table(table.replace_schema_metadata(meta), path)
    with pytest.raises(UserError, match="newer than this cmbench reads"):
        load_history(results)


def test_rebuild_without_runs_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no run folders"):
        rebuild(tmp_path)
    assert load_history(tmp_path).empty


def test_the_fingerprint_is_what_a_series_may_not_mix():
    meta = load_run(FIXTURES / "run-a")
    fp = fingerprint(meta)
    assert (fp.cpu_model, fp.cpu_count, fp.kernel, fp.executor, fp.cpus, fp.profile) == (
        "Fixture CPU", 2, "Linux 6.1.0", "native", "0,1", "smoke")
    newer = {**meta, "host": {**meta["host"], "kernel": "Linux 6.12.0", "governor": "powersave"},
             "toolchains": {**meta["toolchains"], "go/goroutines": "go version go1.28.0 linux/amd64"}}
    assert fingerprint(newer).key != fp.key
    assert fingerprint({**meta, "host": {**meta["host"], "hostname": "elsewhere"}}).key == fp.key
    diff = differences(meta, newer)
    assert "kernel: Linux 6.1.0 -> Linux 6.12.0" in diff
    assert any(d.startswith("governor:") for d in diff)
    assert any(d.startswith("toolchain go/goroutines:") and "go1.28.0" in d for d in diff)
