"""`cmbench run --cluster`: a plan over the benchmark hosts of a Dask scheduler, stored as a local run is."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from harness.catalog import Catalog
from harness.console import Console
from harness.engine.local import RunOptions
from harness.engine.ready import prepare
from harness.engine.recorder import Recorder, RunOutcome
from harness.errors import UserError
from harness.executors.base import Executor
from harness.host.info import git_commit, host_metadata
from harness.measure.interrupts import Interrupts
from harness.plan.spec import Plan
from harness.store.calibration import CalibrationStore

if TYPE_CHECKING:
    from distributed.security import Security
from harness.cluster.controller import HOST_WAIT, ClusterRun, connect
from harness.cluster.identity import Expectation, toolchain_versions
from harness.cluster.session import DaskLog
from harness.cluster.units import _Stop


def run_on_cluster(
    plan: Plan,
    catalog: Catalog,
    executor: Executor,
    options: RunOptions,
    *,
    address: str,
    security: Security | None,
    console: Console,
    host_wait: float = HOST_WAIT,
    loadgen_host: bool = False,
) -> RunOutcome:
    """`cmbench run --cluster`: the plan on the scheduler's benchmark hosts, stored here as a local run would be.

    As in a local run (RunOptions), the seed (default: a random one, recorded in run.json) orders
    the processes of each unit, and calibrated sizes come from and go to calibration.json in the
    results folder (default: the folder holding the run folder): the hosts get a copy and send
    back each size they find.

    run.json's `cluster` records the scheduler and, per unit that finished, the seconds the
    cluster path added to it (`unit_overhead_seconds`: from submitting it to having its result,
    less the time its task ran on the host).
    """
    impls = [catalog.impls[i] for i in plan.impls]
    ready = prepare(executor, impls, console, build=False)  # the controller's toolchains, which hosts must match
    commit = git_commit(catalog.root)
    if commit["commit"] == "unknown":
        raise UserError(
            f"--cluster: {catalog.root} is not a git checkout, so hosts cannot be checked against it; "
            "run the controller from a clone of cmbench"
        )
    if commit["dirty"]:
        console.say("cluster: this checkout has uncommitted changes; hosts are checked against its commit only")
    expected = Expectation(commit["commit"], executor.name, toolchain_versions(ready), plan.cpus)
    seed = random.randrange(2**31) if options.seed is None else options.seed
    calibrations = CalibrationStore(options.results_dir or catalog.root / "results")
    calibrations.environments()  # a newer calibration.json: one error before any run folder exists; damaged: set aside
    log = DaskLog.install()  # Dask's own lines go to dask.log in the run folder
    client = connect(address, security)
    cluster: ClusterRun | None = None
    try:
        recorder = Recorder.start(
            plan,
            catalog,
            out=options.out,
            console=console,
            meta={
                "argv": list(options.argv),
                "controller": host_metadata(catalog.root),
                "cluster": {"scheduler": address, "loadgen_host": loadgen_host},
                "seed": seed,
                "interleave": "unit",  # each host runs a unit whole
            },
        )
        log.to(recorder.store.out / "dask.log")
        cluster = ClusterRun(
            plan,
            recorder,
            client,
            expected,
            ready,
            address=address,
            console=console,
            timeout=options.timeout,
            host_wait=host_wait,
            loadgen_host=loadgen_host,
            calibrations=calibrations,
            recalibrate=options.recalibrate,
        )
        status, stopped = "complete", ""
        with Interrupts():
            try:
                cluster.run()
            except _Stop as e:
                status, stopped = "interrupted", str(e)
                console.say(f"cluster: {stopped}; stopping: the finished cases are stored (Dask's log: {log.path})")
            except KeyboardInterrupt:
                status = "interrupted"
            finally:
                cluster.close()
            if status != "complete":  # every planned case is in run.json: what was in flight, and what was not begun
                cluster.stop(stopped or "interrupted")
                recorder.not_run(f"the run stopped before it ({stopped or 'interrupted'})")
        recorder.store.meta["cluster"]["unit_overhead_seconds"] = [round(x, 4) for x in cluster.overheads]
        return recorder.finish(status, stopped)
    finally:
        if cluster is None:
            client.close()
