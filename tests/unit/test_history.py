"""The history store (reports/history/store.py) over the fixture runs, and the environment fingerprint."""

from __future__ import annotations

import json
import os
import shutil
import time
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
    assert json.loads(store.read_text()) == {"schema": HISTORY_SCHEMA + 1}  # never written over
    store.write_text(json.dumps({"schema": HISTORY_SCHEMA}))
    path = next(iter(stored_runs(results).values()))
    table = pq.read_table(path)
    meta = {**table.schema.metadata, b"cmbench.history.schema": str(HISTORY_SCHEMA + 1).encode()}
    pq.write_table(table.replace_schema_metadata(meta), path)
    newer = path.read_bytes()
    with pytest.raises(UserError, match="newer than this cmbench reads"):
        load_history(results)
    assert path.read_bytes() == newer


def test_rebuild_without_runs_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no run folders"):
        rebuild(tmp_path)
    assert load_history(tmp_path).empty


def test_the_fingerprint_is_what_a_series_may_not_mix():
    meta = load_run(FIXTURES / "run-a")
    fp = fingerprint(meta)
    assert (fp.cpu_model, fp.cpu_count, fp.kernel, fp.executor, fp.cpus, fp.profile) == (
        "Fixture CPU", 2, "Linux 6.1.0", "native", "0,1", "smoke")
    idle = {"name": "idle_states", "status": "warn", "state": "may enter C1 (2 us to leave) on CPU 0-1"}
    irqs = {"name": "irq_affinity", "status": "warn", "state": "2 of 24 IRQs may run on CPU 0-1"}
    meta = {**meta, "host": {**meta["host"], "system": {"checks": [idle, irqs]}}}
    tuned = [{**idle, "status": "ok", "state": "polling only on CPU 0-1"}, {**irqs, "state": "3 of 25 IRQs ..."}]
    newer = {**meta, "host": {**meta["host"], "kernel": "Linux 6.12.0", "governor": "powersave",
                              "system": {"checks": tuned}},
             "toolchains": {**meta["toolchains"], "go/goroutines": "go version go1.28.0 linux/amd64"}}
    assert fingerprint(newer).key != fp.key
    assert fingerprint({**meta, "host": {**meta["host"], "hostname": "elsewhere"}}).key == fp.key
    diff = differences(meta, newer)
    assert "kernel: Linux 6.1.0 -> Linux 6.12.0" in diff
    assert any(d.startswith("governor:") for d in diff)
    assert any(d.startswith("toolchain go/goroutines:") and "go1.28.0" in d for d in diff)
    assert ("system idle_states: warn (may enter C1 (2 us to leave) on CPU 0-1) -> ok (polling only on CPU 0-1)"
            in diff) and not any("irq_affinity" in d for d in diff)  # a state alone moves without a setting


A, B = "20260101T000000Z", "20260102T000000Z"  # the run ids of run-a and run-b


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def warnings(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("cmbench: warning: ")]


def test_a_damaged_run_file_is_written_anew_from_its_run_folder(results, capsys):
    sync(results)
    first = load_history(results)
    path = stored_runs(results)[A]
    truncate(path)
    h = load_history(results)
    [warning] = warnings(capsys)
    assert warning.startswith(f"cmbench: warning: {path}: unreadable (") and warning.endswith(
        f"; rebuilt from {results / 'run-a'}")
    assert h.equals(first)  # nothing lost, the file whole again
    assert pq.read_table(path).num_rows == (first["run_id"] == A).sum()
    assert load_runs(results)[A]["run_id"] == A and warnings(capsys) == []
    truncate(path)  # the footers alone heal too
    assert set(run_environments(results)) == {A, B}
    [warning] = warnings(capsys)
    assert f"{path}: unreadable" in warning and "rebuilt from" in warning
    assert load_history(results).equals(first)


def test_a_damaged_run_file_without_a_run_folder_is_moved_aside(results, capsys):
    sync(results)
    first = load_history(results)
    path = stored_runs(results)[A]
    shutil.rmtree(results / "run-a")
    path.write_bytes(b"not parquet")
    h = load_history(results)
    [aside] = path.parent.glob(f"{path.name}.corrupt-*")
    [warning] = warnings(capsys)
    assert warning.startswith(f"cmbench: warning: {path}: unreadable (") and f"moved aside to {aside}" in warning
    assert f"no run folder under {results} holds run {A}" in warning
    assert aside.read_bytes() == b"not parquet" and not path.exists()
    assert h.equals(first[first["run_id"] == B].reset_index(drop=True))  # the other run stays
    assert load_history(results).equals(h) and warnings(capsys) == []  # warned once


def test_a_damaged_store_marker_is_written_anew_and_keeps_the_runs(results, capsys):
    sync(results)
    first = load_history(results)
    marker = results / "history" / "store.json"
    marker.write_text('{"sche')
    assert load_history(results).equals(first)
    assert warnings(capsys) == [f"cmbench: warning: {marker}: damaged; written anew (history schema "
                                f"{HISTORY_SCHEMA}), the stored runs kept"]
    assert json.loads(marker.read_text())["schema"] == HISTORY_SCHEMA
    marker.write_bytes(b"\xff\xfe")
    append_run(results, results / "run-b")
    assert len(warnings(capsys)) == 1 and load_history(results).equals(first)


@pytest.mark.parametrize("damage", ["run.json", "results.csv"])
def test_a_damaged_run_folder_is_left_out_and_its_stored_rows_kept(results, capsys, damage):
    (results / "run-b").rename(results / B)  # named by its run id, as a nightly names it
    sync(results)
    first = load_history(results)
    broken = results / B / damage
    truncate(broken)
    os.utime(broken.parent / "run.json", (time.time() + 10,) * 2)  # newer than its stored rows: synced again
    shutil.copytree(FIXTURES / "run-a", results / "run-c")  # a third run, as a later nightly adds it
    for name in ("run.json", "results.csv"):
        path = results / "run-c" / name
        path.write_text(path.read_text().replace(A, "20260103T000000Z").replace("2026-01-01T", "2026-01-03T"))
    assert sync(results) == ["20260103T000000Z"]  # the other runs go on
    [warning] = warnings(capsys)
    assert warning.startswith(f"cmbench: warning: {broken}: ") and warning.endswith(
        f"; run folder {results / B} left out of the history store")
    h = load_history(results)
    assert h[h["run_id"] != "20260103T000000Z"].reset_index(drop=True).equals(first)  # run-b's rows kept
    r = rebuild(results)
    [warning] = warnings(capsys)
    assert warning.startswith(f"cmbench: warning: {broken}: ") and warning.endswith(
        f"; run folder {results / B} left out, its {(first['run_id'] == B).sum()} stored rows kept")
    assert r.runs == 3 and load_history(results).equals(h)


def test_rebuild_leaves_out_a_damaged_folder_it_never_stored(results, capsys):
    truncate(results / "run-b" / "run.json")
    r = rebuild(results)
    [warning] = warnings(capsys)
    assert f"{results / 'run-b' / 'run.json'}: " in warning and warning.endswith("left out of the history store")
    assert r.runs == 1 and set(load_history(results)["run_id"]) == {A}
    truncate(results / "run-a" / "results.csv")
    assert rebuild(results).runs == 1 and set(load_history(results)["run_id"]) == {A}  # its stored rows kept
    shutil.rmtree(results / "history")
    with pytest.raises(UserError, match="no run folder could be read"):
        rebuild(results)
    assert load_history(results).empty and not list(results.glob(".history*"))


def test_a_nightly_runs_missing_file_is_appended_again_with_a_warning(results, capsys):
    sync(results)
    first = load_history(results)
    (results / "run-a" / "alerts.json").write_text("{}")  # what a nightly leaves beside a stored run
    stored_runs(results)[A].unlink()
    stored_runs(results)[B].unlink()
    assert sync(results) == [A, B] and load_history(results).equals(first)
    path = results / "history" / "runs" / f"{A}.parquet"
    assert warnings(capsys) == [f"cmbench: warning: {path}: missing; rebuilt from {results / 'run-a'}"]
