"""How fast the load generators can go on their CPUs: `cmbench loadgen-headroom`.

A measured server's throughput counts only if the generator had room to ask for more. This
runs each generator, closed loop, on the load CPUs against responder.c (an epoll server that
answers a fixed response to every request it finds and parses nothing else) on the server
CPUs, and reports the rate and both sides' CPU utilisation; wrk also pipelined (16 requests per
connection written at once, as the pipelined phases send them). When the generator is at ~1.0
CPU per CPU and the responder is not, that rate is the generator's ceiling: a server measured
near it is limited by the generator (bound.py). A run records these ceilings in run.json
(`loadgen_headroom`) and each closed-loop phase its generator's utilisation (`loadgen_cpu`).

With a generator on a host of its own (generator.py `RemoteGenerator`, `cmbench loadgen-headroom
--cluster`), the responder stays on this host and the generator reaches it through the same relay
the phases use, so the ceiling is that layout's; the relay's CPU is reported beside it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UserError
from harness.kinds.server.generator import LOCAL, SAME_HOST, Generator
from harness.kinds.server.loadgen import INSTALL_HINTS, LoadResult
from harness.kinds.server.server import READY_TIMEOUT, free_port
from harness.measure.ccache import compiled
from harness.measure.process import RunningChild, child_env

SOURCE = Path(__file__).with_name("responder.c")
SATURATED = 0.9  # CPU time / (wall time x CPUs) from which a side counts as the bottleneck


def responder_path() -> Path:
    """The compiled responder, built on first use into the cache folder."""
    return compiled(SOURCE, "responder", flag_sets=(("-pthread",),))


@dataclass(frozen=True)
class Probe:
    """One headroom measurement to take: a tool, a connection count, a pipelining depth."""

    tool: str
    connections: int
    pipeline: int = 1


@dataclass(frozen=True)
class Headroom:
    tool: str
    connections: int
    load: LoadResult
    responder_cpu: float  # the responder's CPU time / (wall time x its CPUs)
    server_cpus: int
    load_cpus: int
    layout: str = SAME_HOST
    loadgen_host: str = ""
    relay_cpu: float | None = None  # the relay's CPU time / (wall time x the load CPUs it was pinned to)

    @property
    def loadgen_cpu(self) -> float:
        """The generator's CPU time / (wall time x its CPUs)."""
        return self.load.cpu_utilisation / self.load_cpus

    @property
    def pipeline(self) -> int:
        return self.load.pipeline

    @property
    def mode(self) -> str:
        return "pipelined" if self.pipeline > 1 else "closed"

    @property
    def bottleneck(self) -> str:
        gen = self.loadgen_cpu >= SATURATED
        srv = self.responder_cpu >= SATURATED
        if gen and not srv:
            return "load generator"
        if srv and not gen:
            return "responder"
        return "both" if gen else "neither (kernel or scheduling)"

    def as_dict(self) -> dict[str, object]:
        return {"tool": self.tool, "mode": self.mode, "pipeline": self.pipeline, "connections": self.connections,
                "qps": round(self.load.qps, 1),
                "loadgen_cpu": round(self.loadgen_cpu, 3), "responder_cpu": round(self.responder_cpu, 3),
                "server_cpus": self.server_cpus, "load_cpus": self.load_cpus, "bottleneck": self.bottleneck,
                "errors": self.load.errors.total + self.load.non_2xx, "layout": self.layout,
                **({"loadgen_host": self.loadgen_host} if self.loadgen_host else {}),
                **({"relay_cpu": round(self.relay_cpu, 3)} if self.relay_cpu is not None else {})}


def _one(gen: Generator, probe: Probe, cpus_server: Sequence[int], cpus_load: Sequence[int],
         duration: float) -> Headroom:
    port = free_port()
    responder = RunningChild([str(responder_path()), "--port", str(port), "--threads", str(len(cpus_server))],
                             cwd=Path.cwd(), env=child_env(), cpus=cpus_server)
    try:
        line = responder.read_line(READY_TIMEOUT)
        if not line or '"ready": true' not in line:
            raise UserError(f"{SOURCE}: the responder did not start: {responder.stderr_text().strip()[-200:]}")
        with gen.reach(port, cpus_load) as target:
            if probe.tool == "wrk":
                load = gen.wrk(target, connections=probe.connections, duration=duration, cpus=cpus_load,
                               timeout=READY_TIMEOUT, pipeline=probe.pipeline)
            else:
                load = gen.oha(target, rate=None, connections=probe.connections, duration=duration, cpus=cpus_load,
                               timeout=READY_TIMEOUT, per_request=False)
    finally:
        stopped = responder.stop()
    ru = stopped.rusage
    busy = (ru.user + ru.system) / (load.wall * len(cpus_server)) if load.wall else 0.0
    relay = gen.relay
    relay_cpu = relay.cpu / (relay.wall * len(cpus_load)) if relay is not None and relay.wall > 0 else None
    return Headroom(probe.tool, probe.connections, load, busy, len(cpus_server), len(cpus_load), gen.layout,
                    gen.host, relay_cpu)


def probes_for(connections: Sequence[int], tools: Sequence[str] = ("wrk", "oha"),
               pipelined: Sequence[int] = (), pipeline: int = 16) -> list[Probe]:
    """Each tool at each connection count, then wrk pipelined at `pipelined` counts."""
    out = [Probe(t, c) for t in tools for c in connections]
    if "wrk" in tools:
        out += [Probe("wrk", c, pipeline) for c in pipelined]
    return out


def measure_probes(cpus_server: Sequence[int], cpus_load: Sequence[int], *, duration: float,
                   probes: Sequence[Probe], generator: Generator = LOCAL) -> list[Headroom]:
    """Each probe whose tool the generator has, against the responder; UserError when it has none."""
    tools = tuple(dict.fromkeys(p.tool for p in probes))
    found = {t: generator.find(t) for t in tools}
    if not any(found.values()):
        where = f" on host {generator.host}" if generator.host else ""
        raise UserError(f"no load generator found{where}: " + "; ".join(f"{t}: {INSTALL_HINTS[t]}" for t in tools))
    return [_one(generator, p, cpus_server, cpus_load, duration) for p in probes if found[p.tool]]


def measure_headroom(cpus_server: Sequence[int], cpus_load: Sequence[int], *, duration: float,
                     connections: Sequence[int], tools: Sequence[str] = ("wrk", "oha"),
                     pipelined: Sequence[int] = (), pipeline: int = 16,
                     generator: Generator = LOCAL) -> list[Headroom]:
    """Each available tool at each connection count (and wrk pipelined at `pipelined`) against the responder."""
    return measure_probes(cpus_server, cpus_load, duration=duration,
                          probes=probes_for(connections, tools, pipelined, pipeline), generator=generator)


def headroom_table(results: Sequence[Headroom]) -> str:
    """The measurements and what they mean, for the terminal."""
    from harness.vocab import fmt_rate, render_table

    relayed = any(h.relay_cpu is not None for h in results)
    rows = [[*([h.loadgen_host or "this host"] if relayed else []), h.tool,
             h.mode if h.pipeline == 1 else f"{h.mode} x{h.pipeline}", str(h.connections),
             fmt_rate(h.load.qps), f"{h.loadgen_cpu:.2f}", f"{h.responder_cpu:.2f}",
             *([f"{h.relay_cpu:.2f}" if h.relay_cpu is not None else "-"] if relayed else []), h.bottleneck,
             str(h.load.errors.total + h.load.non_2xx)] for h in results]
    text = render_table([*(["generator on"] if relayed else []), "generator", "mode", "connections", "QPS",
                         "generator CPU", "responder CPU",
                         *(["relay CPU"] if relayed else []), "bottleneck", "errors"], rows)
    lines = [text, ""]
    for tool, mode, host in dict.fromkeys((h.tool, h.mode, h.loadgen_host) for h in results):
        best = max((h for h in results if (h.tool, h.mode, h.loadgen_host) == (tool, mode, host)),
                   key=lambda h: h.load.qps)
        where = f" on host {host} through the relay" if host else ""
        rate = f"{tool} ({mode}){where}: up to {fmt_rate(best.load.qps)} on {best.load_cpus} CPU(s)"
        if best.bottleneck == "load generator":
            lines.append(f"{rate}, its ceiling: a server measured near this rate is limited by the generator")
        elif best.bottleneck == "responder":
            lines.append(f"{rate}, limited by the responder: the generator's ceiling is higher")
        else:
            lines.append(f"{rate}, a lower bound on its ceiling: neither side kept its CPUs busy "
                         f"(load average {os.getloadavg()[0]:.1f}: other processes may be competing)")
    lines.append("CPU columns: CPU time / (wall time x CPUs); responder: harness/kinds/server/responder.c, epoll, "
                 "no parsing, on the server CPUs")
    hosts = sorted({h.loadgen_host for h in results if h.loadgen_host})
    if hosts:
        lines.append(f"layout: the generator on host {', '.join(hosts)}, the responder here behind "
                     "harness/kinds/server/relay.c on this host's load CPUs (relay CPU)")
    return "\n".join(lines)
