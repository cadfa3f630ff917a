"""The `cmbench` command line: argparse parses the command table, a plain function per command does the work.

Every command lives in `cmbench.commands`, one module per family; this module only builds the
parser and runs the command a user named, turning a user's mistake into one line.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from cmbench.commands import COMMANDS
from cmbench.commands.base import Command
from harness.catalog import find_root, load_catalog
from harness.errors import EXIT_NOTHING_SELECTED, EXIT_USAGE, NothingSelected, UsageError, UserError
from harness.measure.interrupts import Interrupts
from harness.measure.process import LIVE

__all__ = ["COMMANDS", "build_parser", "entry", "main"]

EXIT_BROKEN_PIPE = 141  # as a shell reports a command a closed pipe's SIGPIPE ended


def build_parser(commands: Mapping[str, Command]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cmbench", description="Compare concurrency models across languages.",
        epilog="exit status: 0 done; 1 a case failed or an input file is unusable; 2 a wrong command line; "
               "5 the selection matches nothing; 130 interrupted; 141 the reader of the output closed it (nightly and "
               "compare add their own, see their --help)")
    parser.add_argument("--root", help="project folder holding workloads/ and impls/ (default: found upwards)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in commands.items():
        command.add_args(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None, commands: Mapping[str, Command] = COMMANDS) -> int:
    """Parse `argv` against the command table and run the command; a UserError is one line and status 1
    (or the command's own `error_status`), a UsageError status 2 as argparse's own, NothingSelected 5."""
    args = build_parser(commands).parse_args(argv)
    with Interrupts():  # Ctrl-C, SIGTERM and SIGHUP (a closed terminal) stop every command the same way
        try:
            root = Path(args.root).resolve() if args.root else find_root()
            catalog = load_catalog(root)
            status = commands[args.command].handler(args, catalog)
            sys.stdout.flush()  # a reader that closed the output shows here, not in the interpreter's last flush
            return status
        except NothingSelected as e:
            print(f"cmbench: error: {e}", file=sys.stderr)
            return EXIT_NOTHING_SELECTED
        except UsageError as e:
            print(f"cmbench: error: {e}", file=sys.stderr)
            return EXIT_USAGE
        except UserError as e:
            print(f"cmbench: error: {e}", file=sys.stderr)
            return commands[args.command].error_status
        except KeyboardInterrupt:
            LIVE.kill_all()
            print("cmbench: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # `cmbench regressions | head`: the rest of the output is not wanted
            LIVE.kill_all()
            _discard_stdout()
            return EXIT_BROKEN_PIPE


def entry() -> int:
    """The `cmbench` program: `main` with Ctrl-C's default action outside it.

    Once the command is done, a late Ctrl-C (while the interpreter shuts down) ends the process as
    Ctrl-C ends any program, which a shell reports as 130, instead of a KeyboardInterrupt traceback
    from the interpreter's own clean-up. `main` puts back the action it found, so this is set first;
    a Ctrl-C the process was started ignoring (a background job of a shell) stays ignored.
    """
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    return main()


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush of what was left does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no file descriptor behind stdout (a test's capture)
        pass


def version() -> str:
    """The installed cmbench's version (pyproject.toml), or "unknown" when it runs from a bare checkout."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("cmbench")
    except PackageNotFoundError:
        return "unknown"
