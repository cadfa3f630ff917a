"""`cmbench nightly`, `cmbench history rebuild` and `cmbench regressions`: thin commands over plain functions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.alerts import alerts_table, open_alerts
from harness.catalog import Catalog
from harness.changes import DetectionConfig
from harness.errors import UserError
from harness.history import ANALYSIS_COLUMNS, load_history, rebuild, run_environments, sync

from .nightly import NightlyOptions, main_nightly


def results_dir(args: argparse.Namespace, catalog: Catalog) -> Path:
    return Path(args.results) if args.results else catalog.root / "results"


def detection(args: argparse.Namespace) -> DetectionConfig:
    if not 0 <= args.min_change < 100:
        raise UserError(f"--min-change: {args.min_change:g} is not a percentage in [0, 100)")
    return DetectionConfig(min_change=args.min_change / 100)


def cmd_nightly(args: argparse.Namespace, catalog: Catalog) -> int:
    if args.quiet_wait < 0:
        raise UserError("--quiet-wait: must be 0 or more seconds")
    return main_nightly(catalog, NightlyOptions(
        results=results_dir(args, catalog), profile=args.profile, impl=args.impl, workload=args.workload,
        cpus=args.cpus, executor=args.executor, timeout=args.timeout, fail_on=args.fail_on,
        detection=detection(args), quiet_wait=args.quiet_wait, argv=sys.argv))


def cmd_history_rebuild(args: argparse.Namespace, catalog: Catalog) -> int:
    r = rebuild(results_dir(args, catalog), progress=lambda line: print(line, file=sys.stderr))
    print(f"history: {r.runs} run(s), {r.rows} rows, {r.bytes / 1e6:.2f} MB ({r.bytes / max(r.runs, 1) / 1e3:.1f} kB "
          f"per run) in {r.seconds:.1f} s -> {r.path}")
    return 0


HISTORY_COMMANDS = {"rebuild": cmd_history_rebuild}


def cmd_history(args: argparse.Namespace, catalog: Catalog) -> int:
    return HISTORY_COMMANDS[args.history_command](args, catalog)


def cmd_regressions(args: argparse.Namespace, catalog: Catalog) -> int:
    """The open alerts of every current series, newest first."""
    results = results_dir(args, catalog)
    sync(results)
    history = load_history(results, ANALYSIS_COLUMNS)
    if history.empty:
        raise UserError(f"--results {results}: no runs in the history store; run `cmbench nightly` first")
    alerts = open_alerts(history, detection(args), repo=catalog.root, since=args.since,
                         environments=run_environments(results))
    if not alerts:
        since = f" since {args.since}" if args.since else ""
        print(f"no open alerts in {history['run_id'].nunique()} run(s){since}")
        return 0
    print(alerts_table(alerts))
    return 0
