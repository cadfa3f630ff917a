"""The nightly's confirmation parts: kept builds, the A/B interval and verdict, environment changes, sensitivity."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from harness.store.builds import BuildStore, content_hash
from reports.history.alerts import is_candidate
from reports.history.changes import DetectionConfig, SeriesKey, detectable_change, series_changes
from reports.history.confirmation import ABRecord, CaseKey, matching, ratio_interval
from reports.history.triage import environment_changes, sensitivity_summary
from reports.metric_names import alert_floor


def test_builds_are_kept_by_content_and_toolchain_and_evicted_least_recently_used(tmp_path):
    impl = tmp_path / "impl"
    (impl / "build").mkdir(parents=True)
    (impl / "main.c").write_text("int main(void) { return 0; }\n")
    (impl / "build" / "main").write_bytes(b"\x7fELF" + b"0" * 1000)
    store = BuildStore(tmp_path / "results", max_bytes=3000)
    first = store.keep("r1", "c/x", impl, "gcc 12")
    again = store.keep("r2", "c/x", impl, "gcc 12")
    assert first.key == again.key and store.lookup("r2", "c/x").path == first.path  # one copy for both runs
    assert (first.path / "build" / "main").read_bytes().startswith(b"\x7fELF")
    assert store.keep("r3", "c/x", impl, "gcc 13").key != first.key  # a toolchain upgrade is another build
    before = content_hash(impl)
    (impl / "build" / "main").write_bytes(b"\x7fELF" + b"1" * 1000)  # an uncommitted rebuild is another build
    assert content_hash(impl) != before
    store.keep("r4", "c/x", impl, "gcc 12")
    assert store.total_bytes() <= 3000
    assert store.lookup("r1", "c/x") is None and store.lookup("r4", "c/x") is not None  # the oldest went first
    index = json.loads((tmp_path / "results" / "builds" / "index.json").read_text())
    assert index["schema"] == 1 and "r4" in index["runs"]


def test_the_ratio_interval_is_welchs_on_logs():
    rng = np.random.default_rng(1)
    a = 1.0 * np.exp(rng.normal(0, 0.01, 16))
    b = 1.05 * np.exp(rng.normal(0, 0.01, 16))
    ratio, low, high = ratio_interval(a, b)
    assert ratio == pytest.approx(1.05, abs=0.01) and low < ratio < high and high - low < 0.03
    assert ratio_interval([1.0, 1.0], [2.0, 2.0]) is None  # too few values a side
    assert ratio_interval([2.0] * 4, [2.0] * 4) == (1.0, 1.0, 1.0)


def test_a_nights_intervals_hold_95_percent_together():
    """k A/Bs of identical builds at 95% each would confirm about one change in 40: each is at 1 - 0.05 / k."""
    from types import SimpleNamespace

    from cmbench.confirm import confirm_with
    from harness.console import Console
    from reports.history.confirmation import family_confidence
    assert family_confidence(1) == pytest.approx(0.95) and family_confidence(10) == pytest.approx(0.995)
    rng = np.random.default_rng(3)
    a, b = np.exp(rng.normal(0, 0.05, 8)), 0.95 * np.exp(rng.normal(0, 0.05, 8))
    wide, narrow = ratio_interval(a, b, 0.995), ratio_interval(a, b)
    assert wide[1] < narrow[1] and narrow[2] < wide[2]
    levels = []

    class Confirmer:
        def measure(self, case, good, bad, metrics, asked, confidence):
            levels.append(confidence)
            return ABRecord(case, good, bad, "r9", 1.0, {"wall_time": (0.7, 0.55, 0.94, 8)}, confidence=confidence)
    series = [SeriesKey("fp", "w", f"c{i}", "c/x", "default", "wall_time") for i in range(4)]
    changes = [SimpleNamespace(series=k, change=-0.3, last_good=SimpleNamespace(run_id="r5"),
                               first_bad=SimpleNamespace(run_id="r6")) for k in series]
    found = confirm_with(Confirmer(), DetectionConfig(), Console(io.StringIO()))(changes)
    assert levels == [pytest.approx(0.9875)] * 4
    conf = next(iter(found.values()))
    assert conf.status == "confirmed" and "98.75% CI" in conf.text() and "98.75% interval" in conf.note
    assert set(conf.as_dict()) == {"status", "ratio", "ci_low", "ci_high", "n"}  # alerts.json's fields, unchanged


def test_a_record_confirms_only_beyond_the_floor_the_way_the_change_went():
    case = CaseKey("fp", "ping_pong", "n=1", "c/x", "default")
    rec = ABRecord(case, "r5", "r6", "r8", 4.0, {"wall_time": (1.05, 1.04, 1.06, 16),
                                                 "peak_rss": (1.01, 0.99, 1.03, 16),
                                                 "startup_cpu_time": (None, None, None, 1)})
    assert rec.confirmation("wall_time", 0.05, 0.03).status == "confirmed"
    assert rec.confirmation("wall_time", -0.05, 0.03).status == "unconfirmed"
    assert rec.confirmation("peak_rss", 0.05, 0.03).status == "unconfirmed"
    assert rec.confirmation("startup_cpu_time", 0.6, 0.5).status == "unavailable"
    upgraded = ABRecord(case, "r5", "r6", "r8", 0.0, {}, "the toolchain changed", ("gcc 12", "gcc 13"))
    c = upgraded.confirmation("wall_time", 0.05, 0.03)
    assert c.status == "unavailable" and c.toolchain == ("gcc 12", "gcc 13") and c.raised
    assert set(c.as_dict()) == {"status", "ratio", "ci_low", "ci_high", "n"}
    at = {f"r{i}": i for i in range(10)}
    assert matching([rec], case, "r7", at) is rec and matching([rec], case, "r9", at) is None
    assert ABRecord.from_dict(json.loads(json.dumps(rec.to_dict()))) == rec


def test_which_metrics_alert():
    assert alert_floor("wall_time") == 0 and alert_floor("latency_p99") == 0 and alert_floor("peak_rss") == 0
    assert alert_floor("startup_cpu_time") >= 0.3 and alert_floor("cpu_system") is None


def test_a_count_per_operation_near_zero_is_no_candidate_whatever_its_ratio():
    """Eight voluntary switches a process over 1.26 million items (0.0000063/op) becoming nine is +14%, and an A/B
    of identical builds measured it (the kept copy ran from another folder); a switch per thousand operations
    more is a candidate."""
    config = DetectionConfig().for_confirmation()
    rng = np.random.default_rng(11)
    for base, step, expect in ((6.3e-6, 7.1e-6, 0), (0.02, 0.03, 1)):
        values = [(base if i < 7 else step) * (1 + rng.normal(0, 0.01)) for i in range(10)]
        found = [c for c in _changes({("c/x", "ctx_switches_voluntary_per_op"): values}, config)
                 if is_candidate(c, config)]
        assert len(found) == expect, (base, found)
    across = [3.2e-10 * (1 + rng.normal(0, 0.05)) for _ in range(7)] + [-1.2e-9] * 3  # CPU per op net of start-up
    changes = _changes({("c/x", "cpu_time_per_op"): across}, config)
    assert changes and not any(is_candidate(c, config) for c in changes)
    import pandas as pd

    from reports.history.triage import sensitivities
    key = SeriesKey("fp", "w", "n=1", "c/x", "default", "ctx_switches_voluntary_per_op")
    rows = pd.DataFrame([{**key.__dict__, "run_id": f"r{i}", "median": 6.3e-6 * (1 + rng.normal(0, 0.01)),
                          "q1": 6.2e-6, "q3": 6.4e-6} for i in range(10)])
    [sens] = sensitivities(rows, [key], config)
    assert sens.floored and sens.mdc == pytest.approx(0.001 / rows["median"].iloc[-1])


def _changes(values_by_series, config):
    import pandas as pd
    out = []
    for (impl, metric), values in values_by_series.items():
        n = len(values)
        frame = pd.DataFrame({"run_id": [f"r{i}" for i in range(n)], "started": [f"t{i:02d}" for i in range(n)],
                              "git_commit": ["c"] * n, "toolchain": ["t"] * n, "flags": [""] * n,
                              "median": values, "unit": ["s"] * n, "direction": ["lower"] * n})
        out += series_changes(SeriesKey("fp", "w", "n=1", impl, "default", metric), frame, config)
    return out


def test_a_step_most_series_share_is_one_environment_change():
    config = DetectionConfig().for_confirmation()
    rng = np.random.default_rng(3)
    flat = [1.0 + rng.normal(0, 0.002) for _ in range(12)]
    series = {(f"c/{i}", "wall_time"): [v * (1.2 if k >= 8 else 1.0) for k, v in enumerate(flat)] for i in range(4)}
    series[("c/odd", "wall_time")] = flat
    changes = _changes(series, config)
    candidates = [c for c in changes if is_candidate(c, config)]
    assert len(candidates) == 4
    env, left = environment_changes(candidates, changes, {"wall_time": 5}, [f"r{i}" for i in range(12)], config)
    assert left == [] and len(env) == 1 and env[0].run_id == "r8" and "wall_time: 4 of 5 series" in env[0].moved[0]
    # one series of five stepping is not the environment
    env, left = environment_changes(candidates[:1], changes[:1], {"wall_time": 5}, [f"r{i}" for i in range(12)],
                                    config)
    assert env == [] and len(left) == 1


def test_minimum_detectable_change_grows_with_noise_and_shrinks_with_runs():
    config = DetectionConfig().for_confirmation()
    rng = np.random.default_rng(5)
    quiet, noisy = 1 + rng.normal(0, 0.005, 30), 1 + rng.normal(0, 0.05, 30)
    q = detectable_change(quiet, config, spread=0.01, ab_n=32)
    assert 0.03 <= q < 0.06
    assert detectable_change(noisy, config, spread=0.01, ab_n=32) > 2 * q
    mid = 1 + rng.normal(0, 0.015, 30)
    assert detectable_change(mid[:6], config) > detectable_change(mid, config)
    assert np.isnan(detectable_change(quiet[:3], config))
    from reports.history.triage import Sensitivity
    key = SeriesKey("fp", "w", "n=1", "c/x", "default", "wall_time")
    s = sensitivity_summary([Sensitivity(key, 30, 0.04), Sensitivity(key, 30, 0.2), Sensitivity(key, 3, float("nan")),
                             Sensitivity(key, 30, 160.0, floored=True)])
    assert s["tested"] == 2 and s["median"] == pytest.approx(0.12) and [x["mdc"] for x in s["insensitive"]] == [0.2]
    assert s["below_absolute_floor"] == 1




def test_an_alert_whose_old_build_cannot_be_had_is_raised_naming_the_toolchain():
    from reports.history.alerts import describe
    config = DetectionConfig().for_confirmation()
    [change] = _changes({("c/x", "wall_time"): [1.0] * 6 + [1.1] * 4}, config)
    rec = ABRecord(CaseKey.of(change.series), "r5", "r6", "r9", 0.0, {},
                   "the old build cannot be had: the toolchain changed (gcc 12 -> gcc 13)", ("gcc 12", "gcc 13"))
    alert = describe(change, None, {}, new=True, confirmation=rec.confirmation("wall_time", change.change, 0.03))
    assert alert.raised and alert.status == "regression"
    assert alert.causes[0].startswith("toolchain of c/x changed: gcc 12 -> gcc 13")
    d = alert.as_dict()
    assert d["confirmation"] == {"status": "unavailable", "ratio": None, "ci_low": None, "ci_high": None, "n": 0}
    assert "toolchain changed" in d["confirmation_note"] and d["raised"]


def test_a_step_of_the_hosts_reference_measurements_explains_the_candidates_at_its_run():
    config = DetectionConfig().for_confirmation()
    rng = np.random.default_rng(7)
    order = [f"r{i}" for i in range(12)]
    changes = _changes({("c/x", "wall_time"): [1.0 + rng.normal(0, 0.002) + (0.1 if i >= 8 else 0) for i in range(12)]},
                       config)
    fork = {r: {"process_create": 100_000.0 * (1.3 if i >= 8 else 1.0) * (1 + rng.normal(0, 0.003))}
            for i, r in enumerate(order)}
    env, left = environment_changes(changes, changes, {"wall_time": 5}, order, config, fork)
    assert left == [] and len(env) == 1 and env[0].moved[0].startswith("process_create +3")
    jitter = {r: {"process_create": 100_000.0 * (1.05 if i >= 8 else 1.0)} for i, r in enumerate(order)}  # under 10%
    env, left = environment_changes(changes, changes, {"wall_time": 5}, order, config, jitter)
    assert env == [] and left == changes


def test_the_host_level_of_a_run_leaves_each_series_own_step_out():
    import pandas as pd

    from reports.history.changes import _others_median, host_levels
    assert list(_others_median(np.array([1.0, 2.0, 3.0, 10.0]))) == [3.0, 3.0, 2.0, 2.0]
    rows = []
    for r in range(6):
        host = 1.3 if r % 2 else 1.0  # the host's speed swings every other run
        for i in range(4):
            step = 1.05 if (i == 0 and r >= 3) else 1.0
            rows.append({"fingerprint": "f", "workload": "w", "case": "c", "impl": f"i{i}", "variant": "default",
                         "metric": "wall_time", "run_id": f"r{r}", "median": (i + 1) * host * step})
    frame = pd.DataFrame(rows)
    adjusted = frame["median"] / host_levels(frame)
    mine = adjusted[frame["impl"] == "i0"].to_numpy()
    assert np.allclose(mine[3:] / mine[:3], 1.05)  # the swing is gone, the step is whole


def test_an_ab_made_for_another_metric_does_not_settle_one_it_measured_too_few_of(tmp_path):
    """A start-up figure is one value a side a round: the step's A/B (asked about wall time, done after one round)
    cannot judge a start-up candidate found near it, which is measured again, asked for its own metric."""
    import pandas as pd

    from reports.history.alerts import run_triage
    from reports.history.confirmation import CONFIRM_DIR, RECORD, Confirmation
    rng = np.random.default_rng(5)
    runs = [f"r{i}" for i in range(10)]
    rows = [{"fingerprint": "fp", "workload": "w", "case": "n=1", "impl": "c/x", "variant": "default",
             "metric": "startup_cpu_time", "run_id": r, "started": f"t{i:02d}", "git_commit": "c", "toolchain": "t",
             "flags": "", "status": "ok", "unit": "s", "direction": "lower", "n": 1,
             "median": 0.001 * (1.8 if i >= 7 else 1.0) * (1 + rng.normal(0, 0.01))} for i, r in enumerate(runs)]
    for row in rows:
        row.update(q1=row["median"] * 0.99, q3=row["median"] * 1.01)
    case = CaseKey("fp", "w", "n=1", "c/x", "default")
    step = ABRecord(case, "r6", "r7", "r7", 2.0, {"wall_time": (1.05, 1.04, 1.06, 8),
                                                   "startup_cpu_time": (None, None, None, 1)})
    assert step.judges("wall_time") and not step.judges("startup_cpu_time")
    assert ABRecord(case, "r6", "r7", "r7", 0.0, {}, "not kept").judges("startup_cpu_time")
    folder = tmp_path / "r7" / CONFIRM_DIR / case.slug
    folder.mkdir(parents=True)
    (folder / RECORD).write_text(json.dumps(step.to_dict()))
    asked = []

    def confirm(candidates):
        asked.extend(c.series.metric for c in candidates)
        return {(c.series, c.first_bad.run_id): Confirmation("unconfirmed", 1.0, 0.7, 1.4, 3) for c in candidates}
    triage = run_triage(pd.DataFrame(rows), "r9", results=tmp_path, confirm=confirm)
    assert asked == ["startup_cpu_time"]
    assert [a.confirmation.status for a in triage.alerts] == ["unconfirmed"] and triage.raised == []


def test_a_change_raised_in_one_metric_is_not_new_when_another_metric_of_the_case_clears_its_floor_later(tmp_path):
    """Each metric of a case clears its floor in its own nightly: the change an earlier nightly raised (here in CPU
    time) is raised again in wall time and throughput, not reported as a new regression (exit 3) a second time."""
    import pandas as pd

    from reports.history.alerts import ALERTS_JSON, run_triage
    from reports.history.confirmation import Confirmation
    rng = np.random.default_rng(3)
    runs = [f"r{i}" for i in range(8)]
    rows = []
    for metric, direction, sign in (("wall_time", "lower", 1), ("throughput", "higher", -1)):
        for i, r in enumerate(runs):
            m = (1.05 if i >= 6 else 1.0) ** sign * (1 + rng.normal(0, 0.002))
            rows.append({"fingerprint": "fp", "workload": "w", "case": "n=1", "impl": "c/x", "variant": "default",
                         "metric": metric, "run_id": r, "started": f"t{i:02d}", "git_commit": "c", "toolchain": "t",
                         "flags": "", "status": "ok", "unit": "s", "direction": direction, "n": 9,
                         "median": m, "q1": m * 0.999, "q3": m * 1.001})
    earlier = {"workload": "w", "case": "n=1", "impl": "c/x", "variant": "default", "metric": "cpu_time_per_op",
               "kind": "regression", "raised": True, "first_bad": {"run_id": "r6"}}
    (tmp_path / "r6").mkdir()
    (tmp_path / "r6" / ALERTS_JSON).write_text(json.dumps({"alerts": [earlier]}))

    def confirm(candidates):
        return {(c.series, c.first_bad.run_id): Confirmation("confirmed", 1.05, 1.04, 1.06, 8) for c in candidates}
    triage = run_triage(pd.DataFrame(rows), "r7", DetectionConfig().for_confirmation(), results=tmp_path,
                        confirm=confirm)
    assert sorted(a.change.series.metric for a in triage.raised) == ["throughput", "wall_time"]
    assert [a.new for a in triage.alerts] == [False, False]
    earlier["first_bad"] = {"run_id": "r3"}  # another change of the case: this one is new, once
    (tmp_path / "r6" / ALERTS_JSON).write_text(json.dumps({"alerts": [earlier]}))
    triage = run_triage(pd.DataFrame(rows), "r7", DetectionConfig().for_confirmation(), results=tmp_path,
                        confirm=confirm)
    assert sorted(a.new for a in triage.alerts) == [False, True]


def test_a_change_put_before_its_implementations_build_changed_is_tested_at_the_build_change():
    """A host that moved a few nightlies before a commit puts the change point between two runs of one build:
    it is moved to the build change after it (an A/B of identical builds could only reject it), and a stored
    A/B made before the build changed again does not settle it."""
    import pandas as pd

    from reports.history.confirmation import CaseKey
    from reports.history.triage import at_build_change, made_on_todays_build
    values = [1.0, 1.0, 1.0, 1.05, 1.05, 1.05, 1.05, 1.05, 1.05, 1.05]
    runs = [f"r{i}" for i in range(10)]
    frame = pd.DataFrame({"run_id": runs, "started": [f"t{i:02d}" for i in range(10)], "git_commit": ["c"] * 10,
                          "toolchain": ["t"] * 10, "flags": [""] * 10, "median": values, "unit": ["s"] * 10,
                          "direction": ["lower"] * 10})
    key = SeriesKey("fp", "w", "n=1", "c/x", "default", "wall_time")
    [change] = series_changes(key, frame, DetectionConfig().for_confirmation())
    assert change.index == 3
    rows = frame.assign(fingerprint="fp", workload="w", case="n=1", impl="c/x", variant="default", metric="wall_time")

    def builds(at):
        return {r: {"c/x": "new" if i >= at else "old"} for i, r in enumerate(runs)}
    assert at_build_change(change, rows, builds(6)).first_bad.run_id == "r6"
    assert at_build_change(change, rows, builds(4)).first_bad.run_id == "r4"
    assert at_build_change(change, rows, builds(99)) == change  # no build change: the host, left to the A/B
    before = ABRecord(CaseKey("fp", "w", "n=1", "c/x", "default"), "r2", "r3", "r5", 2.0,
                      {"wall_time": (1.0, 0.99, 1.01, 8)})
    assert not made_on_todays_build(before, change, rows, builds(6))
    assert made_on_todays_build(before, change, rows, builds(99)) and made_on_todays_build(before, change, rows, {})


def test_the_host_drift_median_of_each_run_is_one_of_the_host_s_series(tmp_path):
    from reports.history.triage import reference_medians

    for i, drift in enumerate([{"n": 5, "median": 1200.0}, {"n": 0, "values": [], "skipped": "no C compiler"}, None]):
        folder = tmp_path / f"r{i}"
        folder.mkdir()
        meta = {"schema": 4, "run_id": f"r{i}", "status": "complete", "cases": []}
        if drift is not None:
            meta["host_drift"] = drift
        (folder / "run.json").write_text(json.dumps(meta))
    assert reference_medians(tmp_path, ["r0", "r1", "r2"]) == {"r0": {"host_drift": 1200.0}}


def test_ctrl_c_during_an_ab_round_stops_the_nightly(fixture_catalog, fake_executor, tmp_path, monkeypatch):
    """The runner answers Ctrl-C by keeping what the round measured and returning; the A/B must not read that round
    as whole and go on (later signals only say the harness is stopping): it stops the nightly."""
    import cmbench.confirm as confirm_module
    from harness.console import Console
    from harness.engine.recorder import RunOutcome

    label = fixture_catalog.workloads["ping_pong"].cases_for("quick")[0].label
    ran = {"cases": [{"workload": "ping_pong", "impl": "fake/good", "case": label, "params": {"roundtrips": 5000}}]}
    monkeypatch.setattr(confirm_module, "load_run", lambda folder: ran)  # the size the nightly measured
    monkeypatch.setattr(confirm_module, "run_plan", lambda *a, **kw: RunOutcome(interrupted=True))
    confirmer = confirm_module.Confirmer(fixture_catalog, fake_executor, tmp_path, "r1", tmp_path / "r1", "quick",
                                         (0,), Console(io.StringIO()), BuildStore(tmp_path))
    case = CaseKey("fp", "ping_pong", label, "fake/good", "default")
    with pytest.raises(KeyboardInterrupt):
        confirmer._run(case, tmp_path / "old", "r0", "r1")
