"""The server kind: a long-running program under load, one case per load phase.

The phases of one implementation variant form one unit: they share a start-up baseline, and
the open-loop rates are fractions of the best closed-loop throughput measured before them.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from harness.errors import UserError
from harness.kinds.base import PlanContext, RunContext
from harness.kinds.server.bound import Ceilings
from harness.kinds.server.cases import (
    PRIMER_SECONDS,
    make_setup,
    measure_phases,
    phase_of,
    phase_params,
    phases_for,
    split_cpus,
    verify_case,
)
from harness.kinds.server.check import IDLE_HOLD
from harness.kinds.server.detail import PhaseDetail
from harness.kinds.server.generator import LOCAL, Generator
from harness.kinds.server.headroom import Probe, measure_probes
from harness.kinds.server.loadgen import LoadgenError
from harness.kinds.server.probe import PROBE_SECONDS
from harness.kinds.server.rows import server_rows
from harness.kinds.server.server import READY_TIMEOUT
from harness.kinds.server.terminal import server_table
from harness.manifests.model import PROFILES, Impl, ServerProfile, Variant, Workload
from harness.manifests.toml import TableReader, profile_tables
from harness.measure.metrics import Row
from harness.measure.outcome import CaseFailure, CaseKey, CaseResult
from harness.measure.start_times import MIN_STARTS
from harness.plan.spec import CaseSpec
from harness.vocab import Status, fmt_bytes, fmt_rate, fmt_seconds

START_GUESS = 1.0  # seconds to start a server, wait for it to be ready, and stop it (a JVM: about 0.5)
# Seconds of verification and the start-up baseline, once per implementation variant, besides verification's
# idle hold (7 s, or the run profile's verify_idle_hold), which runs beside its other checks (about 1.5 s).
UNIT_GUESS = 3.0
CHECKS_GUESS = 1.5


def _unit_guess(workload: Workload, profile: ServerProfile) -> float:
    hold = profile.verify_idle_hold or max(IDLE_HOLD, workload.servers["verify"].idle_hold)
    return UNIT_GUESS + max(hold, CHECKS_GUESS)


def _read_profile(p: TableReader, prof: str) -> ServerProfile:
    """One [profiles.<name>] table of a server workload, every field checked against the others."""
    def counts(key: str, help: str) -> tuple[int, ...]:
        values = p.numbers(key, help)
        if any(v != int(v) for v in values):
            raise p.fail(key, f"must list whole numbers ({help})")
        return tuple(int(v) for v in values)

    connections = counts("connections", "closed-loop connection counts")
    pipelined = counts("pipelined_connections", "connection counts of the pipelined closed loop")
    depth = p.int("pipeline_depth", "requests written at once per pipelined connection", required=False,
                  default=16)
    if depth < 2:
        raise p.fail("pipeline_depth", "must be at least 2 (TechEmpower's plaintext test pipelines 16)")
    rates = p.numbers("rates", "open-loop rates as fractions of saturation")
    if any(r > 1 for r in rates):
        raise p.fail("rates", "must be fractions of saturation in (0, 1]")
    min_duration = p.number("min_duration", "seconds a measured load runs at least")
    max_duration = p.number("max_duration", "seconds a measured load runs at most, stopping once its rate has "
                                             "settled", required=False, default=min_duration)
    if min_duration < 1 or max_duration < min_duration:
        raise p.fail("max_duration", f"must be >= min_duration >= 1 (min_duration {min_duration:g}, max_duration "
                                     f"{max_duration:g})")
    window = p.int("settle_window", "one-second rates that must agree before a load stops early", required=False,
                   default=3)
    tolerance = p.number("settle_tolerance", "how far (a fraction of their mean) those rates may spread",
                         required=False, default=0.05)
    if max_duration > min_duration and not (1 <= window <= min_duration and 0 < tolerance < 1):
        raise p.fail("settle_window", f"must be 1..min_duration and settle_tolerance in (0, 1) when max_duration > "
                                      f"min_duration (settle_window {window}, settle_tolerance {tolerance:g})")
    runs = p.int("startup_runs", "fresh starts timed to the first answer (0: no start-up phase)", required=False,
                 default=0)
    if 0 < runs < MIN_STARTS:
        raise p.fail("startup_runs", f"must be 0 or at least {MIN_STARTS} (a median of cold starts)")
    repeats = p.int("repeats", "measured repetitions of the closed-loop, pipelined and idle phases", required=False,
                    default=1)
    if repeats < 1:
        raise p.fail("repeats", f"must be a whole number >= 1, not {repeats}")
    profile = ServerProfile(
        repeats=repeats, connections=connections, rates=rates, min_duration=min_duration, max_duration=max_duration,
        warmup=p.number("warmup", "seconds of warm-up load"),
        idle_connections=p.int("idle_connections", "idle keep-alive connections for memory"),
        idle_hold=p.number("idle_hold", "seconds the idle connections are held before each must still answer; "
                           "longer than common keep-alive timeouts (Node 5 s)", required=False, default=7.0),
        settle_window=window, settle_tolerance=tolerance, pipelined_connections=pipelined, pipeline_depth=depth,
        startup_runs=runs,
        verify_idle_hold=p.number("verify_idle_hold", "seconds a run of this profile holds the verification's idle "
                                  "connection (default: the verify profile's idle_hold)", required=False, default=0.0),
    )
    if profile.verify_idle_hold < 0:
        raise p.fail("verify_idle_hold", f"must be 0 (the verify profile's hold) or more seconds, not "
                                         f"{profile.verify_idle_hold:g}")
    if prof != "verify" and rates and not connections:
        raise p.fail("rates", "need closed-loop connections to scale from")
    p.reject_unknown()
    return profile


def _read_workload(r: TableReader, common: Mapping[str, Any]) -> Workload:
    servers = {prof: _read_profile(p, prof)
               for prof, p in profile_tables(r, "the load phases of this profile").items()}
    assert set(servers) == set(PROFILES)
    return Workload(**common, servers=servers)


def _guess(params: Mapping[str, Any], repeats: int = 1) -> float:
    phase = params["phase"]
    if phase == "idle":
        reading = START_GUESS + 1.0 + int(params["connections"]) / 5000  # start, primer, open, memory readings
        return reading * repeats + float(params["hold"])
    if phase == "startup":
        return int(params["runs"]) * START_GUESS
    probe = PROBE_SECONDS if phase != "open" else 0.0
    loads = repeats if phase in ("closed", "pipelined") else 1
    return START_GUESS + probe + PRIMER_SECONDS + float(params["warmup"]) + loads * float(params["min_duration"])


def _layout(cpus: Sequence[int], load: Sequence[int], generator: Generator = LOCAL) -> tuple:
    """What the generators' ceilings depend on: the CPUs on both sides and where the generator runs."""
    return tuple(cpus), tuple(load), generator.key


class ServerKind:
    """The server kind. It keeps the generators' ceilings it measured, per CPU layout, for the run's phases."""

    name = "server"

    def __init__(self) -> None:
        self._ceilings: dict[tuple, Ceilings] = {}

    def read_workload(self, r: TableReader, common: Mapping[str, Any]) -> Workload:
        return _read_workload(r, common)

    def plan(self, ctx: PlanContext, impl: Impl, variant: Variant, workload: Workload) -> list[CaseSpec]:
        server, load = split_cpus(ctx.cpus, ctx.allowed_cpus)
        profile = workload.servers[ctx.profile]
        settings = profile.as_settings()  # the run reads them from the spec, not from the manifest by profile
        args = ["http_server", "--port", "{port}", "--cpus", str(len(server))]
        command = tuple(ctx.executor.argv(impl, variant, args, len(server)))
        specs = []
        for i, phase in enumerate(phases_for(profile)):
            params = phase_params(phase, profile)
            reason = impl.unsupported_reason(workload.name, params, variant.name)
            specs.append(CaseSpec(
                kind=self.name, workload=workload.name, case=phase.label, impl=impl.id, variant=variant.name,
                language=impl.language, model=impl.model, profile=ctx.profile, executor=ctx.executor.name,
                params=params, cpus=server, load_cpus=load, command=command, processes=1, settings=settings,
                timeout=ctx.timeout or READY_TIMEOUT, status=Status.UNSUPPORTED.value if reason else "",
                reason=reason or "",
                estimate=0.0 if reason else (_guess(params, profile.repeats)
                                             + (_unit_guess(workload, profile) if i == 0 else 0.0))))
        return specs

    def units(self, specs: Sequence[CaseSpec]) -> list[list[CaseSpec]]:
        groups: dict[tuple, list[CaseSpec]] = {}
        for s in specs:
            groups.setdefault((s.workload, s.impl, s.variant, s.cpus, s.load_cpus), []).append(s)
        return list(groups.values())

    def verify(self, ctx: RunContext, impl: Impl, variant: Variant, workload: Workload,
               cpus: tuple[int, ...]) -> list[CaseResult]:
        """The verify profile's checks; in a run whose profile names a `verify_idle_hold` (smoke), the idle
        keep-alive connection is held that long instead (the run's profile is in `ctx.environment`)."""
        server, load = split_cpus(cpus, sorted(os.sched_getaffinity(0)))
        setup = make_setup(ctx.executor, impl, variant, workload, "verify", server, load, timeout=ctx.timeout)
        running = workload.servers.get(str(ctx.environment.get("profile", "")))
        return [verify_case(setup, idle_hold=running.verify_idle_hold if running else 0.0)]

    def execute(self, ctx: RunContext, unit: Sequence[CaseSpec]) -> Iterator[CaseResult]:
        first = unit[0]
        workload, impl, variant = ctx.catalog.resolve(first)
        generator = ctx.loadgen or LOCAL  # a cluster host may place the generator on a host of its own
        layout = _layout(first.cpus, first.load_cpus, generator)
        if layout not in self._ceilings and first.load_cpus:  # a plan run without before_run, or a new generator
            record, self._ceilings[layout] = self._measure(ctx, [s for s in unit if not s.status], generator)
            generator.note_headroom(record)
        setup = make_setup(ctx.executor, impl, variant, workload, ServerProfile.from_settings(first.settings),
                           first.cpus, first.load_cpus,
                           timeout=first.timeout, ceilings=self._ceilings.get(layout), generator=generator)
        yield from measure_phases(setup, [phase_of(s.params) for s in unit])

    def rows(self, result: CaseResult, workload: Workload) -> Iterator[Row]:
        return server_rows(result)

    def progress(self, result: CaseResult) -> str:
        d = result.detail
        if isinstance(d, PhaseDetail) and d.startup_seconds:
            return f"ready in {fmt_seconds(statistics.median(d.startup_seconds))} (median of {len(d.startup_seconds)})"
        if isinstance(d, PhaseDetail) and d.idle is not None:
            return (f"{d.idle.connections} idle connections: {fmt_bytes(d.idle.per_connection)} each, "
                    f"{fmt_bytes(d.idle.memory_with)} in all ({d.idle.kind})")
        if not isinstance(d, PhaseDetail) or d.load is None:
            return "ok"
        text = ("≥ " if d.bound else "") + f"{fmt_rate(d.load.rate)} requests" + (" (load-generator bound)"
                                                                               if d.bound else "")
        if d.server_latency:
            text += f", p99 {fmt_seconds(d.server_latency.p99)}"
        if d.load.settled is not None and d.load.settled.reason != "fixed":
            text += f", {d.load.settled.reason} after {d.load.settled.seconds:.0f} s"
        return text

    def table(self, results: Sequence[CaseResult], rows: Mapping[CaseKey, Sequence[Row]]) -> str:
        return server_table(results, rows)

    def read_detail(self, d: Mapping[str, Any]) -> PhaseDetail:
        return PhaseDetail.from_dict(d)

    def _measure(self, ctx: RunContext, specs: Sequence[CaseSpec],
                 generator: Generator = LOCAL) -> tuple[dict[str, Any], Ceilings]:
        """The generators' ceilings for the load phases of `specs` (one CPU layout, one generator place): run.json's
        record and Ceilings."""
        if not specs:
            return {}, Ceilings()
        first = specs[0]
        if not first.load_cpus:
            return {"error": "no CPU left for the load generator"}, Ceilings(error="no CPU left")
        closed = sorted({int(s.params["connections"]) for s in specs if s.params["phase"] == "closed"})
        pipelined = sorted({(int(s.params["connections"]), int(s.params["pipeline"])) for s in specs
                            if s.params["phase"] == "pipelined"})
        has_open = any(s.params["phase"] == "open" for s in specs)
        probes = [Probe("wrk", c) for c in closed] + [Probe("wrk", c, depth) for c, depth in pipelined]
        probes += [Probe("oha", c) for c in closed] if has_open else []
        if not probes:
            return {"error": "no load phase"}, Ceilings(error="no load phase")
        duration = float(next(s.params["min_duration"] for s in specs if "min_duration" in s.params))
        try:
            found = measure_probes(first.cpus, first.load_cpus, duration=duration, probes=probes, generator=generator)
        except (UserError, LoadgenError, CaseFailure) as e:  # CaseFailure: the relay, or a lost generator host
            return {"error": str(e)}, Ceilings(error=str(e))
        for mode in dict.fromkeys((h.tool, h.mode) for h in found):
            best = max((h for h in found if (h.tool, h.mode) == mode), key=lambda h: h.load.qps)
            where = f" on host {generator.host} (through the relay)" if generator.host else ""
            ctx.console.say(f"load generator headroom: {best.tool} ({best.mode}){where} {best.load.qps:,.0f} req/s "
                            f"against a trivial responder at {best.connections} connections (generator CPU "
                            f"{best.loadgen_cpu:.2f}, responder CPU {best.responder_cpu:.2f})")
        record: dict[str, Any] = {"runs": [h.as_dict() for h in found]}
        if generator.host:
            record.update(layout=generator.layout, loadgen_host=generator.host)
        return record, Ceilings.from_record(record)

    def before_run(self, ctx: RunContext, specs: Sequence[CaseSpec]) -> dict[str, Any]:
        """The generators' ceilings on the load CPUs against a trivial responder on the server CPUs.

        Kept for the run's phases (bound.py: which figures the generator limited, how fast oha
        may be asked to go) and recorded for the report.
        """
        measured = [s for s in specs if not s.status]
        if not measured:
            return {}
        self._ceilings = {}  # a new run measures afresh
        layouts: dict[tuple, list[CaseSpec]] = {}
        for s in measured:
            layouts.setdefault(_layout(s.cpus, s.load_cpus), []).append(s)
        records = []
        for layout, group in layouts.items():
            record, self._ceilings[layout] = self._measure(ctx, group)
            records.append(record)
        return {"loadgen_headroom": records[0] if len(records) == 1 else {"layouts": records}}
