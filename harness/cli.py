"""The `cmbench` command line: argparse parses, a plain function per command does the work."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .catalog import Catalog, find_root, load_catalog, split_ids
from .cluster import make_security, run_on_cluster, serve
from .console import Console
from .errors import UserError
from .executors import EXECUTORS, make_executor
from .interrupts import Interrupts
from .manifest import PROFILES, Impl
from .merge import merge_runs
from .plan import Plan, plan_table
from .process import LIVE
from .runner import check_plan, choose_cpus, make_plan, prepare, run_plan, verify_impls
from .shard import parse_shard, shard_plan
from .vocab import impl_label, params_text, render_table


def cmd_list(args: argparse.Namespace, catalog: Catalog) -> int:
    """Workloads and implementations (description, variants, toolchain); `--impl` shows each one's detail."""
    if args.impl:
        print("\n\n".join(impl_detail(impl) for impl in catalog.select_impls(split_ids(args.impl))))
        return 0
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
                         variants, impl.description or "-"])
        print(render_table(["implementation", "toolchain", "variants", "description"], rows))
        print("\nknobs, variants and workloads of one: cmbench list --impl <language/model>")
    finally:
        executor.close()
    return 0


def impl_detail(impl: Impl) -> str:
    """One implementation as its impl.toml states it, for reading in a terminal."""
    lines = [impl.id, f"  description  {impl.description or '-'}", f"  workloads    {', '.join(impl.workloads)}",
             f"  run          {' '.join(impl.run)}", f"  readme       {impl.path / 'README.md'}"]
    if impl.knobs:
        lines.append("  knobs")
        width = max(len(k) for k in impl.knobs)
        lines += [f"    {k:{width}}  {v}" for k, v in impl.knobs.items()]
    lines.append("  variants")
    for v in impl.variants:
        only = f" (only {', '.join(v.workloads)})" if v.workloads else ""
        how = " ".join([*(f"{k}={x}" for k, x in v.env.items()), *v.args])
        lines.append(f"    {v.name}: {v.help or '-'}{only}" + (f" [{how}]" if how else ""))
    if impl.unsupported:
        lines.append("  unsupported")
        lines += [f"    {u.workload} {params_text(u.params)}: {u.reason}" for u in impl.unsupported]
    return "\n".join(lines)


def _list_args(p: argparse.ArgumentParser) -> None:
    _executor_arg(p)
    p.add_argument("--impl", help="comma-separated language/model ids: show their knobs, variants and workloads")


def cmd_new(args: argparse.Namespace, catalog: Catalog) -> int:
    """Create impls/LANGUAGE/MODEL/ from a template; it builds and verifies ping_pong as it is."""
    from .scaffold import new_impl

    folder = new_impl(catalog.root, args.id, args.template, catalog.workloads)
    print(f"created {folder}")
    print(f"next: cmbench build --impl {args.id} && cmbench verify --impl {args.id}; "
          f"then follow {folder / 'README.md'}")
    return 0


def _new_args(p: argparse.ArgumentParser) -> None:
    from .scaffold import TEMPLATES

    p.add_argument("id", metavar="LANGUAGE/MODEL", help="the new implementation's id, e.g. zig/threads")
    p.add_argument("--template", required=True, choices=list(TEMPLATES),
                   help="; ".join(f"{t.name}: {t.help}" for t in TEMPLATES.values()))


def cmd_build(args: argparse.Namespace, catalog: Catalog) -> int:
    impls = catalog.select_impls(split_ids(args.impl))
    executor = make_executor(args.executor)
    try:
        ready = prepare(executor, impls, Console())
    finally:
        executor.close()
    for impl_id, r in ready.items():
        print(f"{impl_id}: {r.status}" + (f" in {r.build_seconds:.1f} s" if r.status == "ok" else f": {r.message}"))
    return 1 if any(r.failed for r in ready.values()) else 0


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
    failed = sum(r.failed for r in results) + sum(v.failed for v in ready.values())
    console.say("verify: all passed" if not failed else f"verify: {failed} failed")
    return 1 if failed else 0


def _results_dir(args: argparse.Namespace, catalog: Catalog) -> Path:
    """The folder of stored runs and calibration.json: the one holding --out, else the project's results/."""
    out = getattr(args, "out", None)
    return Path(out).resolve().parent if out else catalog.root / "results"


def _plan_from_args(args: argparse.Namespace, catalog: Catalog, executor) -> Plan:
    """The plan the selection flags (or `--plan FILE`) describe, cut to `--shard I/N` when given."""
    shard = parse_shard(args.shard) if args.shard else None
    if getattr(args, "plan", None):
        given = [f for f in ("impl", "workload", "profile", "cpus", "timeout") if getattr(args, f) is not None]
        if given:
            raise UserError(f"--plan: the plan already says what to run; drop --{given[0]}")
        plan = Plan.load(Path(args.plan))
        check_plan(plan, catalog, executor)
    else:
        impls = catalog.select_impls(split_ids(args.impl))
        workloads = catalog.select_workloads(split_ids(args.workload))
        # a shard planned here must be cut from the plan every other job makes: the manifests' estimates only
        plan = make_plan(catalog, executor, impls, workloads, profile=args.profile or "quick",
                         cpus=choose_cpus(args.cpus), timeout=args.timeout, stored_estimates=shard is None,
                         results=_results_dir(args, catalog), recalibrate=args.recalibrate)
    return shard_plan(plan, *shard) if shard else plan


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
    console = Console()
    security = make_security(args.cluster or "", args.tls_ca_file, args.tls_cert, args.tls_key)
    if security is not None and not args.cluster:
        raise UserError("--tls-*: only with --cluster")
    if args.loadgen_host and not args.cluster:
        raise UserError("--loadgen-host: only with --cluster (the load generator goes to a `cmbench worker --loadgen` "
                        "host of the scheduler)")
    executor = make_executor(args.executor)
    try:
        plan = _plan_from_args(args, catalog, executor)
        out = Path(args.out) if args.out else None
        if args.cluster:
            outcome = run_on_cluster(plan, catalog, executor, address=args.cluster, security=security, out=out,
                                     console=console, timeout=args.timeout, argv=sys.argv,
                                     loadgen_host=args.loadgen_host, results=_results_dir(args, catalog),
                                     seed=args.seed, recalibrate=args.recalibrate)
        else:
            outcome = run_plan(plan, catalog, executor, out=out, console=console, timeout=args.timeout,
                               argv=sys.argv, results=_results_dir(args, catalog), seed=args.seed,
                               recalibrate=args.recalibrate, references=True)
    finally:
        executor.close()
    if outcome.stopped:
        console.say(f"stopped: {outcome.stopped}; the finished cases are stored")
        return 1
    if outcome.interrupted:
        console.say("interrupted: every child was stopped; the finished cases are stored")
        return 130
    if outcome.failed:
        console.say(f"{len(outcome.failed)} case(s) failed: " +
                    ", ".join(sorted({f'{impl_label(r.key.impl, r.key.variant)} {r.key.workload}'
                                      for r in outcome.failed})))
        return 1
    return 0


def cmd_worker(args: argparse.Namespace, catalog: Catalog) -> int:
    """Serve as a benchmark host of the Dask scheduler at ADDRESS until stopped."""
    security = make_security(args.address, args.tls_ca_file, args.tls_cert, args.tls_key)
    return serve(args.address, root=catalog.root, name=args.name, loadgen=args.loadgen, security=security,
                 console=Console())


def cmd_merge(args: argparse.Namespace, catalog: Catalog) -> int:
    """Join the runs of every shard of a plan into one run folder."""
    out = merge_runs([Path(p) for p in args.runs], Path(args.out), argv=sys.argv)
    print(out)
    return 0


def cmd_loadgen_headroom(args: argparse.Namespace, catalog: Catalog) -> int:
    """How fast wrk (plain and pipelined) and oha go on the load CPUs against a trivial responder on the server CPUs."""
    from .http import headroom_table, measure_headroom, split_cpus

    if args.pipeline < 0 or args.pipeline == 1:
        raise UserError(f"--pipeline: {args.pipeline} is not a depth to pipeline at: pass 0 (none) or at least 2")
    try:
        connections = [int(c) for c in args.connections.split(",")]
    except ValueError:
        connections = []
    if not connections or min(connections) < 1:
        raise UserError(f"--connections: {args.connections!r} is not a comma-separated list of whole numbers >= 1")
    if args.cluster:
        from .cluster import headroom_on_cluster

        security = make_security(args.cluster, args.tls_ca_file, args.tls_cert, args.tls_key)
        answer = headroom_on_cluster(args.cluster, security, cpus=args.cpus, duration=args.duration,
                                     connections=connections, pipelined=connections if args.pipeline else (),
                                     pipeline=args.pipeline or 16, console=Console())
        print(f"host {answer['host']}: server CPUs {answer['server_cpus']}, load generator CPUs "
              f"{answer['load_cpus']} (the same ids on host {answer['loadgen_host']}), {args.duration:g} s per run")
        print(answer["table"])
        return 0
    server, load = split_cpus(choose_cpus(args.cpus), sorted(os.sched_getaffinity(0)))
    if not load:
        raise UserError("--cpus: leaves no CPU for the load generator; pass a smaller --cpus")
    print(f"server CPUs {list(server)}, load generator CPUs {list(load)}, {args.duration:g} s per run")
    print(headroom_table(measure_headroom(server, load, duration=args.duration, connections=connections,
                                          pipelined=connections if args.pipeline else (),
                                          pipeline=args.pipeline or 16)))
    return 0


def _headroom_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cpus", type=int, help="CPUs for the responder, as for `run` (default: half of those allowed)")
    p.add_argument("--duration", type=_seconds, default=5.0, help="seconds per run (default: 5)")
    p.add_argument("--connections", default="64,256", help="comma-separated connection counts (default: 64,256)")
    p.add_argument("--pipeline", type=int, default=16,
                   help="also wrk pipelined at this depth, as the pipelined phases load (default: 16; 0: not)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="the responder on a benchmark host of the Dask scheduler at ADDRESS; each probe with the "
                        "generator there, then on a `cmbench worker --loadgen` host through the relay")
    _tls_args(p)


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
    _shard_arg(p)
    _recalibrate_arg(p)
    p.add_argument("--json", action="store_true", help="print the plan as JSON (for `cmbench run --plan FILE`)")


def _shard_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shard", metavar="I/N", help="only shard I of N (whole units, balanced by estimate), for a "
                                                  "CI job matrix; join the runs with `cmbench merge`")


def _tls_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tls-ca-file", metavar="FILE", help="TLS: the CA certificate (with a tls:// address)")
    p.add_argument("--tls-cert", metavar="FILE", help="TLS: this node's certificate")
    p.add_argument("--tls-key", metavar="FILE", help="TLS: this node's private key")


def _run_args(p: argparse.ArgumentParser) -> None:
    _selection_args(p)
    _profile_arg(p)
    p.add_argument("--plan", metavar="FILE", help="run a plan saved by `cmbench plan --json` (instead of "
                                                   "--impl/--workload/--profile/--cpus/--timeout)")
    p.add_argument("--out", help="output folder (default: results/<run-id>); calibration.json is kept beside it")
    _shard_arg(p)
    _recalibrate_arg(p)
    p.add_argument("--seed", type=int, help="seed of the order processes interleave in (default: random; "
                                            "recorded in run.json)")
    p.add_argument("--cluster", metavar="ADDRESS", help="run on the benchmark hosts of the Dask scheduler at "
                                                         "ADDRESS (tcp://HOST:8786 or tls://...)")
    p.add_argument("--loadgen-host", action="store_true",
                   help="with --cluster: HTTP servers on a benchmark host, their load generator on a host started "
                        "with `cmbench worker --loadgen` (TechEmpower's layout)")
    _tls_args(p)


def _worker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", metavar="SCHEDULER_ADDRESS", help="the Dask scheduler (tcp://HOST:8786 or tls://...)")
    p.add_argument("--loadgen", action="store_true",
                   help="also offer this host as a load generator (in `run --loadgen-host` runs it only drives load)")
    p.add_argument("--name", help="this host's name in runs (default: its hostname)")
    _tls_args(p)


def _merge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="the run folder of every shard")
    p.add_argument("--out", required=True, help="the folder of the merged run")


@dataclass(frozen=True)
class Command:
    handler: Callable[[argparse.Namespace, Catalog], int]
    help: str
    add_args: Callable[[argparse.ArgumentParser], None]
    error_status: int = 1  # the exit status of a UserError (a command whose 1 means a finding uses another)


COMMANDS: dict[str, Command] = {
    "list": Command(cmd_list, "list workloads and implementations, with toolchain status", _list_args),
    "build": Command(cmd_build, "build implementations", lambda p: _selection_args(p, workloads=False)),
    "verify": Command(cmd_verify, "run every workload at its smallest size and check the answers", _verify_args),
    "plan": Command(cmd_plan, "show every case a run would execute, its command and estimated time", _plan_args),
    "run": Command(cmd_run, "build, verify, measure and store a benchmark run", _run_args),
    "new": Command(cmd_new, "create a new implementation folder from a template (builds and verifies at once)",
                   _new_args),
    "worker": Command(cmd_worker, "serve as a benchmark host of a Dask scheduler (`run --cluster`)", _worker_args),
    "merge": Command(cmd_merge, "join the runs of every shard of a plan (`run --shard I/N`) into one", _merge_args),
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
    """Parse `argv` against the command table and run the command; a UserError is one line and status 1
    (or the command's own `error_status`).

    The `cmbench` console script calls this from the layer above the harness and the reports
    (package `cmbench`), which adds the report commands to the table.
    """
    args = build_parser(commands).parse_args(argv)
    with Interrupts():  # Ctrl-C, SIGTERM and SIGHUP (a closed terminal) stop every command the same way
        try:
            root = Path(args.root).resolve() if args.root else find_root()
            catalog = load_catalog(root)
            return commands[args.command].handler(args, catalog)
        except UserError as e:
            print(f"cmbench: error: {e}", file=sys.stderr)
            return commands[args.command].error_status
        except KeyboardInterrupt:
            LIVE.kill_all()
            print("cmbench: interrupted", file=sys.stderr)
            return 130
