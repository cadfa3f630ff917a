"""The arguments of the commands above the harness (report, compare, nightly, history, regressions).

Declared apart from their handlers so that building the parser loads no reporting stack: `cmbench
run` never imports pandas, seaborn, pyarrow or the change-point library.
"""

from __future__ import annotations

import argparse

from harness.cli import _selection_args
from harness.manifest import PROFILES

MIN_CHANGE_PERCENT = 3.0  # harness/changes.py DetectionConfig.min_change, in percent


def report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="*", metavar="RUN_DIR",
                   help="run folders or run ids under results/ (default: every run under results/); the overview "
                        "shows the newest, history and comparisons use all")
    p.add_argument("--out", help="site folder (default: reports/site)")


def compare_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_a", metavar="RUN_A", help="the baseline run: a folder, or a run id under results/")
    p.add_argument("run_b", metavar="RUN_B", help="the run compared with it")
    p.add_argument("--out", help="folder for the comparison page (default: reports/site/compare/<A>_vs_<B>; "
                                 "with --json, no page unless given)")
    p.add_argument("--fail-above", type=float, metavar="PCT",
                   help="exit 1 when a metric of a case is significantly worse in B (after the correction for "
                        "the number of tests) by more than PCT percent of A's median; errors exit 2")
    p.add_argument("--json", action="store_true",
                   help="print the comparison as data (a JSON list, one object per case and metric) instead")


def _results_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", metavar="DIR",
                   help="folder of the run folders and the history store (default: results/)")


def _min_change_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min-change", type=float, default=MIN_CHANGE_PERCENT, metavar="PCT",
                   help="noise floor: smallest change between medians reported, in percent (default: %(default)g)")


def nightly_args(p: argparse.ArgumentParser) -> None:
    _selection_args(p)
    p.add_argument("--profile", default="full", choices=[p for p in PROFILES if p != "verify"],
                   help="sizes and repetitions (default: full)")
    _results_arg(p)
    p.add_argument("--fail-on", choices=("regression",),
                   help="exit 3 when this run reports a new regression (default: exit 0 whatever was found)")
    _min_change_arg(p)
    p.add_argument("--quiet-wait", type=float, default=300.0, metavar="SECONDS",
                   help="how long to wait for other processes to leave the CPUs before measuring anyway, "
                        "flagged (default: %(default)g)")


def history_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="history_command", required=True, metavar="SUBCOMMAND")
    _results_arg(sub.add_parser("rebuild", help="rebuild the history store from the run folders",
                                description="rebuild the history store from the run folders"))


def regressions_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", metavar="RUN", help="only changes whose first run at the new level is RUN or later")
    _results_arg(p)
    _min_change_arg(p)
