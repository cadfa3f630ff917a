"""`cmbench compare` on synthetic runs: one value per process, the correction for many tests, the gate and --json."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from cmbench.cli import main
from harness.measure.metrics import METRICS
from harness.store.run import RESULTS_COLUMNS
from reports.compare import compare_runs, render_terminal
from reports.data import load_results
from reports.figures import figures
from reports.ranking import rank
from reports.repeatability import render_json as render_repeatability_json
from reports.repeatability import render_terminal as repeatability_text
from reports.repeatability import repeatability, run_to_run, spread_note
from reports.significance import mann_whitney
from reports.site import _history_of

PROJECT = Path(__file__).resolve().parent.parent.parent
A_ID, B_ID = "20260101T020000Z", "20260102T020000Z"
# (workload, implementation, metric) -> values of each process (a per-process metric: one value each)
Series = Mapping[tuple[str, str, str], Sequence[Sequence[float]]]


def write_run(folder: Path, run_id: str, series: Series,
              flags: Mapping[tuple[str, str], list[str]] | None = None,
              widths: Mapping[tuple[str, str], float] | None = None, case: str = "n=1",
              references: Mapping[str, float] | None = None) -> Path:
    """A run folder as `cmbench run` writes it, holding exactly `series` (every case labelled `case`), its cases with
    `flags` and the relative half-widths of their medians' intervals in `widths` (none recorded where absent), and
    the medians of its reference measurements in `references`."""
    folder.mkdir(parents=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(RESULTS_COLUMNS)
    cases = {}
    for (workload, impl, metric), processes in series.items():
        language, model = impl.split("/")
        ident = (run_id, workload, case, impl, language, model, "default", "native", f"{case},cpus=2,executor=native")
        m = METRICS[metric]
        for p, values in enumerate(processes):
            for i, v in enumerate(values):
                it = i if m.scope == "iteration" else ""
                w.writerow((*ident, metric, m.unit, m.direction, p, it, repr(float(v))))
        cases[(workload, impl)] = {"workload": workload, "case": case, "impl": impl, "variant": "default",
                                   "language": language, "model": model, "status": "ok", "error": "",
                                   "flags": list((flags or {}).get((workload, impl), [])),
                                   "params": {"n": 1, "cpus": 2, "executor": "native"}, "seconds": 1.0,
                                   "harness_overhead": 0.01, "processes": len(processes)}
        if widths and (workload, impl) in widths:
            cases[(workload, impl)]["extra"] = {"ci": {"half_width": widths[(workload, impl)]}}
    (folder / "results.csv").write_text(buf.getvalue(), encoding="utf-8")
    started = f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T02:00:00+00:00"
    meta = {"schema": 3, "run_id": run_id, "status": "complete", "started": started, "finished": started,
            "profile": "full", "executor": "native", "cpus": [0, 1], "argv": [],
            "host": {"hostname": "h", "cpu_model": "Test CPU", "cpu_count": 2, "kernel": "Linux 6.1.0",
                     "git": {"commit": "0" * 40, "dirty": False}},
            "toolchains": {}, "builds": {}, "cases": list(cases.values())}
    if references:
        meta["reference_measurements"] = {"schema": 1, "cpu": 0, "measured": [
            {"name": name, "unit": "ns", "median": median} for name, median in references.items()]}
    (folder / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def iterations(rng: np.random.Generator, level: float, processes: int, *, iters: int = 5, between: float = 0.01,
               within: float = 0.002) -> list[list[float]]:
    """`processes` processes of `iters` iterations: each process its own level around `level` (`between`,
    relative), its iterations around that (`within`)."""
    out = []
    for _ in range(processes):
        own = level * (1 + between * rng.standard_normal())
        out.append(list(own * (1 + within * rng.standard_normal(iters))))
    return out


def pair(tmp_path: Path, a: Series, b: Series) -> tuple[Path, Path]:
    return write_run(tmp_path / "a", A_ID, a), write_run(tmp_path / "b", B_ID, b)


def compare(a: Path, b: Path):
    return compare_runs(load_results([a, b]), A_ID, B_ID)


def row(c, workload: str, impl: str, metric: str) -> dict:
    f = c.frame
    hit = f[(f["workload"] == workload) & (f["impl"] == impl) & (f["metric"] == metric)]
    assert len(hit) == 1
    return hit.iloc[0].to_dict()


@pytest.fixture
def regression(tmp_path):
    """B is 20% slower in wall time (and so 1/1.2 in throughput) for go; c is unchanged; 6 processes each."""
    rng = np.random.default_rng(1)
    a, b = {}, {}
    for impl, factor in (("go/goroutines", 1.2), ("c/pthreads", 1.0)):
        for run, f in ((a, 1.0), (b, factor)):
            walls = iterations(rng, 0.010 * f, 6)
            run[("worker_pool", impl, "wall_time")] = walls
            run[("worker_pool", impl, "throughput")] = [[1000 / v for v in p] for p in walls]
            run[("worker_pool", impl, "peak_rss")] = [[2.0**21 * f]] * 2  # two processes: too few to judge
    return pair(tmp_path, a, b)


def test_the_verdict_follows_each_metrics_direction(regression):
    c = compare(*regression)
    wall = row(c, "worker_pool", "go/goroutines", "wall_time")
    thr = row(c, "worker_pool", "go/goroutines", "throughput")
    assert wall["verdict"] == thr["verdict"] == "slower" and wall["significant"] and thr["significant"]
    assert wall["change_pct"] == pytest.approx(20, abs=2) and thr["change_pct"] == pytest.approx(-16.7, abs=2)
    assert wall["n_a"] == wall["n_b"] == 6  # one value per process, not 30 iterations
    assert row(c, "worker_pool", "c/pthreads", "wall_time")["verdict"] == "not significant"
    rss = row(c, "worker_pool", "go/goroutines", "peak_rss")
    assert rss["verdict"] == "too few samples" and np.isnan(rss["p_adjusted"]) and not rss["significant"]
    assert c.tests == 4  # wall time and throughput of both implementations; peak RSS cannot reach significance
    text = render_terminal(c, fail_above=10)
    assert "Benjamini-Hochberg" in text and "one value per process" in text
    assert "worker_pool [n=1] go/goroutines wall_time: +2" in text


def test_iterations_of_one_process_do_not_count_as_independent(tmp_path):
    """Processes differ more than iterations within one: B's processes landing a little higher by chance
    is not a change, though a test pooling the iterations would call it one."""
    a = {("ping_pong", "go/goroutines", "wall_time"): [[v * (1 + 0.0005 * i) for i in range(10)]
                                                        for v in (1.00, 1.06, 0.97, 1.03, 0.99)]}
    b = {("ping_pong", "go/goroutines", "wall_time"): [[v * (1 + 0.0005 * i) for i in range(10)]
                                                        for v in (1.01, 1.07, 0.98, 1.04, 1.02)]}
    pooled = mann_whitney(np.ravel(a[("ping_pong", "go/goroutines", "wall_time")]),
                          np.ravel(b[("ping_pong", "go/goroutines", "wall_time")]))
    assert pooled.p < 0.05  # what pooling 50 iterations against 50 said
    r = row(compare(*pair(tmp_path, a, b)), "ping_pong", "go/goroutines", "wall_time")
    assert r["verdict"] == "not significant" and r["n_a"] == 5 and r["p_value"] > 0.05


def test_many_unchanged_cases_give_no_false_positive_after_the_correction(tmp_path):
    rng = np.random.default_rng(7)
    a = {(f"w{i}", "go/goroutines", "wall_time"): iterations(rng, 0.01, 10) for i in range(300)}
    b = {(f"w{i}", "go/goroutines", "wall_time"): iterations(rng, 0.01, 10) for i in range(300)}
    b[("w0", "go/goroutines", "wall_time")] = iterations(rng, 0.012, 10)  # one real 20% regression
    c = compare(*pair(tmp_path, a, b))
    f = c.frame
    assert c.tests == 300 and (f["p_value"] < 0.05).sum() >= 10  # uncorrected, noise looks like change
    assert f.loc[f["significant"], "workload"].tolist() == ["w0"]  # corrected, only the real one is
    assert list(f.loc[f["significant"], "verdict"]) == ["slower"]
    assert (f["p_adjusted"] >= f["p_value"]).all()


def run_cli(*args: str) -> int:
    return main(["--root", str(PROJECT), "compare", *args])


def test_the_gate_fails_a_clear_regression_beyond_its_threshold(regression, tmp_path, capsys):
    a, b = map(str, regression)
    out = str(tmp_path / "page")
    assert run_cli(a, b, "--out", out, "--fail-above", "10") == 1
    printed = capsys.readouterr().out
    assert "2 significant regression(s) worse than 10%" in printed
    assert "go/goroutines throughput: +1" in printed and "go/goroutines wall_time: +2" in printed
    assert run_cli(a, b, "--out", out, "--fail-above", "25") == 0  # 20% slower, 17% less throughput
    assert "no significant regression worse than 25%" in capsys.readouterr().out
    assert run_cli(b, a, "--out", out, "--fail-above", "0") == 0  # the other way round it is an improvement
    assert run_cli(a, b, "--out", out) == 0  # no gate asked for


def test_noise_within_runs_passes_the_gate(tmp_path, capsys):
    rng = np.random.default_rng(3)
    series = [(w, impl, "wall_time") for w in ("ping_pong", "worker_pool") for impl in ("go/goroutines", "c/pthreads")]
    a, b = pair(tmp_path, {k: iterations(rng, 0.01, 8, between=0.05) for k in series},
                {k: iterations(rng, 0.01, 8, between=0.05) for k in series})
    assert run_cli(str(a), str(b), "--out", str(tmp_path / "page"), "--fail-above", "0") == 0
    assert "no significant regression worse than 0%" in capsys.readouterr().out


def test_json_prints_every_comparison_as_data_and_writes_no_page(regression, capsys):
    a, b = map(str, regression)
    page = PROJECT / "reports" / "site" / "compare" / f"{A_ID}_vs_{B_ID}"
    assert run_cli(a, b, "--json", "--fail-above", "10") == 1
    rows = json.loads(capsys.readouterr().out)
    assert not page.exists()
    assert {tuple(sorted(r)) for r in rows} == {tuple(sorted(
        ["workload", "case", "impl", "variant", "metric", "unit", "direction", "a_median", "b_median", "change_pct",
         "p_value", "p_adjusted", "significant", "n_a", "n_b", "verdict", "a_modes", "b_modes"]))}
    wall = next(r for r in rows if r["impl"] == "go/goroutines" and r["metric"] == "wall_time")
    assert wall["a_modes"] is None and wall["b_modes"] is None
    assert wall["significant"] is True and wall["direction"] == "lower" and wall["unit"] == "s"
    assert wall["n_a"] == 6 and wall["change_pct"] > 15 and wall["p_adjusted"] < 0.05
    rss = next(r for r in rows if r["impl"] == "go/goroutines" and r["metric"] == "peak_rss")
    assert rss["p_adjusted"] is None and rss["significant"] is False


def test_errors_exit_2_distinct_from_a_regression(regression, capsys):
    a, _ = map(str, regression)
    assert run_cli(a, a) == 2
    assert "the same run" in capsys.readouterr().err
    assert run_cli(a, a + "-missing") == 2
    assert run_cli(a, str(regression[1]), "--fail-above", "-5") == 2
    assert "--fail-above -5: give a percentage of 0 or more" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        run_cli(a, str(regression[1]), "--fail-above", "ten")
    assert e.value.code == 2


def steady_and_moving(tmp_path: Path, runs: int = 3) -> list[Path]:
    """`runs` runs of three cases: ping_pong go steady (0.3% between runs), c/pthreads moving by 10%, and
    worker_pool go whose processes fall into two groups (modes) in the second run; c/pthreads unconverged."""
    rng = np.random.default_rng(5)
    folders = []
    for k in range(runs):
        modal = iterations(rng, 0.01, 4) + iterations(rng, 0.02, 4) if k == 1 else iterations(rng, 0.01, 8)
        series = {("ping_pong", "go/goroutines", "wall_time"): iterations(rng, 0.01 * (1 + 0.003 * k), 6, between=0),
                  ("ping_pong", "c/pthreads", "wall_time"): iterations(rng, 0.01 * (1 + 0.1 * k), 6, between=0),
                  ("worker_pool", "go/goroutines", "wall_time"): modal}
        flags = {("ping_pong", "c/pthreads"): ["unconverged: 95% CI ±9.0% (precision 2%)"]}
        folders.append(write_run(tmp_path / f"r{k}", f"2026010{k + 1}T020000Z", series, flags))
    return folders


def test_repeatability_gives_each_case_its_run_to_run_cv(tmp_path):
    folders = steady_and_moving(tmp_path)
    results = load_results(folders)
    r = repeatability(results, [run.run_id for run in results.runs])
    f = r.frame.set_index(["workload", "impl"])
    steady, moving = f.loc[("ping_pong", "go/goroutines")], f.loc[("ping_pong", "c/pthreads")]
    assert steady["runs"] == 3 and steady["cv_pct"] < 0.5 and steady["metric"] == "wall_time"
    assert moving["cv_pct"] == pytest.approx(np.std(moving["medians"], ddof=1) / np.mean(moving["medians"]) * 100)
    assert 9 < moving["cv_pct"] < 11 and moving["high"] / moving["low"] == pytest.approx(1.2, rel=0.02)
    assert moving["unconverged_runs"] == 3 and steady["unconverged_runs"] == 0
    modal = f.loc[("worker_pool", "go/goroutines")]
    assert modal["modes_runs"] == 1 and modal["cv_pct"] > 5
    summary = r.summary()
    assert math.isnan(summary.pop("held_pct"))  # no interval recorded: no pair to check
    assert summary.pop("by_placement") == {} and r.host == {}  # no placement in the cases, no reference figures
    assert summary == {"runs": 3, "cases": 3, "median_cv_pct": pytest.approx(moving["cv_pct"]),
                       "mean_cv_pct": pytest.approx(f["cv_pct"].mean()), "within_2_pct": 1, "above_5_pct": 2,
                       "above_10_pct": int(modal["cv_pct"] > 10) + int(moving["cv_pct"] > 10),
                       "above_5_pct_without_modes": 1, "held": 0, "pairs": 0}


def test_repeatability_checks_each_run_s_interval_against_the_other_runs_medians(tmp_path):
    # three runs at 100, 101 and 110 (10 ms per iteration): intervals of ±2% hold the two close runs' medians of each
    # other and nothing of the third; a case with no interval recorded (a server phase, an old run) has no pairs
    levels = (0.0100, 0.0101, 0.0110)
    folders = [write_run(tmp_path / f"r{k}", f"2026010{k + 1}T020000Z",
                         {("ping_pong", "go/goroutines", "wall_time"): [[level] * 5] * 3,
                          ("ping_pong", "c/pthreads", "wall_time"): [[level] * 5] * 3},
                         widths={("ping_pong", "go/goroutines"): 0.02})
               for k, level in enumerate(levels)]
    results = load_results(folders)
    r = repeatability(results, [run.run_id for run in results.runs])
    f = r.frame.set_index("impl")
    assert (f.loc["go/goroutines", "held"], f.loc["go/goroutines", "pairs"]) == (2, 6)
    assert (f.loc["c/pthreads", "held"], f.loc["c/pthreads", "pairs"]) == (0, 0)
    s = r.summary()
    assert (s["held"], s["pairs"]) == (2, 6) and s["held_pct"] == pytest.approx(100 / 3)
    assert "held another run's median in 2 of 6 pairs (33%" in repeatability_text(r)
    assert "intervals held 2/6" in repeatability_text(r)


def test_repeatability_splits_by_placement_and_gives_the_host_s_own_spread(tmp_path):
    folders = []
    for k, (one, spread, cross) in enumerate([(0.0100, 0.020, 20000.0), (0.0100, 0.024, 24000.0)]):
        folders += [write_run(tmp_path / f"{p}{k}", f"2026010{k + 1}T02000{i}Z",
                              {("ping_pong", "c/pthreads", "wall_time"): [[level] * 5] * 3},
                              case=f"roundtrips=1000,placement={p}",
                              references={"thread_switch": 2500.0, "cross_cpu_switch": cross})
                    for i, (p, level) in enumerate([("one", one), ("spread", spread)])]
    results = load_results(folders)
    r = repeatability(results, [run.run_id for run in results.runs])
    placed = r.summary()["by_placement"]
    assert placed["one"]["cases"] == placed["spread"]["cases"] == 1
    assert placed["one"]["median_cv_pct"] == 0 and placed["spread"]["median_cv_pct"] == pytest.approx(12.86, abs=0.01)
    cross = r.host["cross_cpu_switch"]  # over the four runs: 20, 20, 24, 24 us
    assert r.host["thread_switch"]["cv_pct"] == 0 and cross["cv_pct"] == pytest.approx(10.50, abs=0.01)
    text = repeatability_text(r)
    assert "  placement=spread: 1 cases, run-to-run CV of their medians 12.9%" in text
    assert "the host's own figures" in text and "cross_cpu_switch 10.5%" in text
    data = json.loads(render_repeatability_json(r))
    assert data["summary"]["by_placement"]["one"]["held_pct"] is None and len(data["host"]) == 2


def spread_runs(tmp_path: Path, c_levels: Sequence[float]) -> list[Path]:
    """One run per level: go/goroutines steady at 10 ms an iteration, c/pthreads at each level; every process of a
    run alike, so that each run's own interval is a point."""
    return [write_run(tmp_path / f"r{k}", f"2026010{k + 1}T020000Z",
                      {("ping_pong", "go/goroutines", "wall_time"): [[0.0100] * 5] * 3,
                       ("ping_pong", "c/pthreads", "wall_time"): [[level] * 5] * 3})
            for k, level in enumerate(c_levels)]


def test_the_run_to_run_spread_widens_the_intervals_the_ranks_use(tmp_path):
    # c/pthreads lands 3% above go in the latest run, but moved 9% between runs: the ranks see a tie
    results = load_results(spread_runs(tmp_path, (0.0100, 0.0118, 0.0095, 0.0103)))
    latest = results.latest
    history = _history_of(results)
    spread = run_to_run(history, latest.run_id)
    c, go = spread[("ping_pong", "n=1", "c/pthreads", "wall_time")], spread[("ping_pong", "n=1", "go/goroutines",
                                                                                "wall_time")]
    assert (c.runs, go.runs) == (4, 4) and go.cv == 0
    assert c.cv == pytest.approx(np.std([100, 118, 95, 103], ddof=1) / np.mean([100, 118, 95, 103]))
    own = figures(latest, results.samples_of(latest.run_id), {"wall_time"})
    wide = figures(latest, results.samples_of(latest.run_id), {"wall_time"}, spread)
    key = ("ping_pong", "n=1", "c/pthreads", "wall_time")
    assert own[key].low == own[key].high == pytest.approx(0.0103) and own[key].repeat is None
    assert wide[key].low == pytest.approx(0.0103 / (1 + 1.96 * c.cv)) and wide[key].repeat == c
    assert wide[key].high == pytest.approx(0.0103 * (1 + 1.96 * c.cv))
    assert "run-to-run CV" in wide[key].interval_text("s")

    def row(figs):
        return {k[2]: f for k, f in figs.items()}
    assert rank(row(own), set(), "lower").best == "go/goroutines"
    ranked = rank(row(wide), set(), "lower")
    assert ranked.best is None and "c/pthreads" in ranked.tied
    assert "4 runs of this environment (median CV" in spread_note(spread)


def test_the_run_to_run_spread_needs_three_runs_of_the_environment_since_the_last_change(tmp_path):
    folders = spread_runs(tmp_path, (0.0100, 0.0118, 0.0095, 0.0103))
    other = json.loads((folders[1] / "run.json").read_text())
    other["cpus"] = [0]  # another environment: not among the runs the spread is taken over
    (folders[1] / "run.json").write_text(json.dumps(other))
    results = load_results(folders)
    history = _history_of(results)
    c = run_to_run(history, results.latest.run_id)[("ping_pong", "n=1", "c/pthreads", "wall_time")]
    assert c.runs == 3
    # the runs before the latest: as of each, only what came before it counts
    assert run_to_run(history, results.runs[2].run_id) == {}
    moved = SimpleNamespace(series=SimpleNamespace(fingerprint=history["fingerprint"].iloc[-1], workload="ping_pong",
                                                   case="n=1", impl="c/pthreads", variant="default",
                                                   metric="wall_time"),
                            first_bad=SimpleNamespace(started=results.runs[2].started))
    since = run_to_run(history, results.latest.run_id, changes=[moved])
    assert ("ping_pong", "n=1", "c/pthreads", "wall_time") not in since  # two runs since its change point
    assert since[("ping_pong", "n=1", "go/goroutines", "wall_time")].runs == 3
    assert "fewer than 3 runs" in spread_note({})


def test_repeatability_command_prints_the_table_and_data_and_refuses_one_run(tmp_path, capsys):
    folders = [str(f) for f in steady_and_moving(tmp_path)]
    assert main(["--root", str(PROJECT), "repeatability", *folders]) == 0
    printed = capsys.readouterr().out
    assert "repeatability over 3 runs: 3 cases" in printed and "modes in 1/3" in printed
    assert "unconverged in 3/3" in printed
    assert main(["--root", str(PROJECT), "repeatability", "--json", *folders[:2]]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["runs"] == 2 and len(data["runs"]) == 2 and len(data["cases"]) == 3
    assert all(len(c["medians"]) == 2 and c["sizes_differ"] is False for c in data["cases"])
    assert main(["--root", str(PROJECT), "repeatability", folders[0], folders[0]]) == 1
    err = capsys.readouterr().err
    assert "name two or more runs" in err and len(err.strip().splitlines()) == 1
    assert main(["--root", str(PROJECT), "repeatability", folders[0], folders[0] + "-missing"]) == 1
    capsys.readouterr()
    copy = tmp_path / "copy-of-first"
    shutil.copytree(folders[0], copy)  # the same run id under another folder: not a second run
    assert main(["--root", str(PROJECT), "repeatability", folders[0], str(copy), folders[1]]) == 1
    err = capsys.readouterr().err
    assert "appears twice" in err and len(err.strip().splitlines()) == 1
