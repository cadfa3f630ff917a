"""`cmbench worker`, `hosts` and `loadgen-headroom`: a host of a fleet, the fleet, the generators' ceiling."""

from __future__ import annotations

import argparse
import functools
import json
import os

from cmbench.commands.base import Command, Handler, executor_arg, seconds, tls_args
from harness.catalog import Catalog
from harness.cluster.tls import make_security
from harness.cluster.worker import serve
from harness.console import Console
from harness.engine.ready import choose_cpus
from harness.errors import UsageError, UserError


def needs_cluster(handler: Handler) -> Handler:
    """A handler that may load Dask distributed (pyproject.toml's `cluster` extra): when it is not installed,
    one line saying how to install it."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace, catalog: Catalog) -> int:
        try:
            return handler(args, catalog)
        except ModuleNotFoundError as e:
            if e.name and e.name.split(".")[0] == "distributed":
                raise UserError(f"cmbench {args.command}: a Dask cluster needs the package distributed, which is not "
                                "installed: pip install -e '.[cluster]' (or make install)") from None
            raise

    return run


@needs_cluster
def cmd_worker(args: argparse.Namespace, catalog: Catalog) -> int:
    """Serve as a benchmark host of the Dask scheduler at ADDRESS until stopped."""
    security = make_security(args.address, args.tls_ca_file, args.tls_cert, args.tls_key)
    return serve(args.address, root=catalog.root, name=args.name, loadgen=args.loadgen, security=security,
                 console=Console())


def _worker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", metavar="SCHEDULER_ADDRESS", help="the Dask scheduler (tcp://HOST:8786 or tls://...)")
    p.add_argument("--loadgen", action="store_true",
                   help="also offer this host as a load generator (in `run --loadgen-host` runs it only drives load)")
    p.add_argument("--name", help="this host's name in runs (default: its hostname)")
    tls_args(p)


@needs_cluster
def cmd_loadgen_headroom(args: argparse.Namespace, catalog: Catalog) -> int:
    """How fast wrk (plain and pipelined) and oha go on the load CPUs against a trivial responder on the server CPUs."""
    from harness.kinds.server.cases import split_cpus
    from harness.kinds.server.headroom import headroom_table, measure_headroom

    if args.pipeline < 0 or args.pipeline == 1:
        raise UsageError(f"--pipeline: {args.pipeline} is not a depth to pipeline at: pass 0 (none) or at least 2")
    try:
        connections = [int(c) for c in args.connections.split(",")]
    except ValueError:
        connections = []
    if not connections or min(connections) < 1:
        raise UsageError(f"--connections: {args.connections!r} is not a comma-separated list of whole numbers >= 1")
    if args.cluster:
        from harness.cluster.headroom import headroom_on_cluster

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
        raise UsageError("--cpus: leaves no CPU for the load generator; pass a smaller --cpus")
    print(f"server CPUs {list(server)}, load generator CPUs {list(load)}, {args.duration:g} s per run")
    print(headroom_table(measure_headroom(server, load, duration=args.duration, connections=connections,
                                          pipelined=connections if args.pipeline else (),
                                          pipeline=args.pipeline or 16)))
    return 0


def _headroom_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cpus", type=int, help="CPUs for the responder, as for `run` (default: half of those allowed)")
    p.add_argument("--duration", type=seconds, default=5.0, help="seconds per run (default: 5)")
    p.add_argument("--connections", default="64,256", help="comma-separated connection counts (default: 64,256)")
    p.add_argument("--pipeline", type=int, default=16,
                   help="also wrk pipelined at this depth, as the pipelined phases load (default: 16; 0: not)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="the responder on a benchmark host of the Dask scheduler at ADDRESS; each probe with the "
                        "generator there, then on a `cmbench worker --loadgen` host through the relay")
    tls_args(p)


@needs_cluster
def cmd_hosts(args: argparse.Namespace, catalog: Catalog) -> int:
    """The fleet of the scheduler at ADDRESS, each host judged as `run --cluster` from this checkout would."""
    from harness.cluster.fleet import hosts_table, list_hosts
    from harness.executors import make_executor

    security = make_security(args.address, args.tls_ca_file, args.tls_cert, args.tls_key)
    hosts = list_hosts(args.address, security, catalog, make_executor(args.executor))
    if args.json:
        print(json.dumps({"scheduler": args.address, "hosts": hosts}, indent=2))
    elif hosts:
        print(hosts_table(hosts))
    else:
        print(f"{args.address}: no worker is connected; start `cmbench worker {args.address}` on each host")
    return 0


def _hosts_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", metavar="SCHEDULER_ADDRESS", help="the Dask scheduler (tcp://HOST:8786 or tls://...)")
    p.add_argument("--json", action="store_true", help="print the hosts as JSON")
    executor_arg(p)
    tls_args(p)


COMMANDS = {
    "hosts": Command(cmd_hosts, "list a Dask scheduler's hosts: state, commit, toolchains, CPUs, why refused",
                     _hosts_args),
    "worker": Command(cmd_worker, "serve as a benchmark host of a Dask scheduler (`run --cluster`)", _worker_args),
    "loadgen-headroom": Command(cmd_loadgen_headroom, "measure the HTTP load generators' ceiling on their CPUs",
                                _headroom_args),
}
