"""The phases of one http_server implementation, each a case of its own: verify, then load, then idle.

Every phase runs on a fresh server process pinned to the server CPUs, with the load generator
pinned to the disjoint load CPUs, so that a phase's rusage (CPU time, context switches, peak
RSS) belongs to that phase alone:

- verification (TechEmpower-style, check.py, with one keep-alive connection held idle for the
  profile's `idle_hold`) on its own process, which must also exit 0 on SIGTERM;
- a start-up baseline: a process started until ready and stopped, serving nothing;
- start-up: `startup_runs` fresh processes, each timed from its start to its first 200 answer;
- closed loop (wrk) at each connection count, and pipelined (wrk, `pipeline_depth` requests
  written at once per connection, TechEmpower's plaintext rules) at each pipelined count: a
  single-connection probe, a primer, a warm-up, then the measured run, which ends once its
  per-second rate has settled (settle.py); saturation QPS = requests / duration. One more
  keep-alive connection, answered once before the probe, stays idle through it all and must
  still answer after the loads (the keep-alive rule, held the phase's 8 s or more in quick);
- open loop (oha, coordinated-omission corrected) at each rate, a fraction of this server's best
  closed-loop QPS (capped below what oha sustains, bound.py), with the connection count that
  reached it: primer, warm-up, measured run;
- idle: memory of the server's process tree before and with N idle keep-alive connections open
  (the first of its `repeats` servers then holds them `idle_hold` and checks that each answers).

A measured load fails the phase (never becomes a figure) when it had socket errors or non-2xx
answers, when requests were left unanswered (the probe hangs, or the load's one-second rates
fall to zero for `STALL_SECONDS` while its connections wait), or when its rate is far below what
one connection got just before (the probe). A closed-loop figure the generator limited is kept,
flagged load-generator bound (bound.py).

Per-request figures subtract the baseline from the phase process's rusage and divide by every
request that process answered (primer and warm-up included, as rusage covers them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from harness.executors.base import Executor
from harness.host.info import load_averages
from harness.kinds.server.bound import SATURATED, SHORT_PREFIX, Ceilings, bound_flag, open_target
from harness.kinds.server.check import check_idle, open_idle, verify_http
from harness.kinds.server.client import Connection, ProtocolError
from harness.kinds.server.detail import LoadSummary, PhaseDetail
from harness.kinds.server.generator import LOCAL, Generator, LostGenerator
from harness.kinds.server.idle import IdleError, IdleMeasurement, measure_idle
from harness.kinds.server.limits import capacity_problem
from harness.kinds.server.loadgen import INSTALL_HINTS, LoadgenError, LoadResult
from harness.kinds.server.probe import broken_load, probe_rate
from harness.kinds.server.server import READY_TIMEOUT, STOP_GRACE, Server, serving
from harness.kinds.server.settle import Settling
from harness.kinds.server.startup import time_one_start
from harness.manifests.model import Impl, ServerProfile, Variant, Workload
from harness.measure.memory import MemoryPeaks, PeakSampler
from harness.measure.outcome import CaseFailure, CaseKey, CaseResult, ProcessRun
from harness.measure.process import ChildResult, Rusage

PRIMER_SECONDS = 1.0  # a short, light load first, as TechEmpower primes
PRIMER_CONNECTIONS = 8
IDLE_PRIMER_REQUESTS = 100  # on one connection before the idle phase's memory baseline
IDLE_TIMEOUT = 10.0  # seconds for each idle connection's connect and first answer
HELD_REQUESTS = 2  # a load phase's held keep-alive connection: one request before the loads, one after
SHORT_OF_RATE = 0.95  # achieved / target QPS below which an open-loop phase is flagged
NEEDS = {"startup": (), "closed": ("wrk",), "pipelined": ("wrk",), "open": ("wrk", "oha"), "idle": ()}
LOADS = ("closed", "pipelined", "open")


@dataclass(frozen=True)
class Phase:
    kind: str  # "startup", "closed", "pipelined", "open" or "idle"
    connections: int = 0
    rate: float = 0.0
    runs: int = 0  # start-up: how many starts
    pipeline: int = 1  # pipelined: requests written at once per connection

    @property
    def label(self) -> str:
        """The case label, shared by every implementation: `closed,connections=64`, `open,rate=0.5`."""
        if self.kind == "open":
            return f"open,rate={self.rate:g}"
        if self.kind == "startup":
            return "startup"
        return f"{self.kind},connections={self.connections}"


def phase_params(phase: Phase | None, profile: ServerProfile) -> dict[str, int | str | float]:
    """What a phase is, as a case's parameters: `phase`, its connections or rate, its durations."""
    p: dict[str, int | str | float] = {"phase": phase.kind if phase else "verify"}
    if phase is None:
        return p
    if phase.kind == "open":
        p["rate"] = phase.rate
    elif phase.kind == "startup":
        p["runs"] = phase.runs
    else:
        p["connections"] = phase.connections
    if phase.kind == "pipelined":
        p["pipeline"] = phase.pipeline
    if phase.kind in LOADS:
        p.update(min_duration=profile.min_duration, max_duration=profile.longest, warmup=profile.warmup)
    elif phase.kind == "idle":
        p["hold"] = profile.idle_hold
    return p


def phase_of(params: Mapping[str, object]) -> Phase:
    """The phase a case's parameters describe (the inverse of `phase_params`)."""
    kind = str(params["phase"])
    if kind == "open":
        return Phase(kind, rate=float(params["rate"]))  # type: ignore[arg-type]
    if kind == "startup":
        return Phase(kind, runs=int(params["runs"]))  # type: ignore[call-overload]
    return Phase(kind, connections=int(params["connections"]),  # type: ignore[call-overload]
                 pipeline=int(params.get("pipeline", 1)))  # type: ignore[call-overload]


def phases_for(profile: ServerProfile) -> tuple[Phase, ...]:
    return (((Phase("startup", runs=profile.startup_runs),) if profile.startup_runs else ())
            + tuple(Phase("closed", connections=c) for c in profile.connections)
            + tuple(Phase("pipelined", connections=c, pipeline=profile.pipeline_depth)
                    for c in profile.pipelined_connections)
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
    ceilings: Ceilings | None = None  # the generators' ceilings in this CPU layout (bound.py)
    generator: Generator = LOCAL  # where wrk and oha run (generator.py): this host, or a host of their own

    @property
    def settling(self) -> Settling:
        p = self.profile
        return Settling(p.min_duration, p.longest, max(1, round(p.settle_window)), p.settle_tolerance)

    def key(self, label: str) -> CaseKey:
        return CaseKey(self.workload.name, label, self.impl.id, self.variant.name)

    def params(self, phase: Phase | None, **more: object) -> dict[str, int | str | float]:
        """The phase's parameters, what it found (`more`), then where it ran."""
        p = phase_params(phase, self.profile)
        p.update({k: v for k, v in more.items() if v is not None})
        p.update(cpus=len(self.cpus_server), load_cpus=len(self.cpus_load), executor=self.executor_name)
        return p

    def result(self, label: str, params: Mapping[str, int | str | float], status: str, error: str = "", *,
               began: float | None = None, server: ChildResult | Sequence[ChildResult] | None = None,
               baseline: Rusage | None = None, detail: PhaseDetail | None = None,
               flags: Sequence[str] = ()) -> CaseResult:
        servers = [server] if isinstance(server, ChildResult) else list(server or ())
        processes = tuple(ProcessRun((), s.rusage, s.wall, s.cgroup_peak) for s in servers) if status == "ok" else ()
        return CaseResult(
            key=self.key(label), language=self.impl.language, model=self.impl.model, params=dict(params),
            status=status, error=error, operations=detail.requests_served if detail else 0, processes=processes,
            baseline=baseline, seconds=time.perf_counter() - began if began is not None else 0.0, kind="server",
            flags=tuple(flags), detail=detail,
        )

    def serving(self):
        return serving(self.executor, self.impl, self.variant, self.cpus_server, ready_timeout=self.slack)

    def start(self, port: int):
        """Start a server on `port` without waiting for it (the start-up phase times that)."""
        args = ["http_server", "--port", str(port), "--cpus", str(len(self.cpus_server))]
        return self.executor.start(self.impl, self.variant, args, cpus=self.cpus_server)


def _checked(load: LoadResult, server: Server, during: str) -> LoadResult:
    server.check_alive(during)
    problems = load.problems()
    if problems:
        raise CaseFailure("verify_failed", f"{during}: {'; '.join(problems)} ({load.tool}, {load.requests} "
                                           f"requests){server.stderr_note()}")
    return load


def verify_case(setup: Setup, idle_hold: float = 0.0) -> CaseResult:
    """Verification only: a fresh server, every rule of check.py, and exit status 0 on SIGTERM.

    The idle keep-alive connection is held for the setup profile's `idle_hold`, at least IDLE_HOLD;
    `idle_hold` > 0 holds it that long instead (a smoke run, where seconds count).
    """
    began = time.perf_counter()
    params = setup.params(None)
    hold = {"idle_hold": idle_hold, "least": 0.0} if idle_hold > 0 else {"idle_hold": setup.profile.idle_hold}
    try:
        with setup.serving() as server:
            problems = verify_http(server.port, **hold)
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


@contextmanager
def _held_idle(server: Server) -> Iterator[Callable[[], None]]:
    """One keep-alive connection, answered once, then left idle while the phase loads the server; the
    function given checks, once the loads are over, that it is still open and answers one more request
    (the contract's keep-alive rule, held as long as the phase lasts: 8 s or more in quick and full)."""
    problems: list[str] = []
    idle = open_idle(server.port, problems)
    if idle is None:
        server.check_alive("the idle keep-alive connection before the load")
        raise CaseFailure("verify_failed", problems[0] + server.stderr_note())
    conn, since = idle

    def check() -> None:
        check_idle(conn, since, 0.0, problems, held="held through the phase's loads")
        if problems:
            server.check_alive("the idle keep-alive connection after the load")
            raise CaseFailure("verify_failed", "; ".join(problems) + server.stderr_note())
    try:
        yield check
    finally:
        conn.close()


def _closed(setup: Setup, phase: Phase, baseline: Rusage) -> CaseResult:
    """A closed-loop phase, pipelined or not."""
    began = time.perf_counter()
    prof = setup.profile
    gen = setup.generator
    kw = dict(cpus=setup.cpus_load, timeout=setup.slack)
    warm = None
    with (setup.serving() as server, gen.reach(server.port, setup.cpus_load) as target,
          PeakSampler(server.running.tree_memory) as sampler, _held_idle(server) as still_answers):
        try:
            probed, probe = probe_rate(server.port)
        except CaseFailure:
            server.check_alive("the single-connection probe before the load", grace=1.0)  # a dead server says so
            raise
        primer = _checked(gen.wrk(target, connections=min(PRIMER_CONNECTIONS, phase.connections),
                                  duration=PRIMER_SECONDS, **kw), server, "the primer")
        if prof.warmup:
            warm = _checked(gen.wrk(target, connections=phase.connections, duration=prof.warmup,
                                    pipeline=phase.pipeline, **kw), server, "the warm-up")
        # the measured load, and `repeats` - 1 more in the same server's life: each rate is one value
        loads = [_checked(gen.wrk(target, connections=phase.connections, duration=prof.min_duration,
                                  pipeline=phase.pipeline, settling=setup.settling, **kw), server,
                          "the measured load" + (f" (repetition {i + 1} of {prof.repeats})" if i else ""))
                 for i in range(max(1, prof.repeats))]
        still_answers()
        server.check_quiet()
    stopped = server.stop()
    load = loads[0]
    for again in loads:
        broken = broken_load(again, phase.connections, probe)
        if broken:
            raise CaseFailure("verify_failed", broken)
    served = (probed + primer.requests + (warm.requests if warm else 0) + sum(x.requests for x in loads)
              + HELD_REQUESTS)
    loadgen_cpu = load.cpu_utilisation / len(setup.cpus_load)
    ceiling = setup.ceilings.of("wrk", phase.pipeline, phase.connections) if setup.ceilings else None
    loadavg, flags = load_averages(), []
    bound = bound_flag("wrk", loadgen_cpu, len(setup.cpus_load), load.rate, ceiling)
    if bound:
        flags.insert(0, bound)
    unsettled = [x for x in loads if x.settled is not None and x.settled.reason == "max_duration"]
    if unsettled:
        flags.append(f"rate did not settle: {unsettled[0].settled.describe()}")
    detail = PhaseDetail(phase.kind, served, loadavg, stopped.returncode, load=load, primer=LoadSummary.of(primer),
                         warmup=LoadSummary.of(warm), loadgen_cpu=round(loadgen_cpu, 4), bound=bound is not None,
                         ceiling_qps=round(ceiling.qps, 1) if ceiling else None, probe_qps=round(probe, 1),
                         peak_memory=sampler.peaks(), repeat_rates=tuple(x.rate for x in loads[1:]),
                         **_placement(gen, served))
    return setup.result(phase.label, setup.params(phase), "ok", began=began, server=stopped, baseline=baseline,
                        detail=detail, flags=flags)


def _open(setup: Setup, phase: Phase, baseline: Rusage, best_qps: float, connections: int) -> CaseResult:
    began = time.perf_counter()
    prof = setup.profile
    ceiling = setup.ceilings.of("oha", 1, connections) if setup.ceilings else None
    target, reference, why = open_target(phase.rate, best_qps, ceiling)
    gen = setup.generator
    kw = dict(cpus=setup.cpus_load, timeout=setup.slack)
    warm = None
    with (setup.serving() as server, gen.reach(server.port, setup.cpus_load) as to,
          PeakSampler(server.running.tree_memory) as sampler):
        primer = _checked(gen.wrk(to, connections=PRIMER_CONNECTIONS, duration=PRIMER_SECONDS, **kw),
                          server, "the primer")
        if prof.warmup:
            warm = _checked(gen.oha(to, rate=target, connections=connections, duration=prof.warmup,
                                    per_request=False, **kw), server, "the warm-up")
        load = _checked(gen.oha(to, rate=target, connections=connections, duration=prof.min_duration,
                                **kw), server, "the measured load")
        server.check_quiet()
    stopped = server.stop()
    served = primer.requests + (warm.requests if warm else 0) + load.requests
    # The measured run's CPU includes oha writing one sqlite row per request after the load;
    # the warm-up at the same rate, which keeps no rows, gives the generator's utilisation.
    loadgen_cpu = warm.cpu_utilisation / len(setup.cpus_load) if warm else None
    loadavg, flags = load_averages(), []
    short = load.qps < SHORT_OF_RATE * target
    if short:
        flags.insert(0, f"{SHORT_PREFIX} achieved {load.qps:,.0f} req/s of the {target:,.0f} req/s asked; its "
                        "latencies describe a backlog, not the server at this rate (kept in run.json, not reported)")
    if loadgen_cpu is not None and loadgen_cpu >= SATURATED:
        flags.append(f"load generator saturated: oha kept {loadgen_cpu:.0%} of its {len(setup.cpus_load)} CPU(s) "
                     "busy at this rate in the warm-up")
    if reference != best_qps:
        flags.append(f"rate is a fraction of {why}")
    if ceiling is None:
        flags.append("oha's ceiling was not measured: the target was not capped to what it sustains")
    detail = PhaseDetail("open", served, loadavg, stopped.returncode, load=load, primer=LoadSummary.of(primer),
                         warmup=LoadSummary.of(warm),
                         loadgen_cpu=None if loadgen_cpu is None else round(loadgen_cpu, 4),
                         target_qps=round(target, 1), reference_qps=round(reference, 1), reference=why,
                         rate_short=short, ceiling_qps=round(ceiling.qps, 1) if ceiling else None,
                         peak_memory=sampler.peaks(), **_placement(gen, served))
    params = setup.params(phase, target_qps=round(target, 1), connections=connections)
    return setup.result(phase.label, params, "ok", began=began, server=stopped, baseline=baseline, detail=detail,
                        flags=flags)


def _idle_once(setup: Setup, phase: Phase, hold: float | None) -> tuple[IdleMeasurement, ChildResult, MemoryPeaks]:
    """One fresh server with the idle connections open: its memory reading, the stopped server, its peaks.
    The connections are held `hold` seconds and must then answer (None: the memory is read only)."""
    with setup.serving() as server, PeakSampler(server.running.tree_memory) as sampler:
        try:
            with Connection(server.port) as conn:
                for _ in range(IDLE_PRIMER_REQUESTS):
                    conn.get("/plaintext")
        except ProtocolError as e:
            server.check_alive("the idle phase's primer")
            raise CaseFailure("verify_failed", f"the idle phase's primer: {e}") from None
        try:
            m = measure_idle(server.port, phase.connections, server.running.tree_memory,
                             timeout=min(IDLE_TIMEOUT, setup.slack), hold=hold)
        except IdleError as e:
            server.check_alive(f"the idle connections ({e})")
            raise CaseFailure("verify_failed",
                              f"{phase.connections} idle connections: {e}{server.stderr_note()}") from None
        server.check_alive("the idle connections")
    return m, server.stop(), sampler.peaks()


def _idle(setup: Setup, phase: Phase, baseline: Rusage) -> CaseResult:
    """The idle phase: a fresh server's memory with the idle connections open, read on `repeats` fresh servers
    (a server's memory is read once in its life: each repetition is a process of its own). Only the first
    holds the connections idle for `idle_hold` and checks that every one still answers; the others read the
    memory only."""
    began = time.perf_counter()
    m, stopped, peaks = _idle_once(setup, phase, setup.profile.idle_hold)
    more = tuple(_idle_once(setup, phase, None)[0] for _ in range(setup.profile.repeats - 1))
    served = (IDLE_PRIMER_REQUESTS + phase.connections) * (1 + len(more))
    loadavg, flags = load_averages(), []
    detail = PhaseDetail("idle", served, loadavg, stopped.returncode, idle=m, peak_memory=peaks, idle_repeats=more)
    return setup.result(phase.label, setup.params(phase), "ok", began=began, server=stopped, baseline=baseline,
                        detail=detail, flags=flags)


def _startup(setup: Setup, phase: Phase, baseline: Rusage) -> CaseResult:
    began = time.perf_counter()
    starts = [time_one_start(setup.start, setup.cpus_load, setup.slack) for _ in range(phase.runs)]
    loadavg, flags = load_averages(), []
    detail = PhaseDetail("startup", len(starts), loadavg, 0,
                         startup_seconds=tuple(round(s.seconds, 6) for s in starts))
    return setup.result(phase.label, setup.params(phase), "ok", began=began, server=[s.process for s in starts],
                        baseline=baseline, detail=detail, flags=flags)


def _guard(setup: Setup, phase: Phase, run: Callable[..., CaseResult], *args: object) -> CaseResult:
    """Run one phase; its failure becomes the case's status and message, never an exception.

    A phase whose generator host went away (LostGenerator) runs once more, on a fresh server,
    when another generator host took over; otherwise it is `lost`, naming the host.
    """
    began = time.perf_counter()
    for attempt in (1, 2):
        try:
            return run(setup, phase, *args)
        except LostGenerator as f:
            if attempt == 1 and setup.generator.take_over():
                continue
            return setup.result(phase.label, setup.params(phase), f.status, str(f), began=began)
        except CaseFailure as f:
            return setup.result(phase.label, setup.params(phase), f.status, str(f), began=began)
        except LoadgenError as e:
            return setup.result(phase.label, setup.params(phase), "crashed", f"load generator: {e}", began=began)
    raise AssertionError("unreachable")


def _placement(gen: Generator, served: int) -> dict[str, object]:
    """Where a load phase's generator ran, and what the relay to it cost (PhaseDetail fields)."""
    relay, cost = gen.relay, None
    if relay is not None and relay.wall > 0:
        cost = {**relay.as_dict(), "cpu_per_request": relay.cpu / served if served else None}
    return {"layout": gen.layout, "loadgen_host": gen.host, "relay": cost}


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
    tools = {"wrk": setup.generator.find("wrk"), "oha": setup.generator.find("oha")}
    try:
        baseline = _baseline(setup)
    except CaseFailure as f:
        yield from status_cases(setup, phases, f.status, f"start-up baseline: {f}")
        return
    best: tuple[float, int] | None = None  # (qps, connections) of the best non-pipelined closed loop
    for phase in phases:
        missing = [t for t in NEEDS[phase.kind] if tools[t] is None]
        if missing:
            yield setup.result(phase.label, setup.params(phase), "skipped",
                               "; ".join(f"{t} not found: {INSTALL_HINTS[t]}" for t in missing))
            continue
        connections = best[1] if phase.kind == "open" and best else phase.connections
        problem = capacity_problem(connections) if connections else None
        if problem:
            yield setup.result(phase.label, setup.params(phase), "skipped", f"this host: {problem}")
            continue
        if phase.kind in ("closed", "pipelined"):
            r = _guard(setup, phase, _closed, baseline)
            if phase.kind == "closed" and r.status == "ok" and r.detail and r.detail.load:
                qps = r.detail.load.rate
                if best is None or qps > best[0]:
                    best = (qps, phase.connections)
        elif phase.kind == "open":
            if best is None:
                yield setup.result(phase.label, setup.params(phase), "skipped",
                                   "no closed-loop saturation throughput to scale the rate from "
                                   "(every closed-loop phase failed, or none ran before it)")
                continue
            r = _guard(setup, phase, _open, baseline, *best)
        elif phase.kind == "startup":
            r = _guard(setup, phase, _startup, baseline)
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
                     executor_name: str | None = None, ceilings: Ceilings | None = None,
                     generator: Generator = LOCAL) -> list[CaseResult]:
    """Every case of one implementation variant on a server workload, in order."""
    return list(iter_server_cases(make_setup(executor, impl, variant, workload, profile, cpus_server, cpus_load,
                                             timeout=timeout, executor_name=executor_name, ceilings=ceilings,
                                             generator=generator)))


def make_setup(executor: Executor, impl: Impl, variant: Variant, workload: Workload, profile: str | ServerProfile,
               cpus_server: Sequence[int], cpus_load: Sequence[int], *, timeout: float | None = None,
               executor_name: str | None = None, ceilings: Ceilings | None = None,
               generator: Generator = LOCAL) -> Setup:
    """A server unit's setup; `profile` is a profile's name (looked up in the workload) or its resolved settings."""
    settings = workload.servers[profile] if isinstance(profile, str) else profile
    return Setup(executor, impl, variant, workload, settings, tuple(cpus_server), tuple(cpus_load),
                 executor_name or executor.name, timeout or READY_TIMEOUT, ceilings, generator)
