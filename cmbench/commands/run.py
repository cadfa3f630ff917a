"""`cmbench build`, `verify`, `plan`, `run` and `merge`: a benchmark run, from the selection to the run folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cmbench.commands.base import DEFAULT_PROFILE, Command, profile_arg, selection_args, tls_args
from cmbench.commands.fleet import needs_cluster
from harness.catalog import Catalog, split_ids
from harness.cluster.tls import make_security
from harness.console import Console
from harness.engine.local import RunOptions, check_plan, make_plan, run_plan, verify_impls
from harness.engine.merge import merge_runs
from harness.engine.ready import choose_cpus, prepare
from harness.engine.shard import parse_shard, shard_plan
from harness.errors import NothingSelected, UsageError
from harness.executors import make_executor
from harness.plan.spec import Plan
from harness.plan.table import plan_table
from harness.vocab import impl_label


def cmd_build(args: argparse.Namespace, catalog: Catalog) -> int:
    impls = catalog.select_impls(split_ids(args.impl))
    executor = make_executor(args.executor)
    try:
        ready = prepare(executor, impls, Console())
    finally:
        executor.close()
    for impl_id, r in ready.items():
        print(f"{impl_id}: {r.status}" + (f" in {r.build_seconds:.1f} s" if r.status == "ok" else " (see above)"))
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
            raise UsageError(f"--plan: the plan already says what to run; drop --{given[0]}")
        plan = Plan.load(Path(args.plan))
        plan = check_plan(plan, catalog, executor)
    else:
        impls = catalog.select_impls(split_ids(args.impl))
        workloads = catalog.select_workloads(split_ids(args.workload))
        # a shard planned here must be cut from the plan every other job makes: the manifests' estimates only
        plan = make_plan(catalog, executor, impls, workloads, profile=args.profile or DEFAULT_PROFILE,
                         cpus=choose_cpus(args.cpus), timeout=args.timeout, stored_estimates=shard is None,
                         results=_results_dir(args, catalog), recalibrate=args.recalibrate)
        if not plan.cases:
            raise NothingSelected(f"--impl {args.impl or '(all)'} --workload {args.workload or '(all)'}: no "
                                  "implementation serves those workloads (`cmbench list --impl ID` shows what each "
                                  "serves)")
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


@needs_cluster
def cmd_run(args: argparse.Namespace, catalog: Catalog) -> int:
    console = Console()
    if not args.cluster and (args.tls_ca_file or args.tls_cert or args.tls_key):
        raise UsageError("--tls-ca-file, --tls-cert, --tls-key: only with --cluster (a tls:// scheduler address)")
    security = make_security(args.cluster, args.tls_ca_file, args.tls_cert, args.tls_key) if args.cluster else None
    if args.loadgen_host and not args.cluster:
        raise UsageError("--loadgen-host: only with --cluster (the load generator goes to a `cmbench worker --loadgen` "
                        "host of the scheduler)")
    executor = make_executor(args.executor)
    try:
        plan = _plan_from_args(args, catalog, executor)
        options = RunOptions(out=Path(args.out) if args.out else None, timeout=args.timeout, argv=tuple(sys.argv),
                             results=_results_dir(args, catalog), seed=args.seed, recalibrate=args.recalibrate,
                             references=True)
        if args.cluster:
            from harness.cluster.run import run_on_cluster

            outcome = run_on_cluster(plan, catalog, executor, options, address=args.cluster, security=security,
                                     console=console, loadgen_host=args.loadgen_host)
        else:
            outcome = run_plan(plan, catalog, executor, options, console=console)
    finally:
        executor.close()
    if outcome.stopped:
        console.say(f"stopped: {outcome.stopped}; the finished cases are stored")
        return 1
    if outcome.interrupted:
        console.say("interrupted: every child was stopped; the finished cases are stored, those under way as they "
                    "stand")
        return 130
    if outcome.failed:
        console.say(f"{len(outcome.failed)} case(s) failed: " +
                    ", ".join(sorted({f'{impl_label(r.key.impl, r.key.variant)} {r.key.workload}'
                                      for r in outcome.failed})))
        return 1
    return 0


def cmd_merge(args: argparse.Namespace, catalog: Catalog) -> int:
    """Join the runs of every shard of a plan into one run folder."""
    out = merge_runs([Path(p) for p in args.runs], Path(args.out), argv=sys.argv)
    print(out)
    return 0


def _verify_args(p: argparse.ArgumentParser) -> None:
    selection_args(p)
    p.add_argument("--no-build", action="store_true", help="use what is already built")


def _recalibrate_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recalibrate", action="store_true",
                   help="size calibrated cases again, replacing the sizes stored for this environment")


def _plan_args(p: argparse.ArgumentParser) -> None:
    selection_args(p)
    profile_arg(p)
    _shard_arg(p)
    _recalibrate_arg(p)
    p.add_argument("--json", action="store_true", help="print the plan as JSON (for `cmbench run --plan FILE`)")


def _shard_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shard", metavar="I/N", help="only shard I of N (whole units, balanced by estimate), for a "
                                                  "CI job matrix; join the runs with `cmbench merge`")


def _run_args(p: argparse.ArgumentParser) -> None:
    selection_args(p)
    profile_arg(p)
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
    tls_args(p)


def _merge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="the run folder of every shard")
    p.add_argument("--out", required=True, help="the folder of the merged run")


COMMANDS = {
    "build": Command(cmd_build, "build implementations", lambda p: selection_args(p, workloads=False)),
    "verify": Command(cmd_verify, "run every workload at its smallest size and check the answers", _verify_args),
    "plan": Command(cmd_plan, "show every case a run would execute, its command and estimated time", _plan_args),
    "run": Command(cmd_run, "build, verify, measure and store a benchmark run", _run_args),
    "merge": Command(cmd_merge, "join the runs of every shard of a plan (`run --shard I/N`) into one", _merge_args),
}
