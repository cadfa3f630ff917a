"""Running a plan over a fleet of benchmark hosts on Dask distributed.

Roles (README "Running on several hosts"):

- the scheduler is Dask's own (`dask scheduler`);
- each benchmark host runs `cmbench worker SCHEDULER`: a Dask worker with one thread and the
  resource `bench=1` (and `loadgen=1` with `--loadgen`), so at most one unit runs on a host at a
  time. Its `HostService` (a Dask worker plugin) plays the host's part of a run
  (harness/runner.py `HostRun`): it checks that it runs the controller's commit and toolchains,
  builds once (cached per commit, executor and implementation for the life of the worker),
  verifies each implementation variant once per workload and run, and executes units;
- the controller (`cmbench run --cluster ADDRESS`) plays the recorder's part: it asks every
  host to prepare, keeps one unit per ready host in flight (Dask places each on a free host
  among those that offer the run's own resource, which a host adds once it is checked and built),
  and stores each case through the same `RunStore` as a local run as it streams back (Dask
  structured events, one per case; a unit's return value carries them all again, so nothing
  depends on the order in which the two arrive).

Faults: a host that dies mid-unit loses its unit to Dask's own rescheduling, once; a unit that
starts a third time (or that Dask gives up on, `KilledWorker`) is stopped and its unfinished
cases are `lost`, naming the hosts. A lost scheduler stops the controller: the run is
`interrupted` and every finished case stays stored. Ctrl-C cancels the futures; a worker
kills the running case's process group (and the executor's containers) when its task is
cancelled, and when it shuts down.

A unit is the grain of work here. With `--loadgen-host` (TechEmpower's layout), an HTTP unit
is split over two hosts: its servers on a benchmark host, its load generator on a host started
with `--loadgen`, which then measures nothing of its own. The controller pairs them: it sends the
unit with a channel name and a generator task for that channel to a free generator host
(harness/cluster_loadgen.py carries the jobs and results over Dask queues). A generator host that
goes away mid-phase is replaced by a free one, and the phase runs once more; without one the
phase is `lost`, naming the host. With no generator host connected, units run in the one-host
layout, and the controller says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import random
import signal
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .calibration import CalibrationStore, ShippedCalibrations
from .catalog import Catalog, load_catalog
from .cluster_loadgen import DaskLink, notify, serve_channel
from .console import Console
from .errors import UserError
from .executors import Executor, make_executor
from .hostinfo import environment_fingerprint, git_commit, host_metadata, local_environment
from .http.generator import RemoteGenerator, tools_here
from .http.loadgen import INSTALL_HINTS
from .interrupts import Interrupts
from .kinds import plan_units, result_from_dict
from .plan import CaseSpec, Plan, RunContext
from .process import LIVE
from .runner import (
    HostReport,
    HostRun,
    Measured,
    Readiness,
    Recorder,
    RunOutcome,
    prepare,
    preset_result,
    status_result,
)
from .vocab import Status

if TYPE_CHECKING:
    from distributed import Client, Future
    from distributed.security import Security

CLUSTER_SCHEMA = 1
BENCH = "bench"  # the resource every benchmark host offers once: one unit at a time
LOADGEN = "loadgen"  # offered by `cmbench worker --loadgen`: a host that drives load in `--loadgen-host` runs
CONNECT_TIMEOUT = 30.0  # seconds to reach the scheduler
TICK = 0.5  # seconds between the controller's looks at hosts, events and futures
HOST_WAIT = 60.0  # seconds the controller waits for a host when none is left, before it stops
MAX_STARTS = 2  # a unit runs at most on its first host and once more on another
WATCH = 0.2  # seconds between a host's looks at whether its running task was cancelled
PLUGIN = "cmbench"


# --- identity: what a host must share with the controller -------------------------------------


@dataclass(frozen=True)
class Expectation:
    """What the controller runs, which every host must match before it gets work."""

    commit: str
    executor: str
    toolchains: Mapping[str, str]  # impl id -> version of its toolchain ("" when it is missing)
    cpus: tuple[int, ...]
    schema: int = CLUSTER_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "commit": self.commit,
            "executor": self.executor,
            "toolchains": dict(self.toolchains),
            "cpus": list(self.cpus),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Expectation:
        if d.get("schema") != CLUSTER_SCHEMA:
            raise UserError(
                f"cluster request: schema {d.get('schema')!r}, this cmbench reads {CLUSTER_SCHEMA}; "
                "run the same cmbench commit everywhere"
            )
        return cls(str(d["commit"]), str(d["executor"]), dict(d["toolchains"]), tuple(d["cpus"]))


def toolchain_versions(ready: Mapping[str, Readiness]) -> dict[str, str]:
    return {impl: (r.version if r.status == "ok" else "") for impl, r in ready.items()}


def differences(
    expected: Expectation, commit: str, started_at: str, toolchains: Mapping[str, str], allowed_cpus: Sequence[int]
) -> list[str]:
    """Why a host may not run the controller's plan (empty when it may), each reason one phrase."""
    out = []
    if commit != started_at:
        out.append(
            f"the checkout is at commit {commit[:12]} but this worker started at {started_at[:12]}: "
            "restart `cmbench worker`"
        )
    elif commit != expected.commit:
        out.append(
            f"runs commit {commit[:12]}, the controller runs {expected.commit[:12]}: check out the same "
            "commit on both and restart the worker"
        )
    for impl, version in expected.toolchains.items():
        mine = toolchains.get(impl, "")
        if mine != version:
            out.append(f"{impl}: toolchain {mine or 'missing'!r} here, {version or 'missing'!r} on the controller")
    outside = sorted(set(expected.cpus) - set(allowed_cpus))
    if outside:
        out.append(f"the plan pins to CPUs {list(expected.cpus)}, this host allows {sorted(allowed_cpus)}")
    return out


# --- the worker side ---------------------------------------------------------------------------


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
            why = differences(
                expected, git_commit(self.root)["commit"], self.started_at, mine, sorted(os.sched_getaffinity(0))
            )
            if why:
                return {"refused": "; ".join(why)}
            environment = local_environment(executor.name, plan.cpus, plan.profile)
            ctx = RunContext(self.catalog, executor, self.console, request.get("timeout"), references=True,
                             seed=int(request.get("seed", 0)), environment=environment,
                             fingerprint=environment_fingerprint(environment),
                             calibrations=ShippedCalibrations(request.get("calibrations") or {}),
                             recalibrate=bool(request.get("recalibrate")))
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
            why = differences(mine, git_commit(self.root)["commit"], self.started_at, {},
                              sorted(os.sched_getaffinity(0)))
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

            jobs = serve_channel(get_client(), str(request["channel"]), self.host, stopped,
                                 hello=bool(request.get("hello")))
            return {"host": self.host, "jobs": jobs}
        finally:
            self._end(key)

    def headroom(self, request: Mapping[str, Any], key: str) -> dict[str, Any]:
        """`cmbench loadgen-headroom --cluster`: each probe with the generator here, then on the loadgen host."""
        from .http import headroom_table, measure_headroom, split_cpus

        stopped = self._begin(key)
        generator = self._generator(request, stopped)
        try:
            allowed = sorted(os.sched_getaffinity(0))
            count = request.get("cpus")
            if count is not None and not 1 <= int(count) < len(allowed):
                raise UserError(f"--cpus: host {self.host} has {len(allowed)} CPUs; leave one for the generator")
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
        return RemoteGenerator(link, get_address_host(self.worker.address), str(lg["host"]), lg["tools"])

    def run_unit(self, request: Mapping[str, Any], key: str) -> dict[str, Any]:
        """Execute one unit; publish each case as it finishes and return them all."""
        stopped = self._begin(key)
        generator = None
        try:
            run = str(request["run"])
            host = self._runs.get(run)
            if host is None:
                raise RuntimeError(f"host {self.host} was not prepared for run {run}")
            host.ctx.executor = self.executor(host.ctx.executor.name)  # made anew after a cancellation
            if request.get("loadgen"):
                generator = self._generator(request, stopped)
            host.ctx.loadgen = generator
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
                host.ctx.loadgen = None
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


def run_resource(run: str) -> str:
    """The Dask resource a host offers once it is checked and built for run `run`."""
    return f"cmbench-run-{run}"


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


def serve(
    address: str, *, root: Path, name: str | None, loadgen: bool, security: Security | None, console: Console
) -> int:
    """`cmbench worker`: serve as a benchmark host until stopped (0) or the scheduler goes away (1)."""
    from distributed import Worker

    resources = {BENCH: 1, **({LOADGEN: 1} if loadgen else {})}
    service = HostService(root, console)
    stopped_by_signal = False

    async def main() -> None:
        nonlocal stopped_by_signal
        worker = Worker(
            address,
            name=name or socket.gethostname(),
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
        except (OSError, TimeoutError) as e:
            raise UserError(
                f"{address}: no scheduler answered within {CONNECT_TIMEOUT:g} s ({e}); start one "
                "with `dask scheduler` and check the address"
            ) from None
        console.say(
            f"cmbench worker {worker.name}: {worker.address} serving {address} with "
            f"{', '.join(f'{k}={v}' for k, v in resources.items())}; commit {service.started_at[:12]}"
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


# --- the controller side -----------------------------------------------------------------------


@dataclass
class _Host:
    address: str
    name: str
    state: str = "preparing"  # preparing, ready, refused, gone
    future: Future | None = None
    role: str = BENCH  # BENCH, or LOADGEN: a `--loadgen` host driving the load of `--loadgen-host` runs
    tools: dict[str, str] = field(default_factory=dict)  # LOADGEN: wrk and oha there
    serving: int | None = None  # LOADGEN: the unit whose load it generates
    attempts: int = 0  # LOADGEN: generator tasks sent to it


@dataclass
class _Unit:
    index: int
    cases: list[CaseSpec]
    attempt: int = 0
    future: Future | None = None
    hosts: list[str] = field(default_factory=list)  # the hosts that started it, in order
    submitted: float = 0.0
    channel: str = ""  # split over two hosts: the channel to its load generator (cluster_loadgen.py)
    loadgen: _Host | None = None  # the generator host serving the channel now

    @property
    def http(self) -> bool:
        return self.cases[0].kind == "server"


class _Stop(Exception):
    """The run cannot go on (the scheduler or every host went away); the message says why."""


def connect(address: str, security: Security | None) -> Client:
    from distributed import Client

    try:
        return Client(address, security=security, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise UserError(
            f"--cluster {address}: cannot reach the scheduler ({str(e).splitlines()[0][:200]}); "
            "start one with `dask scheduler` and check the address"
        ) from None


class ClusterRun:
    """The controller's loop: prepare hosts as they appear, keep one unit per ready host in flight, record cases."""

    def __init__(
        self,
        plan: Plan,
        recorder: Recorder,
        client: Client,
        expected: Expectation,
        ready: Mapping[str, Readiness],
        *,
        address: str,
        console: Console,
        timeout: float | None,
        host_wait: float = HOST_WAIT,
        loadgen_host: bool = False,
        calibrations: CalibrationStore | None = None,
        recalibrate: bool = False,
    ) -> None:
        self.calibrations = calibrations or CalibrationStore(recorder.store.out.parent)
        self.recalibrate = recalibrate
        self.split = loadgen_host  # HTTP units get their generator on a `--loadgen` host
        self.alone_said = False  # the fallback to the one-host layout was announced
        self.plan = plan
        self.recorder = recorder
        self.client = client
        self.expected = expected
        self.address = address
        self.console = console
        self.timeout = timeout
        self.host_wait = host_wait
        self.token = f"{recorder.store.run_id}-{os.urandom(4).hex()}"
        self.topic = f"cmbench-{self.token}"
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.hosts: dict[str, _Host] = {}
        self.pending: deque[_Unit] = deque()
        self.inflight: dict[int, _Unit] = {}
        self.units: dict[int, _Unit] = {}
        self.no_host_since: float | None = None
        # Per finished unit: seconds from submitting it to having its result, less the time its task ran on
        # the host: what the cluster path adds (scheduling, transfer, serialization).
        self.overheads: list[float] = []
        for index, unit in enumerate(plan_units(plan)):
            todo = []
            for spec in unit:
                known = preset_result(spec, ready)
                if known is not None:
                    recorder.record(Measured(known))
                else:
                    todo.append(spec)
            if todo:
                self.units[index] = _Unit(index, todo)
                self.pending.append(self.units[index])

    # one look at everything

    def run(self) -> None:
        from distributed import wait
        from distributed.client import FuturesCancelledError

        self.client.subscribe_topic(self.topic, self.events.put)
        while self.pending or self.inflight:
            self._check_scheduler()
            self._find_hosts()
            self._read_events()
            self._collect()
            self._submit()
            self._check_hosts_left()
            futures = [u.future for u in self.inflight.values() if u.future is not None]
            futures += [h.future for h in self.hosts.values() if h.future is not None]
            if futures:
                try:
                    with self.client.as_current():
                        wait(futures, timeout=TICK, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    pass
                except FuturesCancelledError:  # the next look says why (the scheduler went away, say)
                    self._check_scheduler()
            else:
                time.sleep(TICK)
        self._read_events()

    def close(self) -> None:
        """Cancel whatever is still out (the hosts then stop its processes) and leave the scheduler."""
        futures = [u.future for u in self.inflight.values() if u.future is not None]
        futures += [h.future for h in self.hosts.values() if h.future is not None]
        try:
            if futures and self.client.status == "running":
                self.client.cancel(futures, force=True)
            if self.client.status == "running":
                self.client.unsubscribe_topic(self.topic)
        except Exception as e:  # the scheduler may be gone already; the futures went with it
            self.console.say(f"cluster: could not cancel the remaining work: {str(e)[:200]}")
        try:
            self.client.close(timeout=10)
        except Exception as e:
            self.console.say(f"cluster: closing the connection to the scheduler failed: {str(e)[:200]}")

    def _check_scheduler(self) -> None:
        if self.client.status != "running":
            raise _Stop(f"lost the connection to the scheduler at {self.address}")

    def _find_hosts(self) -> None:
        try:
            workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        except (OSError, TimeoutError) as e:
            raise _Stop(f"lost the connection to the scheduler at {self.address} ({e})") from None
        self._check_scheduler()  # an answer from a client that lost the scheduler meanwhile says nothing
        for address, info in workers.items():
            resources = info.get("resources", {})
            if address in self.hosts or not (resources.get(BENCH) or resources.get(LOADGEN)):
                continue
            role = LOADGEN if self.split and resources.get(LOADGEN) else BENCH
            if role == BENCH and not resources.get(BENCH):
                continue
            host = _Host(address, str(info.get("name", address)), role=role)
            self.hosts[address] = host
            if role == LOADGEN:
                self.console.say(f"cluster: host {host.name} ({address}) joined as a load generator: checking it")
                request = {"expect": self.expected.to_dict(), "load_cpus": sorted(self._load_cpus())}
                task, resource = prepare_loadgen_task, LOADGEN
            else:
                self.console.say(f"cluster: host {host.name} ({address}) joined: checking it and building")
                request = {
                    "expect": self.expected.to_dict(),
                    "plan": self.plan.to_dict(),
                    "run": self.token,
                    "timeout": self.timeout,
                    "seed": self.recorder.store.meta["seed"],
                    "calibrations": self.calibrations.environments(),
                    "recalibrate": self.recalibrate,
                }
                task, resource = prepare_task, BENCH
            host.future = self.client.submit(
                task,
                request,
                key=f"cmbench-prepare-{self.token}-{host.name}",
                workers=[address],
                allow_other_workers=False,
                resources={resource: 1},
                pure=False,
            )
        for address, host in self.hosts.items():
            if address not in workers and host.state in ("preparing", "ready"):
                self.console.say(f"cluster: host {host.name} left")
                if host.future is not None:
                    host.future.cancel()
                    host.future = None
                host.state = "gone"
                if host.role == LOADGEN and host.serving is not None:
                    self._generator_lost(host, "went away")

    def _read_events(self) -> None:
        while True:
            try:
                _, msg = self.events.get_nowait()
            except queue.Empty:
                return
            unit = self.units.get(int(msg.get("unit", -1)))
            if unit is None or unit.index not in self.inflight or msg.get("key") != _key(unit):
                continue  # an earlier attempt's late word, or a unit already settled
            if msg.get("type") == "start":
                self._started(unit, str(msg["host"]))
            elif msg.get("type") == "case":
                self._record(unit, json.loads(msg["item"]), str(msg["host"]))

    def _started(self, unit: _Unit, host: str) -> None:
        unit.hosts.append(host)
        if len(unit.hosts) > 1:
            self.console.say(
                f"cluster: unit {unit.index} ({_what(unit)}) started again on {host}: "
                f"{unit.hosts[-2]} went away while measuring it"
            )
        if len(unit.hosts) > MAX_STARTS:
            self._lose(unit, _lost_text(unit.hosts[:-1]))

    def _record(self, unit: _Unit, item: Mapping[str, Any], host: str) -> None:
        result = result_from_dict(item["result"])
        if result.key in self.recorder.recorded or result.key not in {s.key for s in unit.cases}:
            return
        if item.get("calibrations"):
            self.calibrations.save_found(item["calibrations"])
        spec = CaseSpec.from_dict(item["spec"]) if item.get("spec") else None
        self.recorder.record(Measured(result, dict(item.get("provenance", {})), spec), host)

    def _collect(self) -> None:
        for host in self.hosts.values():
            if host.future is None or not host.future.done():
                continue
            future, host.future = host.future, None
            if future.status == "finished":
                answer = future.result()
                future.release()  # nothing of it stays on the host (Dask would recompute a lost result)
                if "refused" in answer:
                    host.state = "refused"
                    self.console.say(f"cluster: host {host.name} REFUSED, no work is sent there: {answer['refused']}")
                    continue
                if host.role == LOADGEN and host.state == "ready":  # a generator task ended
                    self._generator_done(host)
                    continue
                if host.role == LOADGEN:
                    host.tools = dict(answer["loadgen"]["tools"])
                    self._note_generator(host, answer["loadgen"]["metadata"])
                    host.state = "ready"
                    self.console.say(f"cluster: host {host.name} ready as a load generator "
                                     f"({', '.join(host.tools)})")
                    continue
                self.recorder.note_host(HostReport.from_dict(answer["report"]))
                host.state = "ready"
                self.console.say(f"cluster: host {host.name} ready")
            elif host.state == "preparing":
                host.state = "refused"
                why = _error_text(future) if future.status == "error" else future.status
                self.console.say(f"cluster: host {host.name} REFUSED, no work is sent there: {why}")
            elif host.role == LOADGEN and host.serving is not None:  # its generator task failed
                why = _error_text(future) if future.status == "error" else "cancelled"
                self._generator_lost(host, f"failed ({why})")
        for unit in list(self.inflight.values()):
            if unit.future is None or not unit.future.done():
                continue
            future = unit.future
            if future.status == "finished":
                answer = future.result()
                future.release()
                for item in answer["results"]:
                    self._record(unit, item, str(answer["host"]))
                for record in answer.get("headroom", ()):
                    self.recorder.store.meta.setdefault("loadgen_headroom_separate", []).append(record)
                self.overheads.append(max(0.0, time.perf_counter() - unit.submitted - float(answer["busy"])))
                self._settle(unit, _lost_text(unit.hosts or [str(answer["host"])]))
            elif future.status == "error":
                from distributed import KilledWorker

                error = future.exception()
                if isinstance(error, KilledWorker) and len(unit.hosts) < MAX_STARTS and self._ready():
                    self.console.say(
                        f"cluster: unit {unit.index} ({_what(unit)}): Dask gave up on it ({error}); trying once more"
                    )
                    self.inflight.pop(unit.index)
                    unit.attempt += 1
                    unit.future = None
                    self.pending.appendleft(unit)
                    continue
                why = (
                    _lost_text(unit.hosts)
                    if isinstance(error, KilledWorker)
                    else f"the host could not measure it: {_error_text(future)}"
                )
                self._lose(unit, why)
            else:  # cancelled, and not by this controller: the scheduler is gone or forgot the work
                self._check_scheduler()
                raise _Stop(f"the scheduler at {self.address} cancelled unit {unit.index} ({_what(unit)})")

    def _ready(self) -> list[_Host]:
        return [h for h in self.hosts.values() if h.state == "ready" and h.role == BENCH]

    def _load_cpus(self) -> set[int]:
        return {c for s in self.plan.cases for c in s.load_cpus}

    def _free_generator(self) -> _Host | None:
        return next((h for h in self.hosts.values() if h.role == LOADGEN and h.state == "ready"
                     and h.serving is None and h.future is None), None)

    def _generators_coming(self) -> bool:
        return any(h.role == LOADGEN and h.state in ("preparing", "ready") for h in self.hosts.values())

    def _submit(self) -> None:
        ready = self._ready()
        waiting: list[_Unit] = []
        while self.pending and len(self.inflight) < len(ready):
            unit = self.pending.popleft()
            request = {
                "run": self.token,
                "topic": self.topic,
                "unit": unit.index,
                "cases": [s.to_dict() for s in unit.cases],
            }
            if self.split and unit.http:
                if unit.channel:  # a retry keeps its channel and generator
                    request["loadgen"] = {"channel": unit.channel, "host": unit.loadgen.name if unit.loadgen else "",
                                          "tools": unit.loadgen.tools if unit.loadgen else {}}
                elif self._generators_coming():
                    generator = self._free_generator()
                    if generator is None:  # every generator host is busy or still being checked
                        waiting.append(unit)
                        continue
                    request["loadgen"] = self._pair(unit, generator)
                elif not self.alone_said:
                    self.alone_said = True
                    self.console.say(f"cluster: --loadgen-host: no host offers the `{LOADGEN}` resource (start one "
                                     f"with `cmbench worker {self.address} --loadgen`); HTTP units run with their "
                                     "load generator on their own host")
            unit.submitted = time.perf_counter()
            unit.future = self.client.submit(
                unit_task, request, key=_key(unit), pure=False, resources={BENCH: 1, run_resource(self.token): 1}
            )
            self.inflight[unit.index] = unit
        self.pending.extendleft(reversed(waiting))

    def _pair(self, unit: _Unit, generator: _Host, *, hello: bool = False) -> dict[str, Any]:
        """Give `unit` a generator task on `generator`; the unit's request's `loadgen` part."""
        unit.channel = unit.channel or f"cmbench-lg-{self.token}-{unit.index}"
        unit.loadgen = generator
        generator.serving = unit.index
        generator.attempts += 1
        generator.future = self.client.submit(
            loadgen_task,
            {"channel": unit.channel, "hello": hello},
            key=f"cmbench-loadgen-{self.token}-{unit.index}-{generator.name}-{generator.attempts}",
            workers=[generator.address],
            allow_other_workers=False,
            resources={LOADGEN: 1},
            pure=False,
        )
        self.console.say(f"cluster: unit {unit.index} ({_what(unit)}): load generator on host {generator.name}")
        return {"channel": unit.channel, "host": generator.name, "tools": generator.tools}

    def _generator_lost(self, host: _Host, why: str) -> None:
        """`host` stopped generating load for its unit: tell the unit's host, and hand the channel to a free one."""
        unit = self.units.get(host.serving) if host.serving is not None else None
        host.serving = None
        if host.future is not None:
            host.future.cancel(force=True)
            host.future = None
        if unit is None or unit.index not in self.inflight or unit.loadgen is not host:
            return
        notify(self.client, unit.channel, {"op": "lost", "host": host.name})
        other = self._free_generator()
        if other is None:
            self.console.say(f"cluster: unit {unit.index} ({_what(unit)}): load generator host {host.name} {why}; "
                             "no other is free: its load phases are lost")
            unit.loadgen = None
            notify(self.client, unit.channel, {"op": "none"})
            return
        self.console.say(f"cluster: unit {unit.index} ({_what(unit)}): load generator host {host.name} {why}; "
                         f"host {other.name} takes over")
        self._pair(unit, other, hello=True)

    def _note_generator(self, host: _Host, metadata: Mapping[str, Any]) -> None:
        """run.json `loadgen_hosts`: each generator host's metadata and tools (`hosts` holds the measuring ones)."""
        meta = self.recorder.store.meta
        meta.setdefault("loadgen_hosts", {})[host.name] = {**metadata, "tools": dict(host.tools)}
        self.recorder.store.flush()

    def _generator_done(self, host: _Host) -> None:
        host.serving = None

    def _release_generator(self, unit: _Unit) -> None:
        generator, unit.loadgen = unit.loadgen, None
        if generator is None or generator.serving not in (None, unit.index):
            return  # already serving another unit
        if generator.future is not None and not generator.future.done():
            generator.future.cancel(force=True)  # the unit is over: its generator task stops (and its processes)
        generator.future = None
        generator.serving = None

    def _check_hosts_left(self) -> None:
        if any(h.state in ("preparing", "ready") and h.role == BENCH for h in self.hosts.values()):
            self.no_host_since = None
            return
        if not self.hosts and self.no_host_since is None:
            self.console.say(
                f"cluster: waiting for hosts: start `cmbench worker {self.address}` on each benchmark host"
            )
        now = time.monotonic()
        self.no_host_since = self.no_host_since or now
        if now - self.no_host_since < self.host_wait:
            return
        for unit in list(self.inflight.values()):
            self._lose(unit, _lost_text(unit.hosts) + "; no host was left to measure it")
        refused = [h.name for h in self.hosts.values() if h.state == "refused"]
        raise _Stop(
            f"no benchmark host able to run the plan after {self.host_wait:g} s"
            + (f" (refused: {', '.join(refused)})" if refused else "")
        )

    def _lose(self, unit: _Unit, why: str) -> None:
        if unit.future is not None and not unit.future.done():
            unit.future.cancel(force=True)
        for spec in unit.cases:
            if spec.key not in self.recorder.recorded:
                self.recorder.record(
                    Measured(status_result(spec, Status.LOST.value, why)), unit.hosts[-1] if unit.hosts else ""
                )
        self._settle(unit, why)

    def _settle(self, unit: _Unit, why: str) -> None:
        """A unit is done: a case still without a result (none should be) is lost."""
        missing = [s for s in unit.cases if s.key not in self.recorder.recorded]
        for spec in missing:
            self.recorder.record(
                Measured(status_result(spec, Status.LOST.value, why)), unit.hosts[-1] if unit.hosts else ""
            )
        unit.future = None
        self.inflight.pop(unit.index, None)
        self._release_generator(unit)


def _key(unit: _Unit) -> str:
    return f"cmbench-unit-{unit.index}-{unit.attempt}"


def _what(unit: _Unit) -> str:
    first = unit.cases[0]
    return f"{first.workload}[{first.case}] {first.label}" + (
        f" and {len(unit.cases) - 1} more" if len(unit.cases) > 1 else ""
    )


def _lost_text(hosts: Sequence[str]) -> str:
    if not hosts:
        return "the host measuring it went away"
    first, *retries = hosts
    text = f"host {first} went away while measuring it"
    for h in retries:
        text += f"; retried on host {h}, which went away too"
    return text


def _error_text(future: Future) -> str:
    try:
        error = future.exception()
    except Exception as e:  # the scheduler may be gone
        return str(e)[:300]
    return f"{type(error).__name__}: {str(error)[:300]}"


def run_on_cluster(
    plan: Plan,
    catalog: Catalog,
    executor: Executor,
    *,
    address: str,
    security: Security | None,
    out: Path | None,
    console: Console,
    timeout: float | None = None,
    argv: Sequence[str] = (),
    host_wait: float = HOST_WAIT,
    loadgen_host: bool = False,
    results: Path | None = None,
    seed: int | None = None,
    recalibrate: bool = False,
) -> RunOutcome:
    """`cmbench run --cluster`: the plan on the scheduler's benchmark hosts, stored here as a local run would be.

    As in a local run, `seed` (default: a random one, recorded in run.json) orders the processes of
    each unit, and calibrated sizes come from and go to calibration.json in `results` (default: the
    folder holding the run folder): the hosts get a copy and send back each size they find.

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
    seed = random.randrange(2**31) if seed is None else seed
    calibrations = CalibrationStore(results if results is not None else (out.parent if out else
                                                                         catalog.root / "results"))
    calibrations.environments()  # a newer calibration.json: one error before any run folder exists; damaged: set aside
    client = connect(address, security)
    cluster: ClusterRun | None = None
    try:
        recorder = Recorder.start(
            plan,
            catalog,
            out=out,
            console=console,
            meta={
                "argv": list(argv),
                "controller": host_metadata(catalog.root),
                "cluster": {"scheduler": address, "loadgen_host": loadgen_host},
                "seed": seed,
            },
        )
        cluster = ClusterRun(
            plan,
            recorder,
            client,
            expected,
            ready,
            address=address,
            console=console,
            timeout=timeout,
            host_wait=host_wait,
            loadgen_host=loadgen_host,
            calibrations=calibrations,
            recalibrate=recalibrate,
        )
        status, stopped = "complete", ""
        with Interrupts():
            try:
                cluster.run()
            except _Stop as e:
                status, stopped = "interrupted", str(e)
                console.say(f"cluster: {stopped}; stopping: the finished cases are stored")
            except KeyboardInterrupt:
                status = "interrupted"
            finally:
                cluster.close()
        recorder.store.meta["cluster"]["unit_overhead_seconds"] = [round(x, 4) for x in cluster.overheads]
        return recorder.finish(status, stopped)
    finally:
        if cluster is None:
            client.close()


def headroom_on_cluster(address: str, security: Security | None, *, cpus: int | None, duration: float,
                        connections: Sequence[int], pipelined: Sequence[int], pipeline: int, console: Console,
                        host_wait: float = HOST_WAIT) -> dict[str, Any]:
    """`cmbench loadgen-headroom --cluster`: the ceilings on a benchmark host, with the generator there and on a
    `--loadgen` host (through the relay); the answer of the benchmark host (`table`, `runs`)."""
    from distributed import wait

    from .http.generator import tools_here

    client = connect(address, security)
    futures: list[Future] = []
    try:
        deadline = time.monotonic() + host_wait
        while True:
            workers = client.scheduler_info(n_workers=-1).get("workers", {})
            generators = [(a, w) for a, w in workers.items() if w.get("resources", {}).get(LOADGEN)]
            benches = [(a, w) for a, w in workers.items()
                       if w.get("resources", {}).get(BENCH) and not w.get("resources", {}).get(LOADGEN)]
            if generators and benches:
                break
            if time.monotonic() > deadline:
                raise UserError(f"--cluster {address}: needs a benchmark host (`cmbench worker {address}`) and a load "
                                f"generator host (`cmbench worker {address} --loadgen`); found "
                                f"{len(benches)} and {len(generators)} after {host_wait:g} s")
            time.sleep(TICK)
        (lg, lg_info), (bench, bench_info) = generators[0], benches[0]
        lg_name, bench_name = str(lg_info.get("name", lg)), str(bench_info.get("name", bench))
        console.say(f"loadgen-headroom: responder on host {bench_name}, generator there and on host {lg_name}")
        token = os.urandom(4).hex()
        tools = client.submit(tools_here, workers=[lg], allow_other_workers=False, resources={LOADGEN: 1},
                              pure=False, key=f"cmbench-headroom-tools-{token}")
        futures.append(tools)
        channel = f"cmbench-lg-headroom-{token}"
        futures.append(client.submit(loadgen_task, {"channel": channel, "hello": False}, workers=[lg],
                                     allow_other_workers=False, resources={LOADGEN: 1}, pure=False,
                                     key=f"cmbench-headroom-loadgen-{token}"))
        request = {"loadgen": {"channel": channel, "host": lg_name, "tools": tools.result(timeout=CONNECT_TIMEOUT)},
                   "cpus": cpus, "duration": duration, "connections": list(connections),
                   "pipelined": list(pipelined), "pipeline": pipeline}
        answer = client.submit(headroom_task, request, workers=[bench], allow_other_workers=False,
                               resources={BENCH: 1}, pure=False, key=f"cmbench-headroom-{token}")
        futures.append(answer)
        with client.as_current():
            wait([answer])
        if answer.status == "error":
            error = answer.exception()
            if isinstance(error, UserError):
                raise error
            raise UserError(f"loadgen-headroom on host {bench_name} failed: {_error_text(answer)}")
        return {**answer.result(), "loadgen_host": lg_name}
    finally:
        with contextlib.suppress(Exception):
            client.cancel(futures, force=True)
        client.close()


def make_security(address: str, ca_file: str | None, cert: str | None, key: str | None) -> Security | None:
    """Dask's TLS settings from the flags (all three or none); None leaves them to Dask's configuration."""
    given = {"--tls-ca-file": ca_file, "--tls-cert": cert, "--tls-key": key}
    if not any(given.values()):
        return None
    missing = [flag for flag, value in given.items() if not value]
    if missing:
        raise UserError(f"{missing[0]}: TLS needs --tls-ca-file, --tls-cert and --tls-key together")
    for flag, value in given.items():
        if not Path(value).is_file():
            raise UserError(f"{flag} {value}: file not found")
    if not address.startswith("tls://"):
        raise UserError(f"--tls-*: given for {address}; use a tls:// address (the scheduler's, started with TLS)")
    from distributed.security import Security

    return Security(
        tls_ca_file=ca_file,
        tls_client_cert=cert,
        tls_client_key=key,
        tls_worker_cert=cert,
        tls_worker_key=key,
        require_encryption=True,
    )
