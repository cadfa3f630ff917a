"""`cmbench nightly`, `cmbench history rebuild` and `cmbench regressions`: the scheduled run and what it keeps.

Thin commands over plain functions (cmbench/nightly.py, reports/history); the history stack
(pandas, pyarrow, the change-point library) is imported when one of them runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cmbench.commands.base import (
    NIGHTLY_PROFILE,
    RUN_PROFILES,
    Command,
    needs_reporting,
    results_arg,
    results_dir,
    selection_args,
)
from harness.catalog import Catalog
from harness.errors import UsageError, UserError

# What --fail-on may name (cmbench.nightly.FAIL_ON, which imports the reporting stack: said again here,
# and checked to agree by tests/unit/test_nightly.py).
FAIL_ON = ("regression", "skipped")


def detection(args: argparse.Namespace):
    """The change detection --min-change asks for (its own noise floor when not given)."""
    from reports.history.changes import DetectionConfig

    if args.min_change is None:
        return DetectionConfig()
    if not 0 <= args.min_change < 100:
        raise UsageError(f"--min-change: {args.min_change:g} is not a percentage in [0, 100)")
    return DetectionConfig(min_change=args.min_change / 100)


@needs_reporting
def cmd_nightly(args: argparse.Namespace, catalog: Catalog) -> int:
    from cmbench.nightly import NightlyOptions, main_nightly

    if args.quiet_wait < 0:
        raise UsageError("--quiet-wait: must be 0 or more seconds")
    return main_nightly(catalog, NightlyOptions(
        results=results_dir(args, catalog), profile=args.profile, impl=args.impl, workload=args.workload,
        cpus=args.cpus, executor=args.executor, timeout=args.timeout, fail_on=args.fail_on,
        detection=detection(args), quiet_wait=args.quiet_wait, argv=sys.argv, confirm=not args.no_confirm))


@needs_reporting
def cmd_history(args: argparse.Namespace, catalog: Catalog) -> int:
    from reports.history.store import rebuild

    r = rebuild(results_dir(args, catalog), progress=lambda line: print(line, file=sys.stderr))
    print(f"history: {r.runs} run(s), {r.rows} rows, {r.bytes / 1e6:.2f} MB ({r.bytes / max(r.runs, 1) / 1e3:.1f} kB "
          f"per run) in {r.seconds:.1f} s -> {r.path}")
    return 0


@needs_reporting
def cmd_regressions(args: argparse.Namespace, catalog: Catalog) -> int:
    """The open alerts of every current series, newest first."""
    from reports.history.alerts import ALERTS_SCHEMA, alerts_table, environment_lines, open_triage
    from reports.history.store import ANALYSIS_COLUMNS, load_history, run_environments, sync
    from reports.history.triage import sensitivity_text

    results = results_dir(args, catalog)
    sync(results)
    history = load_history(results, ANALYSIS_COLUMNS)
    if history.empty:
        raise UserError(f"--results {results}: no runs in the history store; run `cmbench nightly` first")
    config = detection(args)
    if _confirms(results, history):
        config = config.for_confirmation()
    triage = open_triage(history, config, repo=catalog.root, since=args.since,
                         environments=run_environments(results), results=results)
    alerts = triage.alerts
    if args.json:
        print(json.dumps({"schema": ALERTS_SCHEMA, "runs": int(history["run_id"].nunique()),
                          "alerts": [a.as_dict() for a in alerts],
                          "environment_changes": [e.as_dict() for e in triage.environment],
                          "sensitivity": triage.sensitivity}, indent=1))
        return 0
    if not alerts:
        since = f" since {args.since}" if args.since else ""
        print(f"no open alerts in {history['run_id'].nunique()} run(s){since}")
    else:
        print(alerts_table(alerts))
    for line in [*environment_lines(triage.environment), *sensitivity_text(triage.sensitivity)]:
        print(line)
    return 0


def _confirms(results: Path, history) -> bool:
    """Whether the newest nightly under `results` confirmed its candidates A/B (alerts.json `config`):
    `regressions` then proposes what that nightly's detection does, and after `--no-confirm` nightlies
    what theirs did (a change in the medians as measured)."""
    from reports.history.alerts import find_run_folder, load_alerts

    try:
        doc = load_alerts(find_run_folder(results, str(history["run_id"].iloc[-1])))
    except UserError:  # no alerts yet (a run stored by `cmbench history`)
        return True
    config = doc.get("config")
    return not isinstance(config, dict) or config.get("ab_confirmation") is not False


def _min_change_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min-change", type=float, metavar="PCT",
                   help="noise floor: smallest change between medians reported, in percent (default: the change "
                        "detection's own floor, README \"Nightly runs\")")


def _fail_on(text: str) -> list[str]:
    """--fail-on's value: findings from `FAIL_ON`, comma-separated (argparse type)."""
    found = [w.strip() for w in text.split(",") if w.strip()]
    unknown = [w for w in found if w not in FAIL_ON]
    if unknown or not found:
        raise argparse.ArgumentTypeError(f"{text!r}: name one or more of {', '.join(FAIL_ON)}, comma-separated")
    return found


def nightly_args(p: argparse.ArgumentParser) -> None:
    selection_args(p)
    p.add_argument("--profile", default=NIGHTLY_PROFILE, choices=RUN_PROFILES,
                   help=f"sizes and repetitions (default: {NIGHTLY_PROFILE})")
    results_arg(p)
    p.add_argument("--fail-on", action="extend", type=_fail_on, default=[], metavar="regression,skipped",
                   help="exit 3 when this run reports a new regression, 4 when a case was skipped (a toolchain or "
                        "load generator missing); comma-separated or repeated (default: exit 0 whatever was found)")
    _min_change_arg(p)
    p.add_argument("--quiet-wait", type=float, default=300.0, metavar="SECONDS",
                   help="how long to wait for other processes to leave the CPUs before measuring anyway, "
                        "flagged (default: %(default)g)")
    p.add_argument("--no-confirm", action="store_true",
                   help="raise candidate changes without measuring them A/B against the last good run's build "
                        "(default: each is confirmed first, README \"Nightly runs\")")


def history_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="history_command", required=True, metavar="SUBCOMMAND")
    results_arg(sub.add_parser("rebuild", help="rebuild the history store from the run folders",
                               description="rebuild the history store from the run folders"))


def regressions_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", metavar="RUN", help="only changes whose first run at the new level is RUN or later")
    results_arg(p)
    p.add_argument("--json", action="store_true",
                   help="print the open alerts as JSON, each as alerts.json holds them (results/README.md)")
    _min_change_arg(p)


COMMANDS = {
    "nightly": Command(cmd_nightly, "run, store, append to history, detect changes, render and alert", nightly_args),
    "history": Command(cmd_history, "the history store of every run's per-case summaries", history_args),
    "regressions": Command(cmd_regressions, "print the open alerts (changes in the nightly series), newest first",
                           regressions_args),
}
