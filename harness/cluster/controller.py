"""Running a plan over a fleet of benchmark hosts on Dask distributed.

Roles (README "Running on several hosts"):

- the scheduler is Dask's own (`dask scheduler`);
- each benchmark host runs `cmbench worker SCHEDULER`: a Dask worker with one thread and the
  resource `bench=1` (and `loadgen=1` with `--loadgen`), so at most one unit runs on a host at a
  time. Its `HostService` (a Dask worker plugin) plays the host's part of a run
  (harness/engine/ `HostRun`): it checks that it runs the controller's commit and toolchains,
  builds once (cached per commit, executor and implementation for the life of the worker),
  verifies each implementation variant once per workload and run, and executes units;
- the controller (`cmbench run --cluster ADDRESS`) plays the recorder's part: it asks every
  host to prepare, keeps one unit per ready host in flight (Dask places each on a free host
  among those that offer the run's own resource, which a host adds once it is checked and built),
  and stores a unit's cases through the same `RunStore` as a local run once its host finishes it.
  Each case streams back as it finishes (Dask structured events, one per case) and is kept aside
  with the attempt that measured it; a unit's return value carries them all again, so nothing
  depends on the order in which the two arrive.

Faults: a host that dies mid-unit loses its unit to Dask's own rescheduling, once, and what it
had finished of the unit is dropped: a unit is stored whole from the one host that measured it
(a server's open-loop phase takes its rate from that host's closed-loop figure). A unit that
starts a third time (or that Dask gives up on, `KilledWorker`) is stopped and its unfinished
cases are `lost`, naming the hosts that went away. A lost scheduler stops the controller: the
run is `interrupted`, every finished case stays stored, a unit in flight keeps what its host
finished (its other cases are `interrupted`) and every case not begun is `not_run`. Each host
refused is said and recorded (run.json `refused_hosts`). Ctrl-C cancels the futures; a worker
kills the running case's process group (and the executor's containers) when its task is
cancelled, and when it shuts down.

A unit is the grain of work here. With `--loadgen-host` (TechEmpower's layout), an HTTP unit
is split over two hosts: its servers on a benchmark host, its load generator on a host started
with `--loadgen`, which then measures nothing of its own. The controller pairs them: it sends the
unit with a channel name and a generator task for that channel to a free generator host
(harness/cluster/loadgen.py carries the jobs and results over Dask queues). A generator host that
goes away mid-phase is replaced by a free one, and the phase runs once more; without one the
phase is `lost`, naming the host. With no generator host connected, units run in the one-host
layout, and the controller says so."""

from __future__ import annotations

import json
import os
import queue
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from harness.cluster.loadgen import notify
from harness.console import Console
from harness.engine.host import HostReport, Measured, preset_result, status_result
from harness.engine.ready import Readiness
from harness.engine.recorder import Recorder
from harness.kinds import plan_units, result_from_dict
from harness.measure.interrupts import signals_deferred
from harness.plan.spec import CaseSpec, Plan
from harness.store.calibration import CalibrationStore
from harness.vocab import Status

if TYPE_CHECKING:
    from distributed import Client
    from distributed.security import Security
from harness.cluster import session
from harness.cluster.identity import BENCH, CONNECT_TIMEOUT, LOADGEN, Expectation, run_resource
from harness.cluster.units import _address_host, _error_text, _Host, _key, _lost_text, _Stop, _Unit, _what
from harness.cluster.worker import loadgen_task, prepare_loadgen_task, prepare_task, unit_task

TICK = 0.5  # seconds between the controller's looks at hosts, events and futures
HOST_WAIT = 60.0  # seconds the controller waits for a host when none is left, before it stops
MAX_STARTS = 2  # a unit runs at most on its first host and once more on another


def connect(address: str, security: Security | None) -> Client:
    """The controller's client of the scheduler (session.connect): one line when it cannot be reached."""
    return session.connect(address, security, CONNECT_TIMEOUT)


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
                self._reported(unit, json.loads(msg["item"]), str(msg["host"]))

    def _started(self, unit: _Unit, host: str) -> None:
        unit.hosts.append(host)
        if len(unit.hosts) > 1:
            dropped = len(unit.partial)
            unit.partial.clear()  # never split a unit: the attempt that finishes it gives every case
            self.console.say(
                f"cluster: unit {unit.index} ({_what(unit)}) started again on {host}: "
                f"{unit.hosts[-2]} went away while measuring it"
                + (f" (the {dropped} case(s) it had finished there are dropped)" if dropped else "")
            )
        if len(unit.hosts) > MAX_STARTS:
            self._lose(unit, _lost_text(unit.hosts[:-1]), dead=unit.hosts[:-1])

    def _reported(self, unit: _Unit, item: dict[str, Any], host: str) -> None:
        """A case of the unit's current attempt: kept aside until the unit settles (`_keep_partial`)."""
        if unit.hosts and host != unit.hosts[-1]:
            return  # a late word of an attempt that was started again elsewhere
        key = result_from_dict(item["result"]).key
        if key in {s.key for s in unit.cases}:
            unit.partial[key] = (host, item)

    def _keep_partial(self, unit: _Unit) -> None:
        """Store what the unit's last attempt finished (all from one host) before its other cases are settled."""
        partial, unit.partial = unit.partial, {}
        for host, item in partial.values():
            self._record(unit, item, host)

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
                    self._refuse(host, str(answer["refused"]))
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
                report = HostReport.from_dict(answer["report"])
                self.recorder.note_host(report)
                host.state = "ready"
                unknown = (report.metadata.get("git") or {}).get("dirty") is None
                self.console.say(f"cluster: host {host.name} ready" + (
                    " (it has no git: whether its checkout has uncommitted changes is not known)" if unknown else ""))
            elif host.state == "preparing":
                self._refuse(host, _error_text(future) if future.status == "error" else future.status)
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
                with signals_deferred():  # a unit its host finished is stored whole, even when Ctrl-C comes now
                    unit.partial.clear()  # the answer carries every case again, all from the host that finished it
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
                    unit.partial.clear()  # the next attempt measures the whole unit again
                    self.pending.appendleft(unit)
                    continue
                if isinstance(error, KilledWorker):
                    self._lose(unit, _lost_text(unit.hosts), dead=unit.hosts)
                else:
                    self._lose(unit, f"the host could not measure it: {_error_text(future)}")
            else:  # cancelled, and not by this controller: the scheduler is gone or forgot the work
                self._check_scheduler()
                raise _Stop(f"the scheduler at {self.address} cancelled unit {unit.index} ({_what(unit)})")

    def _refuse(self, host: _Host, why: str) -> None:
        """No work goes to `host`: say so, and record it in run.json `refused_hosts`."""
        host.state, host.reason = "refused", why
        self.console.say(f"cluster: host {host.name} REFUSED, no work is sent there: {why}")
        self.recorder.store.meta.setdefault("refused_hosts", []).append(
            {"host": host.name, "address": host.address, "role": host.role, "reason": why})
        self.recorder.store.flush()

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
                                          "tools": unit.loadgen.tools if unit.loadgen else {},
                                          "address": _address_host(unit.loadgen.address) if unit.loadgen else ""}
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
        return {"channel": unit.channel, "host": generator.name, "tools": generator.tools,
                "address": _address_host(generator.address)}

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
            self._lose(unit, _lost_text(unit.hosts) + "; no host was left to measure it", dead=unit.hosts)
        refused = [h.name for h in self.hosts.values() if h.state == "refused"]
        raise _Stop(
            f"no benchmark host able to run the plan after {self.host_wait:g} s"
            + (f" (refused: {', '.join(refused)})" if refused else "")
        )

    def _lose(self, unit: _Unit, why: str, dead: Sequence[str] = ()) -> None:
        """The unit's unfinished cases are `lost`; `dead`: the hosts that went away measuring it, which they name
        (`host`: the last of them, `lost_hosts`: all), else the host that measured it last."""
        if unit.future is not None and not unit.future.done():
            unit.future.cancel(force=True)
        self._keep_partial(unit)
        self._settle(unit, why, dead)

    def stop(self, why: str) -> None:
        """The run stops: each unit in flight keeps what its host finished; its other cases are `interrupted`."""
        for unit in list(self.inflight.values()):
            unit.loadgen = None  # `close` cancelled the generators' tasks already
            self._keep_partial(unit)
            where = f" on host {unit.hosts[-1]}" if unit.hosts else ""
            self._settle(unit, f"the run stopped while its unit was being measured{where} ({why})",
                         status=Status.INTERRUPTED)

    def _settle(self, unit: _Unit, why: str, dead: Sequence[str] = (), status: Status = Status.LOST) -> None:
        """A unit is done: a case still without a result (none should be after a finished unit) is `status`."""
        host = (dead or unit.hosts or [""])[-1]
        provenance = {"lost_hosts": list(dead)} if dead and status == Status.LOST else {}
        for spec in unit.cases:
            if spec.key not in self.recorder.recorded:
                self.recorder.record(Measured(status_result(spec, status.value, why), provenance), host)
        unit.future = None
        unit.partial.clear()
        self.inflight.pop(unit.index, None)
        self._release_generator(unit)

