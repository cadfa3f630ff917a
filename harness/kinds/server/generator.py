"""Where a server phase's load generator runs: on the server's host, or on a host of its own.

The phases (cases.py) ask a `Generator` for everything load-related: which tools it has, how a
server on 127.0.0.1:P is reached from it (`reach`), and to run wrk or oha against that target.

- `LocalGenerator` (the default): wrk and oha run here, on the load CPUs, against 127.0.0.1.
- `RemoteGenerator`: TechEmpower's layout. The tools run on a load-generator host (a cluster
  worker started with `--loadgen`); this host starts a relay (relay.c) on its own cluster
  address, pinned to the load CPUs the generator no longer uses here, that joins each
  connection to the server on 127.0.0.1:P. Jobs and their results travel through a `Link`
  (harness/cluster/loadgen.py implements it with Dask queues); `run_job` is what the
  generator's host does with one.

Why a relay rather than servers listening on another address: the implementation contract
says 127.0.0.1 (workloads/http_server/README.md), and every implementation keeps it, so a
server sees the same loopback connections in both layouts; what the relay costs is measured
(its CPU per request, `PhaseDetail.relay`) and reported. Why hand-written: it must hold 10,000
connections in one process, start unprivileged in a second with a ready line, and be pinned
and reaped like every other child; haproxy or socat would do the copying but come with their
own daemon configuration (haproxy) or a process per connection (socat's fork mode).
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.kinds.server.loadgen import LoadgenError, LoadResult, find_tool
from harness.kinds.server.oha import run_oha
from harness.kinds.server.server import READY_TIMEOUT, STOP_GRACE
from harness.kinds.server.settle import Settling
from harness.kinds.server.wrk import run_wrk
from harness.measure.ccache import compiled
from harness.measure.outcome import CaseFailure
from harness.measure.process import RunningChild, child_env

SAME_HOST = "same-host"
SEPARATE = "separate"
LAYOUTS = (SAME_HOST, SEPARATE)
JOB_SCHEMA = 1
TOOLS = ("wrk", "oha")
RELAY_SOURCE = Path(__file__).with_name("relay.c")
ANSWER_SLACK = 30.0  # seconds past a job's own time limit before its missing answer counts as a lost host
PROBE_TIMEOUT = 5.0  # seconds for the generator's host to open a TCP connection to the relay before a phase
PROBE = "probe"  # a Job's tool that only checks the generator's host reaches the target
CLOSED = "the connection was closed at once"


def relay_path() -> Path:
    return compiled(RELAY_SOURCE, "relay", flag_sets=(("-pthread",),))


@dataclass(frozen=True)
class Target:
    """Where the generator sends its requests."""

    host: str
    port: int


@dataclass
class RelayCost:
    """What the relay of one phase cost on the server's host: CPU seconds over wall seconds."""

    cpu: float = 0.0
    wall: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {"cpu": round(self.cpu, 4), "wall": round(self.wall, 3)}


class Generator(Protocol):
    layout: str  # SAME_HOST or SEPARATE
    host: str  # the generator's host ("" = the server's own)
    relay: RelayCost | None  # what the relay of the last phase cost (None: no relay)

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the generator's place (its layout and host), for the ceilings measured there."""

    def find(self, tool: str) -> str | None:
        """The tool's path where it runs, or None when it is missing there."""

    def reach(self, port: int, cpus: Sequence[int]) -> Any:
        """A context manager: the server on 127.0.0.1:`port` made reachable (a `Target`), `cpus` free for it here."""

    def wrk(self, target: Target, *, connections: int, duration: float, cpus: Sequence[int], timeout: float,
            pipeline: int = 1, settling: Settling | None = None) -> LoadResult: ...

    def oha(self, target: Target, *, rate: float | None, connections: int, duration: float, cpus: Sequence[int],
            timeout: float, per_request: bool = True) -> LoadResult: ...

    def take_over(self) -> bool:
        """After a phase lost its generator's host: whether another host took over (the phase then runs again)."""

    def note_headroom(self, record: Mapping[str, Any]) -> None:
        """Keep the ceilings measured through this generator (a run.json record), for the run to store."""


class LocalGenerator:
    """wrk and oha on this host's load CPUs, against 127.0.0.1."""

    layout = SAME_HOST
    host = ""

    def __init__(self) -> None:
        self.relay: RelayCost | None = None  # never a relay here

    @property
    def key(self) -> tuple[str, str]:
        return (self.layout, self.host)

    def find(self, tool: str) -> str | None:
        return find_tool(tool)

    @contextmanager
    def reach(self, port: int, cpus: Sequence[int]) -> Iterator[Target]:
        yield Target("127.0.0.1", port)

    def wrk(self, target: Target, *, connections: int, duration: float, cpus: Sequence[int], timeout: float,
            pipeline: int = 1, settling: Settling | None = None) -> LoadResult:
        return run_wrk(self._tool("wrk"), target.port, host=target.host, connections=connections, duration=duration,
                       cpus=cpus, timeout=timeout, pipeline=pipeline, settling=settling)

    def oha(self, target: Target, *, rate: float | None, connections: int, duration: float, cpus: Sequence[int],
            timeout: float, per_request: bool = True) -> LoadResult:
        return run_oha(self._tool("oha"), target.port, host=target.host, rate=rate, connections=connections,
                       duration=duration, cpus=cpus, timeout=timeout, per_request=per_request)

    def take_over(self) -> bool:
        return False

    def note_headroom(self, record: Mapping[str, Any]) -> None:
        pass  # a run's own before_run records this layout's ceilings

    def _tool(self, name: str) -> str:
        path = self.find(name)
        if path is None:
            raise LoadgenError(f"{name} not found on this host")
        return path


LOCAL = LocalGenerator()


# --- the separate layout -------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One load generator run, as it travels to the generator's host."""

    tool: str  # "wrk" or "oha"
    host: str
    port: int
    connections: int
    duration: float
    cpus: tuple[int, ...]
    timeout: float
    pipeline: int = 1
    settling: Settling | None = None
    rate: float | None = None
    per_request: bool = True
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    schema: int = JOB_SCHEMA

    @property
    def limit(self) -> float:
        """Seconds the job may take at most on the generator's host."""
        longest = self.settling.max_duration + 1 if self.settling else self.duration
        return longest + self.timeout

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cpus"] = list(self.cpus)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Job:
        if d.get("schema") != JOB_SCHEMA:
            raise LoadgenError(f"load generator job: schema {d.get('schema')!r}, this cmbench reads {JOB_SCHEMA}")
        s = d.get("settling")
        return cls(**{**d, "cpus": tuple(d["cpus"]), "settling": Settling(**s) if s else None})


def run_job(job: Job, find: Callable[[str], str | None] = find_tool) -> dict[str, Any]:
    """What a generator's host does with a job: run the tool, pinned, against the target; the answer as JSON values."""
    if job.tool == PROBE:
        return {"id": job.id, "unreachable": probe(job.host, job.port, job.timeout)}
    path = find(job.tool)
    try:
        if path is None:
            raise LoadgenError(f"{job.tool} not found on this host")
        if job.tool == "wrk":
            load = run_wrk(path, job.port, host=job.host, connections=job.connections, duration=job.duration,
                           cpus=job.cpus, timeout=job.timeout, pipeline=job.pipeline, settling=job.settling)
        else:
            load = run_oha(path, job.port, host=job.host, rate=job.rate, connections=job.connections,
                           duration=job.duration, cpus=job.cpus, timeout=job.timeout, per_request=job.per_request)
    except LoadgenError as e:
        return {"id": job.id, "error": str(e)}
    return {"id": job.id, "load": load.as_dict()}


def probe(host: str, port: int, timeout: float = PROBE_TIMEOUT, hold: float = 0.3) -> str:
    """Open a TCP connection to host:port and keep it `hold` seconds; "" when it stayed open, else why not (a relay
    that serves another peer address only closes it at once)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(hold)
            try:
                if sock.recv(1) == b"":
                    return CLOSED
            except TimeoutError:
                pass
            except ConnectionResetError:
                return CLOSED
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except OSError as e:
        return e.strerror or str(e)
    return ""


def tools_here() -> dict[str, str]:
    """The load generators this host has: tool -> path."""
    return {t: p for t in TOOLS if (p := find_tool(t)) is not None}


class LostGenerator(CaseFailure):
    """The generator's host went away (or stopped answering) during a phase: the phase is `lost`."""

    def __init__(self, host: str, why: str) -> None:
        super().__init__("lost", f"load generator host {host} {why}")
        self.host = host


class Unreachable(CaseFailure):
    """The generator's host cannot open a connection to the server's host: the network between them, not the
    implementation, so the phase is `lost` (at once, rather than after the phase's time limit)."""

    def __init__(self, host: str, server: str, target: Target, why: str) -> None:
        super().__init__("lost", f"network: load generator host {host} cannot reach host {server or 'of the server'} "
                                 f"at {target.host}:{target.port} ({why}); check the route and the firewalls between "
                                 "them (cluster addresses, the relay's ephemeral ports)")


class Link(Protocol):
    """The channel to the generator's host (harness/cluster/loadgen.py: Dask queues)."""

    def call(self, job: Job) -> Mapping[str, Any]:
        """Send `job`, return its answer; LostGenerator when the host goes away before answering."""

    def replacement(self) -> tuple[str, Mapping[str, str], str] | None:
        """After a loss: (host, tools, cluster address) of the host that took over, or None when none did in time."""


@contextmanager
def relay(address: str, port: int, cpus: Sequence[int], cost: RelayCost, allow: str = "") -> Iterator[Target]:
    """`relay.c` on `address` (any free port) joined to 127.0.0.1:`port`, pinned to `cpus`; stopped on the way out.

    `allow`: the one peer address it serves (the generator host's); `cost` gets the relay's CPU and wall seconds
    once it is stopped.
    """
    child = RunningChild([str(relay_path()), "--listen", address, "--port", "0", "--to", str(port),
                          "--threads", str(max(1, len(cpus))), *(["--allow", allow] if allow else [])],
                         cwd=Path.cwd(), env=child_env(), cpus=cpus)
    try:
        line = child.read_line(READY_TIMEOUT)
        try:
            ready = json.loads(line) if line else None
        except json.JSONDecodeError:
            ready = None
        if not isinstance(ready, dict) or not ready.get("ready"):
            raise CaseFailure("crashed", f"the relay to {address} did not start: {line!r}; "
                                         f"{child.stderr_text().strip()[-300:]}")
        yield Target(address, int(ready["port"]))
    finally:
        stopped = child.stop(STOP_GRACE)
        cost.cpu, cost.wall = stopped.rusage.user + stopped.rusage.system, stopped.wall


class RemoteGenerator:
    """wrk and oha on another host (`host`), reaching this host's servers through a relay on `address`."""

    layout = SEPARATE

    def __init__(self, link: Link, address: str, host: str, tools: Mapping[str, str], server: str = "",
                 peer: str = "") -> None:
        self.link = link
        self.address = address  # this host's address on the cluster's network
        self.server = server  # this host's name
        self.peer = peer  # the generator host's cluster address: the relay serves it only ("": any)
        self.host = host
        self.tools = dict(tools)
        self.lost = ""  # why the generator is gone for good, once no host took over
        self.relay: RelayCost | None = None  # the last phase's relay
        self.headroom: list[dict[str, Any]] = []  # ceilings measured through this generator (run.json)

    @property
    def key(self) -> tuple[str, str]:
        return (self.layout, self.host)

    def find(self, tool: str) -> str | None:
        return self.tools.get(tool)

    @contextmanager
    def reach(self, port: int, cpus: Sequence[int]) -> Iterator[Target]:
        if self.lost:
            raise LostGenerator(self.host, self.lost)
        self.relay = RelayCost()
        with relay(self.address, port, cpus, self.relay, self.peer) as target:
            self._check(target)
            yield target

    def _check(self, target: Target) -> None:
        """Before the phase's load: the generator's host opens one connection to the relay (Unreachable if not)."""
        answer = self.link.call(Job(PROBE, target.host, target.port, 1, 0.0, (), PROBE_TIMEOUT))
        why = str(answer.get("unreachable") or "")
        if why == CLOSED and self.peer:
            why += f" (the relay serves the generator host's cluster address {self.peer} only)"
        if why:
            raise Unreachable(self.host, self.server, target, why)

    def note_headroom(self, record: Mapping[str, Any]) -> None:
        self.headroom.append(dict(record))

    def take_over(self) -> bool:
        """After a lost phase: whether another generator host took over (then it is this generator's host)."""
        if self.lost:
            return False
        found = self.link.replacement()
        if found is None:
            self.lost = f"went away and no other load generator host took over (after {self.host})"
            return False
        self.host, tools, self.peer = found
        self.tools = dict(tools)
        return True

    def _run(self, job: Job) -> LoadResult:
        if self.lost:
            raise LostGenerator(self.host, self.lost)
        answer = self.link.call(job)
        if "error" in answer:
            raise LoadgenError(f"on host {self.host}: {answer['error']}")
        return LoadResult.from_dict(answer["load"])

    def wrk(self, target: Target, *, connections: int, duration: float, cpus: Sequence[int], timeout: float,
            pipeline: int = 1, settling: Settling | None = None) -> LoadResult:
        return self._run(Job("wrk", target.host, target.port, connections, duration, tuple(cpus), timeout,
                             pipeline=pipeline, settling=settling))

    def oha(self, target: Target, *, rate: float | None, connections: int, duration: float, cpus: Sequence[int],
            timeout: float, per_request: bool = True) -> LoadResult:
        return self._run(Job("oha", target.host, target.port, connections, duration, tuple(cpus), timeout,
                             rate=rate, per_request=per_request))
