"""The controller's bookkeeping: hosts, units in flight, and how their faults are told."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.plan.spec import CaseSpec

if TYPE_CHECKING:
    from distributed import Future
from harness.cluster.identity import BENCH


@dataclass
class _Host:
    address: str
    name: str
    state: str = "preparing"  # preparing, ready, refused, gone
    reason: str = ""  # refused: why
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
    # The cases its current attempt reported so far (host, item): stored when the unit settles, so that a retried
    # unit is stored whole from the host that finished it; a new attempt drops them.
    partial: dict[str, tuple[str, dict]] = field(default_factory=dict)
    submitted: float = 0.0
    channel: str = ""  # split over two hosts: the channel to its load generator (cluster_loadgen.py)
    loadgen: _Host | None = None  # the generator host serving the channel now

    @property
    def http(self) -> bool:
        return self.cases[0].kind == "server"


class _Stop(Exception):
    """The run cannot go on (the scheduler or every host went away); the message says why."""


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

def _address_host(address: str) -> str:
    """A worker's address on the cluster's network (tls://10.0.0.4:4000 -> 10.0.0.4): whom a relay serves."""
    from distributed.comm import get_address_host

    return get_address_host(address)
