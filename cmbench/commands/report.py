"""`cmbench report`, `compare` and `repeatability`: the static site of stored runs, two runs side by side, and how
closely several runs repeat one another.

The reporting stack (pandas, seaborn, jinja2) is imported when one of them runs.
"""

from __future__ import annotations

import argparse

from cmbench.commands.base import Command, needs_reporting
from harness.catalog import Catalog


@needs_reporting
def cmd_report(args: argparse.Namespace, catalog: Catalog) -> int:
    """Render the static report site; the last line printed is the path of its index.html."""
    from reports.render import report

    return report(args.runs, args.out, catalog)


@needs_reporting
def cmd_compare(args: argparse.Namespace, catalog: Catalog) -> int:
    """Compare two runs; exit COMPARE_REGRESSION (1) for a regression beyond --fail-above, 2 for an error."""
    from reports.render import compare

    return compare(args.run_a, args.run_b, args.out, catalog.root, fail_above=args.fail_above, as_json=args.json)


@needs_reporting
def cmd_repeatability(args: argparse.Namespace, catalog: Catalog) -> int:
    """Each case's run-to-run spread over the runs given."""
    from reports.render import repeatability

    return repeatability(args.runs, catalog.root, as_json=args.json)


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


def repeatability_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="two or more runs of one selection and profile on one host: folders, or run ids under results/")
    p.add_argument("--json", action="store_true",
                   help="print the runs, the summary and every case's medians and CV as data (a JSON object)")


COMMANDS = {
    "report": Command(cmd_report, "render the static report site from stored runs", report_args),
    "compare": Command(cmd_compare, "compare two runs case by case, with a significance test", compare_args,
                       error_status=2),  # 1 is --fail-above's finding (reports.render.COMPARE_REGRESSION)
    "repeatability": Command(cmd_repeatability, "how closely several runs repeat one another: each case's "
                             "run-to-run CV", repeatability_args),
}
