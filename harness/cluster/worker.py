"""A benchmark host of a fleet: the Dask worker plugin that plays the host's part of a run, and its tasks."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.catalog import load_catalog
from harness.cluster.fleet import service_facts
from harness.cluster.loadgen import DaskLink, serve_channel
from harness.cluster.session import DaskLog, check_reach
from harness.console import Console
from harness.engine.host import HostRun
from harness.engine.ready import Readiness, prepare
from harness.errors import UsageError, UserError
from harness.executors import make_executor
from harness.executors.base import Executor
from harness.host.info import environment_fingerprint, git_commit, host_metadata, local_environment
from harness.kinds.base import RunContext
from harness.kinds.batch.bank import TimeBank
from harness.kinds.server.generator import RemoteGenerator, tools_here
from harness.kinds.server.loadgen import INSTALL_HINTS
from harness.measure.ccache import cache_dir
from harness.measure.process import LIVE
from harness.plan.spec import CaseSpec, Plan
from harness.store.calibration import ShippedCalibrations

if TYPE_CHECKING:
    from distributed.security import Security
from harness.cluster.identity import (
    BENCH,
    CLUSTER_SCHEMA,
    CONNECT_TIMEOUT,
    LOADGEN,
    PLUGIN,
    Expectation,
    differences,
    run_resource,
    toolchain_versions,
)

WATCH = 0.2  # seconds between a host's looks at whether its running task was cancelled


class HostService:
    """A benchmark host's part of cluster runs, behind a Dask worker plugin (`worker_plugin`).

    It holds what lasts across runs on this host (the catalog, executors, successful builds per
    commit) and, per run, a `HostRun` (verifications). Tasks reach it through the worker's
    plugin table. When the task it is running is cancelled (the controller's Ctrl-C, or its
    client went away), or the worker closes, it kills the running processes and containers.
    """

    def __init__(
        self,
        root: Path,
        console: Console | None = None,
        executors: Callable[[str], Executor] = make_executor,
        runs_kept: int = 4,
    ) -> None:
        self.root = root
        self.catalog = load_catalog(root)
        self.console = console or Console()
        self.started_at = git_commit(root)["commit"]
        self._make_executor = executors
        self._executors: dict[str, Executor] = {}
        self._built: dict[tuple[str, str, str], Readiness] = {}
        self._runs: OrderedDict[str, HostRun] = OrderedDict()
        self._runs_kept = runs_kept
        self._lock = threading.Lock()
        self._running: str | None = None
        self._cancelled: set[str] = set()
        self._closing = False
        self._watchdog: tuple[threading.Event, threading.Thread] | None = None
        self.worker = None

    # the WorkerPlugin hooks (called on the worker's event loop)

    def setup(self, worker) -> None:
        self.worker = worker

    def teardown(self, worker) -> None:
        self._closing = True
        self._stop_running()

    def transition(self, key, start: str, finish: str, *args, **kwargs) -> None:
        if start == "executing" and finish in ("released", "cancelled", "forgotten"):
            with self._lock:
                self._cancelled.add(str(key))
                running = self._running == str(key)
            if running:
                self._stop_running()

    def _stop_running(self) -> None:
        """Kill the running case's process groups and containers; executors are made anew afterwards."""
        LIVE.kill_all()
        with self._lock:
            executors, self._executors = list(self._executors.values()), {}
        for ex in executors:
            try:
                ex.close()  # docker: removes this executor's containers
            except Exception as e:  # closing must not fail the worker; say what was left
                self.console.say(f"cmbench worker: closing the {ex.name} executor failed: {e}")

    @property
    def busy(self) -> bool:
        return self._running is not None

    def facts(self, executor: str) -> dict[str, Any]:
        """`cmbench hosts`: this host's checkout, toolchains, CPUs and whether it runs a task (from any thread)."""
        return service_facts(self, executor)

    # helpers for the tasks (called on the worker's task thread)

    def executor(self, name: str) -> Executor:
        with self._lock:
            if name not in self._executors:
                self._executors[name] = self._make_executor(name)
            return self._executors[name]

    @property
    def host(self) -> str:
        return str(self.worker.name) if self.worker is not None else socket.gethostname()

    def _begin(self, key: str) -> Callable[[], bool]:
        """Task `key` starts; returns whether it was cancelled. Until `_end`, a watchdog keeps killing what the
        task starts once it is cancelled (a cancellation can come just before a process starts)."""

        def stopped() -> bool:
            return self._closing or key in self._cancelled

        done = threading.Event()

        def watch() -> None:
            while not done.wait(WATCH):
                if stopped():
                    self._stop_running()

        with self._lock:
            self._running = key
            self._watchdog = (done, threading.Thread(target=watch, name=f"cmbench-watch-{key}", daemon=True))
        self._watchdog[1].start()
        return stopped

    def _end(self, key: str) -> None:
        with self._lock:
            self._running = None
            self._cancelled.discard(key)
            done, thread = self._watchdog
        done.set()
        thread.join()

    def prepare(self, request: Mapping[str, Any], key: str) -> dict[str, Any]:
        """Check this host against the controller, then build and run the kinds' `before_run`."""
        stopped = self._begin(key)
        try:
            expected = Expectation.from_dict(request["expect"])
            plan = Plan.from_dict(request["plan"], "cluster plan")
            executor = self.executor(expected.executor)
            impls = [self.catalog.impls[i] for i in plan.impls if i in self.catalog.impls]
            if len(impls) < len(plan.impls):
                missing = next(i for i in plan.impls if i not in self.catalog.impls)
                return {"refused": f"has no implementation {missing} in {self.root}"}
            mine = toolchain_versions(prepare(executor, impls, self.console, build=False))
            git = git_commit(self.root)
            why = differences(expected, git["commit"], self.started_at, mine, sorted(os.sched_getaffinity(0)),
                              git["dirty"])
            if why:
                return {"refused": "; ".join(why)}
            environment = local_environment(executor.name, plan.cpus, plan.profile)
            ctx = RunContext(self.catalog, executor, self.console, request.get("timeout"), references=True,
                             seed=int(request.get("seed", 0)), environment=environment,
                             fingerprint=environment_fingerprint(environment),
                             calibrations=ShippedCalibrations(request.get("calibrations") or {}),
                             recalibrate=bool(request.get("recalibrate")),
                             bank=TimeBank.for_profile(plan.profile))
            host = HostRun(ctx, plan.cpus)
            cached = {
                i: r
                for (commit, ex, i), r in self._built.items()
                if commit == expected.commit and ex == executor.name and i in plan.impls
            }
            report = host.prepare(plan, self.host, ready=cached)
            if stopped():
                return {"refused": "the controller cancelled the run"}
            for impl, r in report.ready.items():
                if r.status == "ok":
                    self._built[(expected.commit, executor.name, impl)] = r
            with self._lock:
                self._runs[str(request["run"])] = host
                evicted = []
                while len(self._runs) > self._runs_kept:
                    evicted.append(self._runs.popitem(last=False)[0])
            # The run's own resource: its units need it, so they go to checked hosts only, wherever Dask puts them.
            self._set_resources({run_resource(str(request["run"])): 1, **{run_resource(r): 0 for r in evicted}})
            return {"report": report.to_dict()}
        finally:
            self._end(key)

    def prepare_loadgen(self, request: Mapping[str, Any], key: str) -> dict[str, Any]:
        """Check this host as a load generator for the controller's run: its commit, the load CPUs, wrk and oha."""
        self._begin(key)
        try:
            expected = Expectation.from_dict(request["expect"])
            mine = Expectation(expected.commit, expected.executor, {}, tuple(request["load_cpus"]))
            git = git_commit(self.root)
            why = differences(mine, git["commit"], self.started_at, {}, sorted(os.sched_getaffinity(0)), git["dirty"])
            tools = tools_here()
            if not tools:
                why.append("has neither wrk nor oha: " + "; ".join(INSTALL_HINTS.values()))
            if why:
                return {"refused": "; ".join(why)}
            return {"loadgen": {"name": self.host, "metadata": host_metadata(self.root), "tools": tools}}
        finally:
            self._end(key)

    def serve_loadgen(self, request: Mapping[str, Any], key: str) -> dict[str, Any]:
        """Be the load generator of one unit: run the jobs of its channel until the unit ends."""
        stopped = self._begin(key)
        try:
            from distributed import get_client
            from distributed.comm import get_address_host

            jobs = serve_channel(get_client(), str(request["channel"]), self.host, stopped,
                                 hello=bool(request.get("hello")), address=get_address_host(self.worker.address))
            return {"host": self.host, "jobs": jobs}
        finally:
            self._end(key)

    def headroom(self, request: Mapping[str, Any], key: str) -> dict[str, Any]:
        """`cmbench loadgen-headroom --cluster`: each probe with the generator here, then on the loadgen host."""
        from harness.kinds.server.cases import split_cpus
        from harness.kinds.server.headroom import headroom_table, measure_headroom

        stopped = self._begin(key)
        generator = self._generator(request, stopped)
        try:
            allowed = sorted(os.sched_getaffinity(0))
            count = request.get("cpus")
            if count is not None and not 1 <= int(count) < len(allowed):
                raise UsageError(f"--cpus: host {self.host} has {len(allowed)} CPUs; leave one for the generator")
            server, load = split_cpus(allowed[: int(count)] if count else allowed, allowed)
            kw = dict(duration=float(request["duration"]), connections=list(request["connections"]),
                      pipelined=list(request["pipelined"]), pipeline=int(request["pipeline"]))
            found = measure_headroom(server, load, **kw) + measure_headroom(server, load, generator=generator, **kw)
            return {"host": self.host, "server_cpus": list(server), "load_cpus": list(load),
                    "runs": [h.as_dict() for h in found], "table": headroom_table(found)}
        finally:
            generator.link.close()
            self._end(key)

    def _generator(self, request: Mapping[str, Any], stopped: Callable[[], bool]) -> RemoteGenerator:
        from distributed import get_client
        from distributed.comm import get_address_host

        lg = request["loadgen"]
        link = DaskLink(get_client(), str(lg["channel"]), str(lg["host"]), stopped)
        return RemoteGenerator(link, get_address_host(self.worker.address), str(lg["host"]), lg["tools"],
                               server=self.host, peer=str(lg.get("address", "")))

    def run_unit(self, request: Mapping[str, Any], key: str) -> dict[str, Any]:
        """Execute one unit; publish each case as it finishes and return them all."""
        stopped = self._begin(key)
        generator = None
        try:
            run = str(request["run"])
            host = self._runs.get(run)
            if host is None:
                raise RuntimeError(f"host {self.host} was not prepared for run {run}")
            if request.get("loadgen"):
                generator = self._generator(request, stopped)
            # the executor made anew after a cancellation; the generator is this unit's
            host.ctx = replace(host.ctx, executor=self.executor(host.ctx.executor.name), loadgen=generator)
            topic = str(request["topic"])
            unit = int(request["unit"])
            self._log(topic, {"type": "start", "unit": unit, "host": self.host, "key": key})
            specs = [CaseSpec.from_dict(d) for d in request["cases"]]
            began = time.perf_counter()
            done = []
            for measured in host.execute_unit(specs, stop=stopped):
                if stopped():
                    break
                item = {"result": measured.result.to_dict(), "provenance": dict(measured.provenance),
                        "spec": measured.spec.to_dict() if measured.spec else None,
                        "calibrations": host.ctx.calibrations.drain()}
                # as JSON text: Dask's events take plain types only (a Status is a str subclass)
                self._log(
                    topic, {"type": "case", "unit": unit, "host": self.host, "key": key, "item": json.dumps(item)}
                )
                done.append(item)
            return {
                "schema": CLUSTER_SCHEMA,
                "host": self.host,
                "results": done,
                "stopped": stopped(),
                "busy": time.perf_counter() - began,
                "headroom": [{"host": self.host, **r} for r in (generator.headroom if generator else [])],
            }
        finally:
            if generator is not None:
                generator.link.close()
            host = self._runs.get(str(request["run"]))
            if host is not None:
                host.ctx = replace(host.ctx, loadgen=None)
            self._end(key)

    def _set_resources(self, resources: dict[str, float]) -> None:
        if self.worker is not None:
            from distributed.utils import sync

            sync(self.worker.loop, self.worker.set_resources, **resources)

    def _log(self, topic: str, msg: dict[str, Any]) -> None:
        if self.worker is not None:
            self.worker.log_event(topic, msg)


def worker_plugin(service: HostService):
    """`service` as the Dask worker plugin it is (distributed is imported here, not by every cmbench command)."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class CmbenchPlugin(WorkerPlugin):
        name = PLUGIN

        def __init__(self) -> None:
            self.service = service

        def setup(self, worker) -> None:
            service.setup(worker)

        def teardown(self, worker) -> None:
            service.teardown(worker)

        def transition(self, key, start, finish, *args, **kwargs) -> None:
            service.transition(key, start, finish)

    return CmbenchPlugin()


def _service() -> tuple[HostService, str]:
    from distributed import get_worker

    worker = get_worker()
    service = getattr(worker.plugins.get(PLUGIN), "service", None)
    if not isinstance(service, HostService):
        raise RuntimeError(f"worker {worker.name} is not a cmbench worker: start it with `cmbench worker`")
    return service, str(worker.get_current_task())


def prepare_task(request: dict[str, Any]) -> dict[str, Any]:
    """Runs on a host: check it against the controller, build, measure what a run measures once."""
    service, key = _service()
    return service.prepare(request, key)


def unit_task(request: dict[str, Any]) -> dict[str, Any]:
    """Runs on a host: one unit of the plan."""
    service, key = _service()
    return service.run_unit(request, key)


def headroom_task(request: dict[str, Any]) -> dict[str, Any]:
    """Runs on a benchmark host: the generators' ceilings here, then from a `--loadgen` host through the relay."""
    service, key = _service()
    return service.headroom(request, key)


def prepare_loadgen_task(request: dict[str, Any]) -> dict[str, Any]:
    """Runs on a `--loadgen` host: check it as the run's load generator."""
    service, key = _service()
    return service.prepare_loadgen(request, key)


def loadgen_task(request: dict[str, Any]) -> dict[str, Any]:
    """Runs on a `--loadgen` host: the load generator of one unit."""
    service, key = _service()
    return service.serve_loadgen(request, key)


def _start_error(error: BaseException, address: str, name: str, log: Path) -> UserError:
    """Why a worker could not join the scheduler, in one line (`error` and its causes)."""
    chain = [error]
    while chain[-1].__cause__ is not None and len(chain) < 10:
        chain.append(chain[-1].__cause__)
    if any("name taken" in str(e) for e in chain):
        return UserError(f"--name {name}: the scheduler at {address} has a worker of that name already; give "
                         "each host its own --name (the default is its hostname)")
    if any(isinstance(e, (OSError, TimeoutError)) for e in chain):
        return UserError(f"{address}: no scheduler answered within {CONNECT_TIMEOUT:g} s ({chain[-1]}); start one "
                         f"with `dask scheduler` and check the address (Dask's log: {log})")
    return UserError(f"{address}: the worker could not join the scheduler ({type(chain[-1]).__name__}: "
                     f"{str(chain[-1])[:200]}); Dask's log: {log}")


def serve(
    address: str, *, root: Path, name: str | None, loadgen: bool, security: Security | None, console: Console
) -> int:
    """`cmbench worker`: serve as a benchmark host until stopped (0) or the scheduler goes away (1)."""
    from distributed import Worker

    resources = {BENCH: 1, **({LOADGEN: 1} if loadgen else {})}
    name = name or socket.gethostname()
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    log = DaskLog.install().to(cache_dir() / f"worker-{safe}.log")
    check_reach(address, security, "worker")
    service = HostService(root, console)
    stopped_by_signal = False

    async def main() -> None:
        nonlocal stopped_by_signal
        worker = Worker(
            address,
            name=name,
            nthreads=1,
            resources=resources,
            security=security,
            plugins=(worker_plugin(service),),
            death_timeout=CONNECT_TIMEOUT,
        )
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            nonlocal stopped_by_signal
            stopped_by_signal = True
            asyncio.ensure_future(worker.close(reason="cmbench worker stopped by a signal"))

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        try:
            await worker
        except Exception as e:  # Dask wraps why the worker did not start in a RuntimeError
            raise _start_error(e, address, name, log) from None
        console.say(
            f"cmbench worker {worker.name}: {worker.address} serving {address} with "
            f"{', '.join(f'{k}={v}' for k, v in resources.items())}; commit {service.started_at[:12]}; "
            f"Dask's log: {log}"
        )
        await worker.finished()

    asyncio.run(main())
    if stopped_by_signal:
        console.say("cmbench worker: stopped")
        return 0
    console.say(
        f"cmbench worker: lost the scheduler at {address}; every case process was stopped. Start the "
        "worker again once the scheduler is back"
    )
    return 1
