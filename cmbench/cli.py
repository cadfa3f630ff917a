"""The command table of `cmbench`: the harness's commands, then those of the reports and the nightly.

The upper commands' handlers are imported when one of them runs, so `cmbench run`, `plan` or
`worker` load no reporting stack (pandas, seaborn, pyarrow, the change-point library) and a
benchmark host can go without it.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Sequence

import harness.cli
from harness.catalog import Catalog
from harness.errors import UserError

from . import arguments

# Packages of the reporting stack: when one is missing, a report command says how to install it.
REPORTING = ("pandas", "numpy", "scipy", "seaborn", "matplotlib", "jinja2", "pyarrow", "otava", "psutil")


def lazy(target: str) -> Callable[[argparse.Namespace, Catalog], int]:
    """The handler `module:function`, imported when the command runs."""
    module, name = target.split(":")

    def handler(args: argparse.Namespace, catalog: Catalog) -> int:
        try:
            found = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name and e.name.split(".")[0] in REPORTING:
                raise UserError(f"cmbench {args.command} needs the reporting packages ({e.name} is missing): "
                                "pip install -e . (or make install)") from None
            raise
        return getattr(found, name)(args, catalog)

    return handler


Command = harness.cli.Command
COMMANDS: dict[str, Command] = {
    **harness.cli.COMMANDS,
    "report": Command(lazy("reports.commands:cmd_report"), "render the static report site from stored runs",
                      arguments.report_args),
    "compare": Command(lazy("reports.commands:cmd_compare"),
                       "compare two runs case by case, with a significance test", arguments.compare_args,
                       error_status=2),  # 1 is --fail-above's finding (reports.commands.COMPARE_REGRESSION)
    "nightly": Command(lazy("cmbench.commands:cmd_nightly"),
                       "run, store, append to history, detect changes, render and alert", arguments.nightly_args),
    "history": Command(lazy("cmbench.commands:cmd_history"), "the history store of every run's per-case summaries",
                       arguments.history_args),
    "regressions": Command(lazy("cmbench.commands:cmd_regressions"),
                           "print the open alerts (changes in the nightly series), newest first",
                           arguments.regressions_args),
}


def main(argv: Sequence[str] | None = None) -> int:
    return harness.cli.main(argv, COMMANDS)
