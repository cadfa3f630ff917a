"""cmbench/nightly.py: the lock, the quiet-host gate, the pipeline (with the runner faked) and deploy/."""

from __future__ import annotations

import configparser
import os
import re
import shlex
from pathlib import Path

import pytest
import yaml

from cmbench import nightly as nightly_module
from cmbench.cli import COMMANDS, build_parser, main
from cmbench.commands import nightly as nightly_commands
from cmbench.nightly import (
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_REGRESSION,
    EXIT_SKIPPED,
    FAIL_ON,
    NightlyLocked,
    NightlyOptions,
    main_nightly,
    nightly,
    nightly_lock,
)
from harness.engine.recorder import RunOutcome
from harness.host.gate import HostGate, Proc
from harness.measure.outcome import CaseKey, CaseResult
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
    options = NightlyOptions(results=results, fail_on="regression", confirm=False)  # the fakes have no builds
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
    words = shlex.split(re.sub(r'"\$(\w+)"', r"/srv/\1", line))
    for i, w in enumerate(words):
        if w == "cmbench" or w.endswith("/cmbench"):
            return words[i + 1:]
    return None


def _service() -> configparser.ConfigParser:
    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.optionxform = str  # keys as written: Environment, ExecStart
    service.read(PROJECT / "deploy" / "cmbench-nightly.service")
    return service


def _workflow() -> dict:
    data = yaml.safe_load((PROJECT / "deploy" / "nightly-workflow.yml").read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def _steps(workflow: dict) -> list[tuple[str, dict]]:
    return [(job, step) for job, spec in workflow["jobs"].items() for step in spec.get("steps", [])]


def _run_lines(workflow: dict) -> list[str]:
    return [line for _, step in _steps(workflow) for line in str(step.get("run", "")).splitlines() if line.strip()]


def _deploy_commands() -> list[list[str]]:
    lines = [_service()["Service"]["ExecStart"], *_run_lines(_workflow())]
    return [argv for argv in map(_cmbench_argv, lines) if argv is not None]


def _make_targets() -> set[str]:
    makefile = (PROJECT / "Makefile").read_text(encoding="utf-8")
    return {t for line in re.findall(r"^([^\s#=:][^=:]*?):(?!=)", makefile, flags=re.M) for t in line.split()}


def test_deploy_files_call_commands_that_exist():
    commands = _deploy_commands()
    assert [c[0] for c in commands] == ["nightly", "nightly", "regressions", "publish"]
    parser = build_parser(COMMANDS)
    for argv in commands:
        args = parser.parse_args(argv)  # exits (a test failure) on an unknown command or flag
        assert args.command in COMMANDS
    for argv in commands[:2]:  # the service and the workflow: a skipped case fails the night as a regression does
        nightly_args = parser.parse_args(argv)
        assert nightly_args.profile == "full" and nightly_args.results
        assert NightlyOptions(results=Path("r"), fail_on=nightly_args.fail_on).fail_on == ("regression", "skipped")
    makes = [line.split()[1:] for line in _run_lines(_workflow()) if line.split()[0] == "make"]
    assert makes and all(t in _make_targets() for targets in makes for t in targets)  # the Makefile installs
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.read(PROJECT / "deploy" / "cmbench-nightly.timer")
    assert timer["Timer"]["OnCalendar"] and "cmbench-nightly" in (PROJECT / "README.md").read_text()


def test_the_service_finds_every_toolchain():
    """systemd's own PATH lacks cargo's bin folder (cargo, oha) and the venv: their cases would be skipped."""
    service = _service()["Service"]
    env = dict(kv.split("=", 1) for kv in shlex.split(service["Environment"]))
    path = env["PATH"].split(":")
    venv_bin = str(Path(shlex.split(service["ExecStart"])[0]).parent)
    assert path[0] == venv_bin and venv_bin.endswith("/.venv/bin")
    assert any(p.endswith("/.cargo/bin") for p in path)
    assert {"/usr/local/bin", "/usr/bin", "/bin"} <= set(path)
    assert all(p.startswith("/") for p in path)  # systemd expands no ~ and no $HOME in Environment=
    assert "75" in service["SuccessExitStatus"].split()  # a held lock is no failure; 4 (skipped) is


def test_the_workflow_keeps_state_reads_only_and_publishes():
    workflow = _workflow()
    assert workflow["permissions"] == {"contents": "read"}  # least privilege for every job
    assert "schedule" in workflow["on"]
    steps = _steps(workflow)
    uses = {step["uses"].split("@")[0]: (job, step) for job, step in steps if "uses" in step}
    checkout = uses["actions/checkout"][1]["with"]
    assert checkout["clean"] is False and checkout["fetch-depth"] == 0  # .venv and the builds stay
    uploads = [step["with"]["path"] for _, step in steps if step.get("uses", "").startswith("actions/upload-artifact")]
    assert any("alerts.json" in p for p in uploads) and any("site" in p for p in uploads)
    assert "actions/upload-pages-artifact" in uses
    deploy_job, _ = uses["actions/deploy-pages"]
    for job, spec in workflow["jobs"].items():
        granted = spec.get("permissions", {})
        if job == deploy_job:
            assert granted == {"pages": "write", "id-token": "write"}
        else:  # nothing beyond the workflow's read access anywhere else
            assert granted in ({}, {"contents": "read"}), job
    assert workflow["jobs"][deploy_job]["needs"] == "nightly"
    assert any(line.strip().startswith("echo") and ".cargo/bin" in line and "GITHUB_PATH" in line
               for line in _run_lines(workflow))


def test_fail_on_takes_a_list_or_repeats():
    parser = build_parser(COMMANDS)
    assert parser.parse_args(["nightly", "--fail-on", "regression", "--fail-on", "skipped"]).fail_on == [
        "regression", "skipped"]
    assert parser.parse_args(["nightly", "--fail-on", "skipped,regression"]).fail_on == ["skipped", "regression"]
    assert parser.parse_args(["nightly"]).fail_on == []
    assert FAIL_ON == nightly_commands.FAIL_ON  # the command's list is the pipeline's
    with pytest.raises(SystemExit):
        parser.parse_args(["nightly", "--fail-on", "regression,slower"])


def test_a_skipped_case_fails_the_night_only_when_asked(tmp_path, fixture_catalog, monkeypatch, capsys):
    def run_selection(catalog, options, out, console, before_case):
        before_case(None)
        make_run(out.parent, 0, {GO: 0.010}, folder=out)
        skipped = CaseResult(CaseKey("http_server", "open,rate=0.5", "go/goroutines", "default"), "go", "goroutines",
                             {}, "skipped", "oha not found: cargo install --locked oha")
        return RunOutcome(results=[skipped])
    monkeypatch.setattr(nightly_module, "run_selection", run_selection)
    monkeypatch.setattr(nightly_module, "render_results", lambda *a, **kw: tmp_path / "site" / "index.html")
    ids = iter(f"2027010{i}T000000Z" for i in range(10))
    monkeypatch.setattr(nightly_module, "new_run_id", lambda: next(ids))
    statuses = []
    for n, fail_on in enumerate(("regression", "regression,skipped")):
        g, _ = gate(busy_rounds=0, max_wait=0.0, root=os.getpid())
        r = nightly(fixture_catalog, NightlyOptions(results=tmp_path / f"r{n}", fail_on=fail_on), gate=g)
        statuses.append(r.status)
        assert r.skipped == ("http_server[open,rate=0.5] go/goroutines: oha not found: cargo install --locked oha",)
    assert statuses == [EXIT_OK, EXIT_SKIPPED]
    assert "nightly: 1 case(s) skipped (go/goroutines (1): oha not found" in capsys.readouterr().err
