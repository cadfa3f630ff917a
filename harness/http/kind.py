"""The server kind: a long-running program under load, one case per load phase.

The phases of one implementation variant form one unit: they share a start-up baseline, and
the open-loop rates are fractions of the best closed-loop throughput measured before them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..errors import UserError
from ..manifest import PROFILES, Impl, ServerProfile, TableReader, Variant, Workload, profile_tables
from ..metrics import Row
from ..outcome import CaseKey, CaseResult
from ..plan import CaseSpec, PlanContext, RunContext
from ..vocab import Status, fmt_rate, fmt_seconds
from .cases import (
    PRIMER_SECONDS,
    make_setup,
    measure_phases,
    phase_of,
    phase_params,
    phases_for,
    split_cpus,
    verify_case,
)
from .detail import PhaseDetail
from .headroom import measure_headroom
from .rows import server_rows
from .server import READY_TIMEOUT
from .table import server_table

START_GUESS = 2.0  # seconds to start a server, wait for it to be ready, and stop it
UNIT_GUESS = 4.0  # seconds of verification and the start-up baseline, once per implementation variant


def _read_workload(r: TableReader, common: Mapping[str, Any]) -> Workload:
    servers = {}
    for prof, p in profile_tables(r, "the load phases of this profile").items():
        servers[prof] = ServerProfile(
            connections=tuple(int(c) for c in p.numbers("connections", "closed-loop connection counts")),
            rates=p.numbers("rates", "open-loop rates as fractions of saturation"),
            duration=p.number("duration", "seconds per load phase"),
            warmup=p.number("warmup", "seconds of warm-up load"),
            idle_connections=p.int("idle_connections", "idle keep-alive connections for memory"),
            idle_hold=p.number("idle_hold", "seconds the idle connections are held before each must still "
                               "answer; longer than common keep-alive timeouts (Node 5 s)", required=False,
                               default=7.0),
        )
        p.reject_unknown()
    assert set(servers) == set(PROFILES)
    return Workload(**common, servers=servers)


def _guess(params: Mapping[str, Any]) -> float:
    if params["phase"] == "idle":
        return START_GUESS + 2.0 + float(params["hold"]) + int(params["connections"]) / 2000
    return START_GUESS + PRIMER_SECONDS + float(params["warmup"]) + float(params["duration"])


class ServerKind:
    name = "server"

    def read_workload(self, r: TableReader, common: Mapping[str, Any]) -> Workload:
        return _read_workload(r, common)

    def plan(self, ctx: PlanContext, impl: Impl, variant: Variant, workload: Workload) -> list[CaseSpec]:
        server, load = split_cpus(ctx.cpus, ctx.allowed_cpus)
        profile = workload.servers[ctx.profile]
        args = ["http_server", "--port", "{port}", "--cpus", str(len(server))]
        command = tuple(ctx.executor.argv(impl, variant, args, len(server)))
        specs = []
        for i, phase in enumerate(phases_for(profile)):
            params = phase_params(phase, profile)
            reason = impl.unsupported_reason(workload.name, params, variant.name)
            specs.append(CaseSpec(
                kind=self.name, workload=workload.name, case=phase.label, impl=impl.id, variant=variant.name,
                language=impl.language, model=impl.model, profile=ctx.profile, executor=ctx.executor.name,
                params=params, cpus=server, load_cpus=load, command=command, processes=1,
                timeout=ctx.timeout or READY_TIMEOUT, status=Status.UNSUPPORTED.value if reason else "",
                reason=reason or "", estimate=0.0 if reason else _guess(params) + (UNIT_GUESS if i == 0 else 0.0)))
        return specs

    def units(self, specs: Sequence[CaseSpec]) -> list[list[CaseSpec]]:
        groups: dict[tuple, list[CaseSpec]] = {}
        for s in specs:
            groups.setdefault((s.workload, s.impl, s.variant, s.cpus, s.load_cpus), []).append(s)
        return list(groups.values())

    def verify(self, ctx: RunContext, impl: Impl, variant: Variant, workload: Workload,
               cpus: tuple[int, ...]) -> list[CaseResult]:
        server, load = split_cpus(cpus, sorted(os.sched_getaffinity(0)))
        setup = make_setup(ctx.executor, impl, variant, workload, "verify", server, load, timeout=ctx.timeout)
        return [verify_case(setup)]

    def execute(self, ctx: RunContext, unit: Sequence[CaseSpec]) -> Iterator[CaseResult]:
        first = unit[0]
        workload, impl, variant = ctx.catalog.resolve(first)
        setup = make_setup(ctx.executor, impl, variant, workload, first.profile, first.cpus, first.load_cpus,
                           timeout=first.timeout)
        yield from measure_phases(setup, [phase_of(s.params) for s in unit])

    def rows(self, result: CaseResult, workload: Workload) -> Iterator[Row]:
        return server_rows(result)

    def progress(self, result: CaseResult) -> str:
        d = result.detail
        if not isinstance(d, PhaseDetail) or d.load is None:
            return "ok"
        text = f"{fmt_rate(d.load.qps)} requests"
        return text + (f", p99 {fmt_seconds(d.load.latency.p99)}" if d.load.latency else "")

    def table(self, results: Sequence[CaseResult], rows: Mapping[CaseKey, Sequence[Row]]) -> str:
        return server_table(results, rows)

    def read_detail(self, d: Mapping[str, Any]) -> PhaseDetail:
        return PhaseDetail.from_dict(d)

    def before_run(self, ctx: RunContext, specs: Sequence[CaseSpec]) -> dict[str, Any]:
        """wrk's ceiling on the load CPUs against a trivial responder on the server CPUs, for the report."""
        measured = [s for s in specs if not s.status]
        if not measured:
            return {}
        first = measured[0]
        closed = [int(s.params["connections"]) for s in measured if s.params["phase"] == "closed"]
        if not first.load_cpus or not closed:
            return {"loadgen_headroom": {"error": "no CPU left for the load generator" if not first.load_cpus
                                         else "no closed-loop phase"}}
        try:
            found = measure_headroom(first.cpus, first.load_cpus, duration=float(first.params["duration"]),
                                     connections=[max(closed)], tools=("wrk",))
        except UserError as e:
            return {"loadgen_headroom": {"error": str(e)}}
        best = max(found, key=lambda h: h.load.qps)
        ctx.console.say(f"load generator headroom: wrk {best.load.qps:,.0f} req/s against a trivial responder "
                        f"(wrk CPU {best.loadgen_cpu:.2f}, responder CPU {best.responder_cpu:.2f})")
        return {"loadgen_headroom": {"runs": [h.as_dict() for h in found]}}
