"""`cmbench publish`: the report sites laid out for a web server or GitHub Pages, an address per run.

A thin command over reports/publish.py; the reporting stack is imported when it runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cmbench.commands.base import Command, needs_reporting, results_arg, results_dir
from harness.catalog import Catalog
from harness.errors import UsageError


@needs_reporting
def cmd_publish(args: argparse.Namespace, catalog: Catalog) -> int:
    """Publish into --to DIR; the last line printed is the path of DIR/index.html."""
    from reports.publish import publish

    if args.keep is not None and args.keep < 1:
        raise UsageError(f"--keep: {args.keep} is not a number of runs >= 1")
    done = publish(results_dir(args, catalog), Path(args.to), catalog, keep=args.keep)
    print(f"publish: {done.runs} run(s), {len(done.rendered)} rendered now, the others kept, in {done.seconds:.1f} s",
          file=sys.stderr)
    print(done.index)
    return 0


def publish_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", required=True, metavar="DIR",
                   help="the published folder: DIR/index.html the latest run's site, DIR/runs/<run-id>/ each run's "
                        "own (rendered once, then kept), DIR/history/ the nightly's pages, DIR/runs/index.html the "
                        "runs; made anew on every publish")
    results_arg(p)
    p.add_argument("--keep", type=int, metavar="N",
                   help="publish only the newest N runs' own sites (default: every run; GitHub Pages serves at "
                        "most 1 GB)")


COMMANDS = {
    "publish": Command(cmd_publish, "lay out the report sites for publishing: the latest, one per run, the nightly's",
                       publish_args),
}
