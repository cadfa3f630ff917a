"""`cmbench nightly`: run the plan, store the run, append it to history, detect changes, render, alert.

Each step is a plain function, so a scheduler or a test can call them one by one:

    with nightly_lock(results):          # two nightlies never overlap (fcntl on results/.nightly.lock)
        run_selection(...)               # harness.engine: build, verify, measure, store the run folder;
                                         # before each case HostGate waits for a quiet host, else flags it
        append_run(results, folder)      # the history store (reports/history/store.py)
        keep_builds(...)                 # each implementation's folder as built (harness/store/builds.py)
        triage_for_run(results, run_id, confirm=...)  # change points -> candidates -> environment changes
                                         # and A/B confirmations (cmbench/confirm.py) -> alerts.json, alerts.md
        render_site(results, ...)        # the report site, with the History and Regressions pages

Exit statuses (README "Nightly runs"): 0 done; 1 a case failed or bad input; 3 `--fail-on
regression` and this run reported a new regression; 4 `--fail-on skipped` and a case was skipped
(a toolchain or load generator missing: the night measured a subset); 75 another nightly holds the
lock; 130 interrupted, also during an A/B (the finished cases are stored and appended to history; those
under way too, as they stood, which change detection leaves out). When several apply,
the first in this order wins: 130, 3, 1, 4.
"""

from __future__ import annotations

import fcntl
import os
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmbench.confirm import AB_PROCESSES, AB_ROUNDS, Confirmer, confirm_with, keep_builds
from harness.catalog import Catalog, split_ids
from harness.console import Console
from harness.engine.local import RunOptions, run_cases
from harness.engine.ready import choose_cpus
from harness.engine.recorder import RunOutcome
from harness.errors import UsageError, UserError
from harness.executors import make_executor
from harness.host.gate import HostGate
from harness.measure.outcome import CaseResult
from harness.store.builds import BuildStore
from harness.store.run import load_run, new_run_id, now_iso
from harness.vocab import Status, impl_label
from reports.history.alerts import Alert, environment_lines, triage_for_run
from reports.history.changes import REGRESSION, DetectionConfig, detect
from reports.history.store import ANALYSIS_COLUMNS, append_run, load_history, sync
from reports.pages.history import shown_series
from reports.render import render_results

LOCK_FILE = ".nightly.lock"
EXIT_OK, EXIT_FAILED, EXIT_REGRESSION, EXIT_SKIPPED, EXIT_LOCKED, EXIT_INTERRUPTED = 0, 1, 3, 4, 75, 130
SKIPPED = Status.SKIPPED.value
FAIL_ON = (REGRESSION, SKIPPED)  # what --fail-on may name: a new regression (exit 3), a skipped case (exit 4)


def fail_on_list(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """`regression,skipped` (or a sequence of such texts) as the tuple of findings the nightly fails on."""
    texts = [text] if isinstance(text, str) else list(text or ())
    found = [w.strip() for t in texts for w in t.split(",") if w.strip()]
    unknown = [w for w in found if w not in FAIL_ON]
    if unknown:
        raise UsageError(f"--fail-on: {', '.join(unknown)} is not one of {', '.join(FAIL_ON)}")
    return tuple(dict.fromkeys(found))


class NightlyLocked(UserError):
    """Another nightly holds the lock on this results folder."""


@contextmanager
def nightly_lock(results: Path) -> Iterator[Path]:
    """Hold an exclusive, non-blocking fcntl lock on `results/.nightly.lock` for the block.

    The kernel drops the lock when the process dies, so a crashed nightly never blocks the next.
    """
    try:
        results.mkdir(parents=True, exist_ok=True)
        fd = os.open(results / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise UserError(f"--results {results}: cannot create the lock file: {e.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
            raise NightlyLocked(f"--results {results}: another nightly is running ({holder}); "
                                f"this one exits with status {EXIT_LOCKED}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {now_iso()}\n".encode(), 0)
        try:
            yield results / LOCK_FILE
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class NightlyOptions:
    results: Path
    profile: str = "full"
    impl: str | None = None
    workload: str | None = None
    cpus: int | None = None
    executor: str = "native"
    timeout: float | None = None
    fail_on: tuple[str, ...] = ()  # of FAIL_ON; a text such as "regression,skipped" is read as its list
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    quiet_wait: float = 300.0  # seconds to wait for a quiet host before each case
    argv: Sequence[str] = ()
    confirm: bool = True  # measure each candidate change A/B before it alerts (--no-confirm: never)
    builds_max_bytes: int = 2_000_000_000  # the kept builds' bound (results/builds/)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fail_on", fail_on_list(self.fail_on))


@dataclass(frozen=True)
class NightlyResult:
    status: int
    run_id: str
    folder: Path
    alerts: tuple[Alert, ...]  # every candidate of this run's series: raised, or unconfirmed (host)
    site: Path | None
    gate_flags: tuple[str, ...]  # what the quiet-host gate flagged, case by case
    skipped: tuple[str, ...] = ()  # the skipped cases, `workload[case] impl: why`


def skipped_cases(results: Sequence[CaseResult]) -> list[str]:
    """Each skipped case of a run as `workload[case] impl: why` (a toolchain or load generator missing)."""
    return [f"{r.key.workload}[{r.key.case}] {impl_label(r.key.impl, r.key.variant)}: {r.error}"
            for r in results if r.status == SKIPPED]


def skipped_summary(results: Sequence[CaseResult], most: int = 3) -> str:
    """One line: how many cases were skipped, and why, grouped by reason (the commonest first)."""
    why: dict[str, list[str]] = {}
    for r in results:
        if r.status == SKIPPED:
            why.setdefault(r.error, []).append(impl_label(r.key.impl, r.key.variant))
    groups = sorted(why.items(), key=lambda kv: -len(kv[1]))
    parts = [f"{', '.join(dict.fromkeys(impls))} ({len(impls)}): {error}" for error, impls in groups[:most]]
    more = f"; and {len(groups) - most} other reason(s)" if len(groups) > most else ""
    return f"{sum(len(v) for v in why.values())} case(s) skipped ({'; '.join(parts)}{more})"


def run_selection(catalog: Catalog, options: NightlyOptions, out: Path, console: Console,
                  before_case: Callable[[Any], Sequence[str]] | None = None) -> RunOutcome:
    """Build, verify and measure the selection into `out`: the one call into the harness's runner.

    `before_case` runs before each unit's first round and returns the flags its results carry (the quiet-host
    gate).
    """
    impls = catalog.select_impls(split_ids(options.impl))
    workloads = catalog.select_workloads(split_ids(options.workload))
    cpus = choose_cpus(options.cpus)
    executor = make_executor(options.executor)
    try:
        run = RunOptions(out=out, timeout=options.timeout, argv=tuple(options.argv), references=True)
        return run_cases(catalog, executor, impls, workloads, profile=options.profile, cpus=cpus, console=console,
                         options=run, before_case=before_case)
    finally:
        executor.close()


def _settle_folder(results: Path, out: Path) -> tuple[str, Path]:
    """The run's id from its run.json; the folder is renamed to it when the runner chose another second."""
    run_id = str(load_run(out)["run_id"])
    target = results / run_id
    if target != out and not target.exists():
        os.rename(out, target)
        return run_id, target
    return run_id, out


def nightly(catalog: Catalog, options: NightlyOptions, console: Console | None = None,
            gate: HostGate | None = None) -> NightlyResult:
    console = console or Console()
    results = options.results
    with nightly_lock(results):
        gate = gate or HostGate(max_wait=options.quiet_wait)
        flagged: list[str] = []

        def quiet(_case: Any) -> list[str]:
            flags = gate.wait_quiet([os.getpid()])
            flagged.extend(flags)
            for f in flags:
                console.say(f"nightly: {f}")
            return flags
        out = results / new_run_id()
        outcome = run_selection(catalog, options, out, console, before_case=quiet)
        skipped = tuple(skipped_cases(outcome.results))
        if skipped:
            console.say(f"nightly: {skipped_summary(outcome.results)}")
        run_id, folder = _settle_folder(results, out)
        stored = append_run(results, folder)
        others = [r for r in sync(results) if r != run_id]
        console.say(f"nightly: history: run {run_id} stored ({stored.rows} rows, {stored.bytes / 1e3:.0f} kB)"
                    + (f"; {len(others)} other run(s) caught up" if others else ""))
        builds = BuildStore(results, options.builds_max_bytes)
        if options.executor == "native":
            keep_builds(builds, catalog, run_id, folder, console)
        if outcome.interrupted:
            return NightlyResult(EXIT_INTERRUPTED, run_id, folder, (), None, tuple(flagged), skipped)
        history = load_history(results, ANALYSIS_COLUMNS)
        # An A/B confirms each candidate, so detection may propose smaller steps (changes.py CANDIDATE_PVALUE).
        detection = options.detection.for_confirmation() if options.confirm else options.detection
        # Once, for the alerts (every series this run measured is current) and the site.
        changes = detect(history, detection, series=shown_series(history))
        confirm = None
        if options.confirm:
            executor = make_executor(options.executor)
            confirmer = Confirmer(catalog, executor, results, run_id, folder, options.profile,
                                  choose_cpus(options.cpus), console, builds, seed=zlib.crc32(run_id.encode()))
            confirm = confirm_with(confirmer, detection, console)
        try:
            triage = triage_for_run(results, run_id, detection, repo=catalog.root, history=history, changes=changes,
                                    confirm=confirm, ab_n=AB_PROCESSES * AB_ROUNDS if options.confirm else 0)
        finally:
            if confirm is not None:
                executor.close()
        alerts = triage.alerts
        raised = triage.raised
        regressions = [a for a in raised if a.kind == REGRESSION]
        console.say(f"nightly: {len(raised)} open change(s) raised in this run's series: {len(regressions)} "
                    f"regression(s), {len(raised) - len(regressions)} improvement(s), "
                    f"{sum(1 for a in raised if a.new)} new; {len(alerts) - len(raised)} unconfirmed (host); "
                    f"{len(triage.environment)} environment change(s); see {folder / 'alerts.md'}")
        for line in environment_lines(triage.environment):
            console.say(f"nightly: {line}")
        site = render_results(results, results / "site", catalog, detection=detection, history=history,
                              changes=changes)
        status = EXIT_OK
        if REGRESSION in options.fail_on and any(a.new for a in regressions):  # raised ones only
            status = EXIT_REGRESSION
        elif outcome.failed:
            status = EXIT_FAILED
        elif SKIPPED in options.fail_on and skipped:
            status = EXIT_SKIPPED
        return NightlyResult(status, run_id, folder, tuple(alerts), site, tuple(flagged), skipped)


def main_nightly(catalog: Catalog, options: NightlyOptions) -> int:
    """What `cmbench nightly` runs: the nightly, then its site's index on stdout; a held lock is status 75."""
    try:
        result = nightly(catalog, options)
    except NightlyLocked as e:
        print(f"cmbench: {e}", file=sys.stderr)
        return EXIT_LOCKED
    if result.site is not None:
        print(result.site)
    return result.status
