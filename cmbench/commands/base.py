"""What every command shares: the `Command` record, the arguments several commands take, and their defaults.

Each default is stated here once; the command modules only refer to it.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.catalog import Catalog
from harness.errors import UserError
from harness.executors import EXECUTORS
from harness.manifests.model import PROFILES

Handler = Callable[[argparse.Namespace, Catalog], int]

DEFAULT_PROFILE = "quick"  # `run` and `plan`
NIGHTLY_PROFILE = "full"  # `nightly`
DEFAULT_EXECUTOR = "native"
RUN_PROFILES = [p for p in PROFILES if p != "verify"]
# Packages of the reporting stack: when one is missing, a report command says how to install it.
REPORTING = ("pandas", "numpy", "seaborn", "matplotlib", "jinja2", "pyarrow", "otava", "psutil", "scipy")
INSTALL_OTAVA = "pip install --no-deps 'apache-otava>=0.8,<0.9'"  # as the Makefile does (OTAVA): no unused clients


@dataclass(frozen=True)
class Command:
    handler: Handler
    help: str
    add_args: Callable[[argparse.ArgumentParser], None]
    error_status: int = 1  # the exit status of a UserError (a command whose 1 means a finding uses another)


def needs_reporting(handler: Handler) -> Handler:
    """A handler that loads the reporting stack when it runs: a missing package is one line saying how to install it.

    The handlers import it inside their bodies, so `cmbench run`, `plan` or `worker` load no
    pandas, seaborn, pyarrow or change-point library, and a benchmark host can go without them.
    """

    @functools.wraps(handler)
    def run(args: argparse.Namespace, catalog: Catalog) -> int:
        try:
            return handler(args, catalog)
        except ModuleNotFoundError as e:
            if e.name and e.name.split(".")[0] in REPORTING:
                how = INSTALL_OTAVA if e.name.split(".")[0] == "otava" else "pip install -e '.[report,nightly]'"
                raise UserError(f"cmbench {args.command} needs the reporting packages ({e.name} is missing): "
                                f"{how} (or make install)") from None
            raise

    return run


def seconds(text: str) -> float:
    """A number of seconds > 0 (argparse type); `0`, negative, nan and inf are refused, not reinterpreted."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds > 0 (omit the flag for the default)")
    return value


def executor_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", default=DEFAULT_EXECUTOR, choices=list(EXECUTORS),
                   help=f"where implementations are built and run (default: {DEFAULT_EXECUTOR})")


def selection_args(p: argparse.ArgumentParser, *, workloads: bool = True) -> None:
    executor_arg(p)
    p.add_argument("--impl", help="comma-separated language/model ids (default: all)")
    if workloads:
        p.add_argument("--workload", help="comma-separated workload names (default: all)")
        p.add_argument("--cpus", type=int, help="CPUs to pin each implementation to (default: all allowed)")
        p.add_argument("--timeout", type=seconds, help="seconds per implementation process (default: per profile)")


def profile_arg(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """--profile; without `default` the flag stays None when not given (so `--plan` can tell), and means
    DEFAULT_PROFILE."""
    p.add_argument("--profile", choices=RUN_PROFILES, default=default,
                   help=f"sizes and repetitions (default: {default or DEFAULT_PROFILE})")


def tls_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tls-ca-file", metavar="FILE", help="TLS: the CA certificate (with a tls:// address)")
    p.add_argument("--tls-cert", metavar="FILE", help="TLS: this node's certificate")
    p.add_argument("--tls-key", metavar="FILE", help="TLS: this node's private key")


def results_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", metavar="DIR",
                   help="folder of the run folders and the history store (default: results/)")


def results_dir(args: argparse.Namespace, catalog: Catalog) -> Path:
    """--results, else the project's results/."""
    return Path(args.results) if args.results else catalog.root / "results"
