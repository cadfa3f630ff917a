"""The `cmbench` command line: argparse parses, a plain function per command does the work."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .catalog import Catalog, find_root, load_catalog, split_ids
from .console import Console
from .errors import UserError
from .executors import EXECUTORS, make_executor
from .manifest import PROFILES
from .plan import Plan, plan_table
from .process import LIVE
from .runner import check_plan, choose_cpus, make_plan, prepare, run_plan, verify_impls
from .vocab import impl_label, render_table


def cmd_list(args: argparse.Namespace, catalog: Catalog) -> int:
    """Workloads and implementations, with whether each toolchain is present."""
    executor = make_executor(args.executor)
    try:
        rows = [[w.name, w.kind, w.summary] for w in catalog.workloads.values()]
        print(render_table(["workload", "kind", "summary"], rows))
        print()
        rows = []
        for impl in catalog.impls.values():
            tc = executor.toolchain(impl)
            variants = ",".join(v.name for v in impl.variants[1:]) or "-"
            rows.append([impl.id, "yes: " + tc.version[:40] if tc.present else "MISSING: " + impl.toolchain_hint,
                         variants, ",".join(impl.workloads)])
        print(render_table(["implementation", "toolchain", "variants", "workloads"], rows))
    finally:
        executor.close()
    return 0


def cmd_build(args: argparse.Namespace, catalog: Catalog) -> int:
    impls = catalog.select_impls(split_ids(args.impl))
    executor = make_executor(args.executor)
    try:
        ready = prepare(executor, impls, Console())
    finally:
        executor.close()
    for impl_id, r in ready.items():
        print(f"{impl_id}: {r.status}" + (f" in {r.build_seconds:.1f} s" if r.status == "ok" else f": {r.message}"))
    return 1 if any(r.status == "build_failed" for r in ready.values()) else 0


def cmd_verify(args: argparse.Namespace, catalog: Catalog) -> int:
    """Run every selected workload at its smallest size and check every answer."""
    impls = catalog.select_impls(split_ids(args.impl))
    workloads = catalog.select_workloads(split_ids(args.workload))
    cpus = choose_cpus(args.cpus)
    console = Console()
    executor = make_executor(args.executor)
    try:
        ready, results = verify_impls(catalog, executor, impls, workloads, cpus=cpus, console=console,
                                      timeout=args.timeout, build=not args.no_build)
    finally:
        executor.close()
    for r in results:
        k = r.key
        console.say(f"{'PASS' if r.status == 'ok' else r.status.upper():13} {impl_label(k.impl, k.variant):36} "
                    f"{k.workload}[{k.case}]" + (f": {r.error}" if r.error else ""))
    failed = sum(r.failed for r in results) + sum(v.status == "build_failed" for v in ready.values())
    console.say("verify: all passed" if not failed else f"verify: {failed} failed")
    return 1 if failed else 0


def _results_dir(args: argparse.Namespace, catalog: Catalog) -> Path:
    """The folder of stored runs and calibration.json: the one holding --out, else the project's results/."""
    out = getattr(args, "out", None)
    return Path(out).resolve().parent if out else catalog.root / "results"


def _plan_from_args(args: argparse.Namespace, catalog: Catalog, executor) -> Plan:
    impls = catalog.select_impls(split_ids(args.impl))
    workloads = catalog.select_workloads(split_ids(args.workload))
    return make_plan(catalog, executor, impls, workloads, profile=args.profile or "quick",
                     cpus=choose_cpus(args.cpus), timeout=args.timeout, results=_results_dir(args, catalog),
                     recalibrate=args.recalibrate)


def cmd_plan(args: argparse.Namespace, catalog: Catalog) -> int:
    """Print every case a run with the same flags would execute (a table, or the plan as JSON)."""
    executor = make_executor(args.executor)
    try:
        plan = _plan_from_args(args, catalog, executor)
    finally:
        executor.close()
    print(plan.dumps() if args.json else plan_table(plan), end="" if args.json else "\n")
    return 0


def cmd_run(args: argparse.Namespace, catalog: Catalog) -> int:
    executor = make_executor(args.executor)
    console = Console()
    try:
        if args.plan:
            given = [f for f in ("impl", "workload", "profile", "cpus", "timeout") if getattr(args, f) is not None]
            if given:
                raise UserError(f"--plan: the plan already says what to run; drop --{given[0]}")
            plan = Plan.load(Path(args.plan))
            check_plan(plan, catalog, executor)
        else:
            plan = _plan_from_args(args, catalog, executor)
        outcome = run_plan(plan, catalog, executor, out=Path(args.out) if args.out else None, console=console,
                           timeout=args.timeout, argv=sys.argv, results=_results_dir(args, catalog), seed=args.seed,
                           recalibrate=args.recalibrate)
    finally:
        executor.close()
    if outcome.interrupted:
        console.say("interrupted: every child was stopped; the finished cases are stored")
        return 130
    if outcome.failed:
        console.say(f"{len(outcome.failed)} case(s) failed: " +
                    ", ".join(sorted({f'{impl_label(r.key.impl, r.key.variant)} {r.key.workload}'
                                      for r in outcome.failed})))
        return 1
    return 0


def cmd_loadgen_headroom(args: argparse.Namespace, catalog: Catalog) -> int:
    """How fast wrk and oha go on the load CPUs against a trivial responder on the server CPUs."""
    from .http import headroom_table, measure_headroom, split_cpus

    server, load = split_cpus(choose_cpus(args.cpus), sorted(os.sched_getaffinity(0)))
    if not load:
        raise UserError("--cpus: leaves no CPU for the load generator; pass a smaller --cpus")
    try:
        connections = [int(c) for c in args.connections.split(",")]
    except ValueError:
        raise UserError(f"--connections: {args.connections!r} is not a comma-separated list of numbers") from None
    print(f"server CPUs {list(server)}, load generator CPUs {list(load)}, {args.duration:g} s per run")
    print(headroom_table(measure_headroom(server, load, duration=args.duration, connections=connections)))
    return 0


def _headroom_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cpus", type=int, help="CPUs for the responder, as for `run` (default: half of those allowed)")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per run (default: 5)")
    p.add_argument("--connections", default="64,256", help="comma-separated connection counts (default: 64,256)")


def _seconds(text: str) -> float:
    """A number of seconds > 0 (argparse type); `0`, negative, nan and inf are refused, not reinterpreted."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds > 0 (omit the flag for the default)")
    return value


def _executor_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", default="native", choices=list(EXECUTORS),
                   help="where implementations are built and run (default: native)")


def _selection_args(p: argparse.ArgumentParser, *, workloads: bool = True) -> None:
    _executor_arg(p)
    p.add_argument("--impl", help="comma-separated language/model ids (default: all)")
    if workloads:
        p.add_argument("--workload", help="comma-separated workload names (default: all)")
        p.add_argument("--cpus", type=int, help="CPUs to pin each implementation to (default: all allowed)")
        p.add_argument("--timeout", type=_seconds, help="seconds per implementation process (default: per profile)")


def _verify_args(p: argparse.ArgumentParser) -> None:
    _selection_args(p)
    p.add_argument("--no-build", action="store_true", help="use what is already built")


def _profile_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=[p for p in PROFILES if p != "verify"],
                   help="sizes and repetitions (default: quick)")


def _recalibrate_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recalibrate", action="store_true",
                   help="size calibrated cases again, replacing the sizes stored for this environment")


def _plan_args(p: argparse.ArgumentParser) -> None:
    _selection_args(p)
    _profile_arg(p)
    _recalibrate_arg(p)
    p.add_argument("--json", action="store_true", help="print the plan as JSON (for `cmbench run --plan FILE`)")


def _run_args(p: argparse.ArgumentParser) -> None:
    _selection_args(p)
    _profile_arg(p)
    p.add_argument("--plan", metavar="FILE", help="run a plan saved by `cmbench plan --json` (instead of "
                                                   "--impl/--workload/--profile/--cpus/--timeout)")
    p.add_argument("--out", help="output folder (default: results/<run-id>); calibration.json is kept beside it")
    _recalibrate_arg(p)
    p.add_argument("--seed", type=int, help="seed of the order processes interleave in (default: random; "
                                            "recorded in run.json)")


@dataclass(frozen=True)
class Command:
    handler: Callable[[argparse.Namespace, Catalog], int]
    help: str
    add_args: Callable[[argparse.ArgumentParser], None]


COMMANDS: dict[str, Command] = {
    "list": Command(cmd_list, "list workloads and implementations, with toolchain status", _executor_arg),
    "build": Command(cmd_build, "build implementations", lambda p: _selection_args(p, workloads=False)),
    "verify": Command(cmd_verify, "run every workload at its smallest size and check the answers", _verify_args),
    "plan": Command(cmd_plan, "show every case a run would execute, its command and estimated time", _plan_args),
    "run": Command(cmd_run, "build, verify, measure and store a benchmark run", _run_args),
    "loadgen-headroom": Command(cmd_loadgen_headroom, "measure the HTTP load generators' ceiling on their CPUs",
                                _headroom_args),
}


def build_parser(commands: Mapping[str, Command]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cmbench", description="Compare concurrency models across languages.")
    parser.add_argument("--root", help="project folder holding workloads/ and impls/ (default: found upwards)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in commands.items():
        command.add_args(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None, commands: Mapping[str, Command] = COMMANDS) -> int:
    """Parse `argv` against the command table and run the command; a UserError is one line and status 1.

    The `cmbench` console script calls this from the layer above the harness and the reports
    (package `cmbench`), which adds the report commands to the table.
    """
    args = build_parser(commands).parse_args(argv)
    try:
        root = Path(args.root).resolve() if args.root else find_root()
        catalog = load_catalog(root)
        return commands[args.command].handler(args, catalog)
    except UserError as e:
        print(f"cmbench: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        LIVE.kill_all()
        print("cmbench: interrupted", file=sys.stderr)
        return 130
