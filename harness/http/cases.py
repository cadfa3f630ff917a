"""The phases of one http_server implementation, each a case of its own: verify, then load, then idle.

Every phase runs on a fresh server process pinned to the server CPUs, with the load generator
pinned to the disjoint load CPUs, so that a phase's rusage (CPU time, context switches, peak
RSS) belongs to that phase alone:

- verification (TechEmpower-style, check.py) on its own process, which must also exit 0 on SIGTERM;
- a start-up baseline: a process started until ready and stopped, serving nothing;
- closed loop (wrk) at each connection count: primer, warm-up, measured run; saturation QPS =
  requests / duration;
- open loop (oha, coordinated-omission corrected) at each rate, a fraction of this server's best
  closed-loop QPS, with the connection count that reached it: primer, warm-up, measured run;
- idle: memory before and with N idle keep-alive connections open.

Per-request figures subtract the baseline from the phase process's rusage and divide by every
request that process answered (primer and warm-up included, as rusage covers them).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from ..executors import Executor
from ..manifest import Impl, ServerProfile, Variant, Workload
from ..outcome import CaseFailure, CaseKey, CaseResult, ProcessRun
from ..process import ChildResult, Rusage
from .check import verify_http
from .client import Connection, ProtocolError
from .detail import LoadSummary, PhaseDetail
from .idle import FD_MARGIN, IdleError, measure_idle, raise_fd_limit
from .loadgen import INSTALL_HINTS, LoadgenError, LoadResult, find_tool
from .oha import run_oha
from .server import READY_TIMEOUT, STOP_GRACE, Server, serving
from .wrk import run_wrk

PRIMER_SECONDS = 1.0  # a short, light load first, as TechEmpower primes
PRIMER_CONNECTIONS = 8
IDLE_PRIMER_REQUESTS = 100  # on one connection before the idle phase's memory baseline
SATURATED = 0.9  # load generator CPU time / (wall time x its CPUs) from which a phase is flagged
SHORT_OF_RATE = 0.95  # achieved / target QPS below which an open-loop phase is flagged
BUSY_HOST = 1.0  # 1-minute load average beyond the CPU count (plus this) from which a phase is flagged
NEEDS = {"closed": ("wrk",), "open": ("wrk", "oha"), "idle": ()}  # the tools each phase runs


@dataclass(frozen=True)
class Phase:
    kind: str  # "closed", "open" or "idle"
    connections: int = 0
    rate: float = 0.0

    @property
    def label(self) -> str:
        """The case label, shared by every implementation: `closed,connections=64`, `open,rate=0.5`."""
        if self.kind == "open":
            return f"open,rate={self.rate:g}"
        return f"{self.kind},connections={self.connections}"


def phase_params(phase: Phase | None, profile: ServerProfile) -> dict[str, int | str | float]:
    """What a phase is, as a case's parameters: `phase`, its connections or rate, its durations."""
    p: dict[str, int | str | float] = {"phase": phase.kind if phase else "verify"}
    if phase and phase.kind == "open":
        p["rate"] = phase.rate
    elif phase:
        p["connections"] = phase.connections
    if phase and phase.kind != "idle":
        p.update(duration=profile.duration, warmup=profile.warmup)
    elif phase:
        p["hold"] = profile.idle_hold
    return p


def phase_of(params: Mapping[str, object]) -> Phase:
    """The phase a case's parameters describe (the inverse of `phase_params`)."""
    kind = str(params["phase"])
    if kind == "open":
        return Phase(kind, rate=float(params["rate"]))  # type: ignore[arg-type]
    return Phase(kind, connections=int(params["connections"]))  # type: ignore[call-overload]


def phases_for(profile: ServerProfile) -> tuple[Phase, ...]:
    return (tuple(Phase("closed", connections=c) for c in profile.connections)
            + tuple(Phase("open", rate=r) for r in profile.rates)
            + ((Phase("idle", connections=profile.idle_connections),) if profile.idle_connections else ()))


def split_cpus(cpus: Sequence[int], allowed: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(server CPUs, load generator CPUs), disjoint.

    When `cpus` is a strict subset of `allowed`, the server gets `cpus` and the load generator
    the rest; when it is all of them, the server gets the first half (at least one).
    """
    allowed = tuple(sorted(allowed))
    cpus = tuple(sorted(cpus))
    if len(cpus) < len(allowed):
        return cpus, tuple(c for c in allowed if c not in cpus)
    half = max(1, len(allowed) // 2)
    return allowed[:half], allowed[half:]


@dataclass(frozen=True)
class Setup:
    """What every phase of one implementation variant shares."""

    executor: Executor
    impl: Impl
    variant: Variant
    workload: Workload
    profile: ServerProfile
    cpus_server: tuple[int, ...]
    cpus_load: tuple[int, ...]
    executor_name: str
    slack: float  # seconds: the ready timeout, and how long a load process may overrun its duration

    def key(self, label: str) -> CaseKey:
        return CaseKey(self.workload.name, label, self.impl.id, self.variant.name)

    def params(self, phase: Phase | None, **more: object) -> dict[str, int | str | float]:
        """The phase's parameters, what it found (`more`), then where it ran."""
        p = phase_params(phase, self.profile)
        p.update({k: v for k, v in more.items() if v is not None})
        p.update(cpus=len(self.cpus_server), load_cpus=len(self.cpus_load), executor=self.executor_name)
        return p

    def result(self, label: str, params: Mapping[str, int | str | float], status: str, error: str = "", *,
               began: float | None = None, server: ChildResult | None = None, baseline: Rusage | None = None,
               detail: PhaseDetail | None = None, flags: Sequence[str] = ()) -> CaseResult:
        ok = server and status == "ok"
        processes = (ProcessRun((), server.rusage, server.wall, server.cgroup_peak),) if ok else ()
        return CaseResult(
            key=self.key(label), language=self.impl.language, model=self.impl.model, params=dict(params),
            status=status, error=error, operations=detail.requests_served if detail else 0, processes=processes,
            baseline=baseline, seconds=time.perf_counter() - began if began is not None else 0.0, kind="server",
            flags=tuple(flags), detail=detail,
        )

    def serving(self):
        return serving(self.executor, self.impl, self.variant, self.cpus_server, ready_timeout=self.slack)


def _checked(load: LoadResult, server: Server, during: str) -> LoadResult:
    server.check_alive(during)
    problems = load.problems()
    if problems:
        raise CaseFailure("verify_failed", f"{during}: {'; '.join(problems)} ({load.tool}, {load.requests} "
                                           "requests)")
    return load


def host_flags() -> tuple[tuple[float, ...], list[str]]:
    """The host's load averages now, and a flag when other work competed for the CPUs."""
    load = tuple(round(x, 2) for x in os.getloadavg())
    cpus = os.cpu_count() or 1
    if load[0] > cpus + BUSY_HOST:
        return load, [f"host busy: 1-minute load average {load[0]:.1f} on {cpus} CPUs; figures may be disturbed"]
    return load, []


def verify_case(setup: Setup) -> CaseResult:
    """Verification only: a fresh server, every rule of check.py, and exit status 0 on SIGTERM."""
    began = time.perf_counter()
    params = setup.params(None)
    try:
        with setup.serving() as server:
            problems = verify_http(server.port)
            server.check_alive("verification")
            server.check_quiet()
        stopped = server.stop()
        if stopped.timed_out:
            problems.append(f"did not exit within {STOP_GRACE:g} s of SIGTERM; killed")
        elif stopped.returncode != 0:
            problems.append(f"exited with status {stopped.returncode} on SIGTERM, expected 0")
    except CaseFailure as f:
        return setup.result("verify", params, f.status, str(f), began=began)
    if problems:
        return setup.result("verify", params, "verify_failed", "; ".join(problems), began=began)
    return setup.result("verify", params, "ok", began=began)


def _baseline(setup: Setup) -> Rusage:
    with setup.serving() as server:
        pass
    return server.stop().rusage


def _closed(setup: Setup, phase: Phase, wrk: str, baseline: Rusage) -> CaseResult:
    began = time.perf_counter()
    prof = setup.profile
    kw = dict(cpus=setup.cpus_load, timeout=setup.slack)
    warm = None
    with setup.serving() as server:
        primer = _checked(run_wrk(wrk, server.port, connections=min(PRIMER_CONNECTIONS, phase.connections),
                                  duration=PRIMER_SECONDS, **kw), server, "the primer")
        if prof.warmup:
            warm = _checked(run_wrk(wrk, server.port, connections=phase.connections, duration=prof.warmup, **kw),
                            server, "the warm-up")
        load = _checked(run_wrk(wrk, server.port, connections=phase.connections, duration=prof.duration, **kw),
                        server, "the measured load")
        server.check_quiet()
    stopped = server.stop()
    served = primer.requests + (warm.requests if warm else 0) + load.requests
    loadgen_cpu = load.cpu_utilisation / len(setup.cpus_load)
    loadavg, flags = host_flags()
    if loadgen_cpu >= SATURATED:
        flags.append(f"load generator saturated: wrk kept {loadgen_cpu:.0%} of its {len(setup.cpus_load)} CPU(s) "
                     "busy; the server may be faster than measured")
    detail = PhaseDetail("closed", served, loadavg, stopped.returncode, load=load, primer=LoadSummary.of(primer),
                         warmup=LoadSummary.of(warm), loadgen_cpu=round(loadgen_cpu, 4))
    return setup.result(phase.label, setup.params(phase), "ok", began=began, server=stopped, baseline=baseline,
                        detail=detail, flags=flags)


def _open(setup: Setup, phase: Phase, wrk: str, oha: str, baseline: Rusage, best_qps: float,
          connections: int) -> CaseResult:
    began = time.perf_counter()
    prof = setup.profile
    target = phase.rate * best_qps
    kw = dict(cpus=setup.cpus_load, timeout=setup.slack)
    warm = None
    with setup.serving() as server:
        primer = _checked(run_wrk(wrk, server.port, connections=PRIMER_CONNECTIONS, duration=PRIMER_SECONDS, **kw),
                          server, "the primer")
        if prof.warmup:
            warm = _checked(run_oha(oha, server.port, rate=target, connections=connections, duration=prof.warmup,
                                    per_request=False, **kw), server, "the warm-up")
        load = _checked(run_oha(oha, server.port, rate=target, connections=connections, duration=prof.duration,
                                **kw), server, "the measured load")
        server.check_quiet()
    stopped = server.stop()
    served = primer.requests + (warm.requests if warm else 0) + load.requests
    # The measured run's CPU includes oha writing one sqlite row per request after the load;
    # the warm-up at the same rate, which keeps no rows, gives the generator's utilisation.
    loadgen_cpu = warm.cpu_utilisation / len(setup.cpus_load) if warm else None
    loadavg, flags = host_flags()
    if loadgen_cpu is not None and loadgen_cpu >= SATURATED:
        flags.append(f"load generator saturated: oha kept {loadgen_cpu:.0%} of its {len(setup.cpus_load)} CPU(s) "
                     "busy at this rate in the warm-up")
    if load.qps < SHORT_OF_RATE * target:
        flags.append(f"achieved {load.qps:.0f} req/s of the {target:.0f} req/s asked")
    detail = PhaseDetail("open", served, loadavg, stopped.returncode, load=load, primer=LoadSummary.of(primer),
                         warmup=LoadSummary.of(warm),
                         loadgen_cpu=None if loadgen_cpu is None else round(loadgen_cpu, 4),
                         target_qps=round(target, 1))
    params = setup.params(phase, target_qps=round(target, 1), connections=connections)
    return setup.result(phase.label, params, "ok", began=began, server=stopped, baseline=baseline, detail=detail,
                        flags=flags)


def _idle(setup: Setup, phase: Phase, baseline: Rusage) -> CaseResult:
    began = time.perf_counter()
    with setup.serving() as server:
        try:
            with Connection(server.port) as conn:
                for _ in range(IDLE_PRIMER_REQUESTS):
                    conn.get("/plaintext")
        except ProtocolError as e:
            server.check_alive("the idle phase's primer")
            raise CaseFailure("verify_failed", f"the idle phase's primer: {e}") from None
        try:
            m = measure_idle(server.port, phase.connections, server.running.memory, timeout=setup.slack,
                             hold=setup.profile.idle_hold)
        except IdleError as e:
            server.check_alive("the idle connections")
            raise CaseFailure("verify_failed", str(e)) from None
        server.check_alive("the idle connections")
    stopped = server.stop()
    served = IDLE_PRIMER_REQUESTS + phase.connections
    loadavg, flags = host_flags()
    detail = PhaseDetail("idle", served, loadavg, stopped.returncode, idle=m)
    return setup.result(phase.label, setup.params(phase), "ok", began=began, server=stopped, baseline=baseline,
                        detail=detail, flags=flags)


def _guard(setup: Setup, phase: Phase, run: Callable[..., CaseResult], *args: object) -> CaseResult:
    """Run one phase; its failure becomes the case's status and message, never an exception."""
    began = time.perf_counter()
    try:
        return run(setup, phase, *args)
    except CaseFailure as f:
        return setup.result(phase.label, setup.params(phase), f.status, str(f), began=began)
    except LoadgenError as e:
        return setup.result(phase.label, setup.params(phase), "crashed", f"load generator: {e}", began=began)


def status_cases(setup: Setup, phases: Sequence[Phase], status: str, error: str) -> Iterator[CaseResult]:
    """Every phase with one status, for an implementation that cannot run (skipped, build or verify failed)."""
    for phase in phases:
        yield setup.result(phase.label, setup.params(phase), status, error)


def measure_phases(setup: Setup, phases: Sequence[Phase]) -> Iterator[CaseResult]:
    """A start-up baseline, then each phase; each result as soon as its phase ends.

    Open-loop rates are fractions of the best closed-loop QPS measured before them here, so a
    unit of phases keeps its closed-loop phases first.
    """
    if not setup.cpus_load:
        yield from status_cases(setup, phases, "skipped", f"needs a CPU for the load generator besides the server's "
                                                          f"{len(setup.cpus_server)}; pass a smaller --cpus")
        return
    tools = {"wrk": find_tool("wrk"), "oha": find_tool("oha")}
    wrk, oha = tools["wrk"], tools["oha"]
    try:
        baseline = _baseline(setup)
    except CaseFailure as f:
        yield from status_cases(setup, phases, f.status, f"start-up baseline: {f}")
        return
    best: tuple[float, int] | None = None  # (qps, connections)
    for phase in phases:
        missing = [t for t in NEEDS[phase.kind] if tools[t] is None]
        if missing:
            yield setup.result(phase.label, setup.params(phase), "skipped",
                               "; ".join(f"{t} not found: {INSTALL_HINTS[t]}" for t in missing))
            continue
        connections = best[1] if phase.kind == "open" and best else phase.connections
        try:
            raise_fd_limit(connections + FD_MARGIN)
        except IdleError as e:
            yield setup.result(phase.label, setup.params(phase), "skipped", str(e))
            continue
        if phase.kind == "closed":
            r = _guard(setup, phase, _closed, wrk, baseline)
            if r.status == "ok" and r.detail and r.detail.load:
                qps = r.detail.load.qps
                if best is None or qps > best[0]:
                    best = (qps, phase.connections)
        elif phase.kind == "open":
            if best is None:
                yield setup.result(phase.label, setup.params(phase), "skipped",
                                   "no closed-loop saturation throughput to scale the rate from "
                                   "(every closed-loop phase failed, or none ran before it)")
                continue
            r = _guard(setup, phase, _open, wrk, oha, baseline, *best)
        else:
            r = _guard(setup, phase, _idle, baseline)
        yield r


def iter_server_cases(setup: Setup) -> Iterator[CaseResult]:
    """Verify, then every phase of the profile."""
    phases = phases_for(setup.profile)
    if not setup.cpus_load:
        yield from measure_phases(setup, phases)
        return
    v = verify_case(setup)
    if v.status != "ok":
        yield from status_cases(setup, phases, v.status, f"verify: {v.error}")
        return
    yield from measure_phases(setup, phases)


def run_server_cases(executor: Executor, impl: Impl, variant: Variant, workload: Workload, profile: str,
                     cpus_server: Sequence[int], cpus_load: Sequence[int], *, timeout: float | None = None,
                     executor_name: str | None = None) -> list[CaseResult]:
    """Every case of one implementation variant on a server workload, in order."""
    return list(iter_server_cases(make_setup(executor, impl, variant, workload, profile, cpus_server, cpus_load,
                                             timeout=timeout, executor_name=executor_name)))


def make_setup(executor: Executor, impl: Impl, variant: Variant, workload: Workload, profile: str,
               cpus_server: Sequence[int], cpus_load: Sequence[int], *, timeout: float | None = None,
               executor_name: str | None = None) -> Setup:
    return Setup(executor, impl, variant, workload, workload.servers[profile], tuple(cpus_server), tuple(cpus_load),
                 executor_name or executor.name, timeout or READY_TIMEOUT)
