"""cmbench/nightly.py: the lock, the quiet-host gate, the pipeline (with the runner faked) and deploy/."""

from __future__ import annotations

import configparser
import os
import re
import shlex
from pathlib import Path

import pytest

from cmbench import nightly as nightly_module
from cmbench.cli import COMMANDS, build_parser, main
from cmbench.nightly import (
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_REGRESSION,
    NightlyLocked,
    NightlyOptions,
    main_nightly,
    nightly,
    nightly_lock,
)
from harness.engine.recorder import RunOutcome
from harness.host.gate import HostGate, Proc
from reports import plots
from reports.history.store import load_history
from reports.render import render_results

from ..runs import make_run

PROJECT = Path(__file__).resolve().parent.parent.parent
GO = ("ping_pong", "go/goroutines")


def test_two_nightlies_never_overlap(tmp_path, fixture_catalog, capsys):
    with nightly_lock(tmp_path) as lock:
        assert "pid" in lock.read_text()
        with pytest.raises(NightlyLocked, match="another nightly is running"):
            with nightly_lock(tmp_path):
                pass
        assert main_nightly(fixture_catalog, NightlyOptions(results=tmp_path)) == EXIT_LOCKED
        err = capsys.readouterr().err
        assert "another nightly is running (pid" in err and f"status {EXIT_LOCKED}" in err
    with nightly_lock(tmp_path):  # released when the first one ends
        pass


class FakeProcs:
    """Two samples of /proc a window apart: the harness (pid 100) with a child (101) and a grandchild
    (102) busy, plus whatever other process `busy` says, for `busy_rounds` measurements."""

    def __init__(self, busy_rounds: int, root: int = 100) -> None:
        self.calls = 0
        self.busy_rounds = busy_rounds
        self.root = root

    def __call__(self) -> dict[int, Proc]:
        self.calls += 1
        measurement, second = divmod(self.calls - 1, 2)
        own = {self.root: Proc(self.root, 1, "cmbench", 5.0 + 0.9 * second),
               101: Proc(101, self.root, "server", 9.0 + 0.9 * second), 102: Proc(102, 101, "worker", 1.0 + second)}
        other = 0.8 * second if measurement < self.busy_rounds else 0.0
        return {**own, 7: Proc(7, 1, "compiler", 3.0 + other), 8: Proc(8, 1, "sshd", 0.5)}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def gate(busy_rounds: int, max_wait: float = 20.0, root: int = 100) -> tuple[HostGate, FakeClock]:
    clock = FakeClock()
    return HostGate(busy_cpus=0.15, window=1.0, max_wait=max_wait, poll=5.0, sample=FakeProcs(busy_rounds, root),
                    clock=clock, sleep=clock.sleep), clock


def test_the_benchmark_tree_never_counts_as_busy():
    g, clock = gate(busy_rounds=0)
    assert g.wait_quiet([100]) == [] and clock.now == 1.0  # 2.8 CPUs of its own tree left out
    busy = g.measure([])  # without naming the tree, its CPU counts
    assert busy.cpus == pytest.approx(2.8) and busy.top[0][1] in ("worker", "cmbench", "server")


def test_a_busy_host_is_waited_for_then_flagged():
    g, clock = gate(busy_rounds=2)
    assert g.wait_quiet([100]) == [] and clock.now == pytest.approx(1 + 5 + 1 + 5 + 1)  # quiet on the third look
    g, clock = gate(busy_rounds=100, max_wait=12.0)
    [flag] = g.wait_quiet([100])
    assert flag.startswith("host busy: other processes used 0.80 CPUs") and "compiler (pid 7) 80%" in flag
    assert 12.0 <= clock.now <= 12.0 + 1.0


@pytest.fixture
def fake_run_plan(monkeypatch):
    """The runner, faked: each call writes the next night's run, go/goroutines 10% slower from night 4."""
    nights = iter(range(100))

    def run_selection(catalog, options, out, console, before_case):
        night = next(nights)
        flags = before_case(None)  # the runner asks the gate once per case; one case is enough here
        make_run(out.parent, night, {GO: 0.010 * (1.10 if night >= 4 else 1.0), ("ping_pong", "c/pthreads"): 0.02},
                 folder=out, flags=flags)
        return RunOutcome()
    monkeypatch.setattr(nightly_module, "run_selection", run_selection)
    for name in ("bar_grid", "latency_curves", "scaling", "overview_heatmap", "history_grid", "change_series"):
        monkeypatch.setattr(plots, name, lambda *a, path, **kw: path.parent.mkdir(parents=True, exist_ok=True)
                            or path.write_bytes(b"") or path.name)
    ids = iter(f"2027010{i}T000000Z" for i in range(10))
    monkeypatch.setattr(nightly_module, "new_run_id", lambda: next(ids))


def test_the_nightly_stores_alerts_renders_and_fails_on_a_new_regression(tmp_path, fixture_catalog, fake_run_plan):
    results = tmp_path / "results"
    options = NightlyOptions(results=results, fail_on="regression")
    statuses = []
    for night in range(9):
        g, _ = gate(busy_rounds=100 if night == 0 else 0, max_wait=0.0, root=os.getpid())
        r = nightly(fixture_catalog, options, gate=g)
        statuses.append(r.status)
        assert (r.folder / "alerts.json").is_file() and r.site == (results / "site" / "index.html").resolve()
    assert statuses == [EXIT_OK] * 6 + [EXIT_REGRESSION, EXIT_OK, EXIT_OK]  # found three runs after the change, once
    assert [a.change.series.impl for a in r.alerts] == ["go/goroutines"] and not r.alerts[0].new
    history = load_history(results)
    assert history["run_id"].nunique() == 9
    first = history["run_id"] == history["run_id"].iloc[0]
    assert history.loc[first, "flags"].str.startswith("host busy").all() and (history.loc[~first, "flags"] == "").all()
    assert "go/goroutines" in (results / "site" / "regressions.html").read_text(encoding="utf-8")


def test_a_damaged_history_file_or_run_folder_heals_and_the_nightly_goes_on(tmp_path, fixture_root,
                                                                           fixture_catalog, fake_run_plan, capsys):
    results = tmp_path / "results"
    options = NightlyOptions(results=results, fail_on="regression")

    def night() -> tuple[int, list[str]]:
        g, _ = gate(busy_rounds=0, max_wait=0.0, root=os.getpid())
        status = nightly(fixture_catalog, options, gate=g).status
        return status, [line for line in capsys.readouterr().err.splitlines() if line.startswith("cmbench: warn")]

    assert night() == (EXIT_OK, [])
    first = load_history(results)
    [path] = (results / "history" / "runs").glob("*.parquet")
    path.write_bytes(path.read_bytes()[:200])  # a disk that filled, a copy cut short
    status, [warning] = night()
    assert status == EXIT_OK and warning.startswith(f"cmbench: warning: {path}: unreadable (")
    assert warning.endswith(f"; rebuilt from {results / path.stem}")
    history = load_history(results)
    assert history[history["run_id"] == path.stem].reset_index(drop=True).equals(first)  # nothing lost
    (results / path.stem / "run.json").write_text('{"run_id": ')  # the run folder itself damaged now
    status, warnings = night()
    assert status == EXIT_OK and warnings and all(str(results / path.stem / "run.json") in w for w in warnings)
    assert any(w.endswith(f"; run folder {results / path.stem} left out of the history store") for w in warnings)
    history = load_history(results)
    assert history["run_id"].nunique() == 3  # the other runs go on, and the stored rows stay
    assert history[history["run_id"] == path.stem].reset_index(drop=True).equals(first)
    assert main(["--root", str(fixture_root), "regressions", "--results", str(results)]) == 0
    assert "left out of the history store" in capsys.readouterr().err
    other = sorted((results / "history" / "runs").glob("*.parquet"))[-1]
    other.write_bytes(b"")
    assert render_results(results, tmp_path / "site", fixture_catalog).is_file()  # what `cmbench report` renders
    assert f"cmbench: warning: {other}: unreadable (" in capsys.readouterr().err
    assert load_history(results)["run_id"].nunique() == 3


def _cmbench_argv(line: str) -> list[str] | None:
    words = shlex.split(line.replace('"$RESULTS"', "/srv/results"))
    for i, w in enumerate(words):
        if w == "cmbench" or w.endswith("/cmbench"):
            return words[i + 1:]
    return None


def _deploy_commands() -> list[list[str]]:
    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.read(PROJECT / "deploy" / "cmbench-nightly.service")
    lines = [service["Service"]["ExecStart"]]
    workflow = (PROJECT / "deploy" / "nightly-workflow.yml").read_text(encoding="utf-8")
    lines += re.findall(r"^\s*run:\s*(.+)$", workflow, flags=re.M)
    return [argv for argv in map(_cmbench_argv, lines) if argv is not None]


def test_deploy_files_call_commands_that_exist():
    commands = _deploy_commands()
    assert [c[0] for c in commands] == ["nightly", "nightly", "regressions"]
    parser = build_parser(COMMANDS)
    for argv in commands:
        args = parser.parse_args(argv)  # exits (a test failure) on an unknown command or flag
        assert args.command in COMMANDS
    nightly_args = parser.parse_args(commands[0])
    assert nightly_args.profile == "full" and nightly_args.fail_on == "regression" and nightly_args.results
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.read(PROJECT / "deploy" / "cmbench-nightly.timer")
    assert timer["Timer"]["OnCalendar"] and "cmbench-nightly" in (PROJECT / "README.md").read_text()
