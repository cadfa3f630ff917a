"""`cmbench system show|tune|reset`: what on this host disturbs measurements, and (as root) setting it right.

Thin commands over harness/host/system.py, which says what is checked and why, and harness/host/tuning.py.
"""

from __future__ import annotations

import argparse
import json

from cmbench.commands.base import Command
from harness.catalog import Catalog
from harness.engine.ready import choose_cpus
from harness.errors import UsageError, warn
from harness.host import system, tuning


def cmd_system(args: argparse.Namespace, catalog: Catalog) -> int:
    """`show` prints every check (`--json`: the report run.json records); `tune` and `reset` print what changed."""
    cpus = choose_cpus(args.cpus)
    if args.json and args.action != "show":
        raise UsageError(f"--json: only with `cmbench system show`; {args.action} prints what it changed")
    if args.action == "show":
        report = system.system_report(cpus)
        print(json.dumps(report.to_dict(), indent=2) if args.json else report.table())
        return 0
    changes = tuning.tune(cpus) if args.action == "tune" else tuning.reset()
    for line in changes.changed or [f"nothing to {args.action}: every setting it changes is as it would set it"]:
        print(line)
    for line in changes.notes:
        print(line)
    for line in changes.failed:
        warn(line)
    print()
    print(system.system_report(cpus).table())
    return 1 if changes.failed else 0


def system_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["show", "tune", "reset"], nargs="?", default="show",
                   help="show (default): check this host; tune: set it up for measuring; reset: undo tune "
                        "(both as root)")
    p.add_argument("--cpus", type=int,
                   help="the CPUs cases are pinned to, as for `run` (default: all allowed): the checks that "
                        "concern CPUs are about these, and tune keeps interrupts off them (reset: every CPU)")
    p.add_argument("--json", action="store_true", help="show: print the report as JSON (what run.json records)")


COMMANDS = {
    "system": Command(cmd_system, "check (and as root tune or reset) what on this host disturbs measurements",
                      system_args),
}
