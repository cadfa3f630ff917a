"""Which host measured each case, in which environment and HTTP layout: the groups figures are ranked within.

A run on several hosts (a cluster or merged run: run.json `hosts`, and a `host` per case) may mix
machines. Figures from hosts with different environment fingerprints (harness/host/fingerprint.py: CPU
model and count, kernel, executor, CPUs, profile) are never ranked as if they came from one
machine, and neither are HTTP figures whose load generator ran in different layouts (on the
server's host, or on a host of its own: a case's `extra.layout`). `comparability` gives each case
its group; the overview and workload tables rank within a group and name each group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.host.fingerprint import Fingerprint, fingerprint
from reports.data import Run

SEPARATE = "separate"  # harness/kinds/server/generator.py SEPARATE


@dataclass(frozen=True)
class Group:
    """Cases that may be ranked together: one fingerprint, one generator layout."""

    key: tuple[str, str]  # (fingerprint key, layout: "" for a case without a load generator)
    label: str  # "A", "B", ... in the order the run stored its cases
    fingerprint: Fingerprint
    hosts: tuple[str, ...]
    layout: str

    @property
    def name(self) -> str:
        """How a table names the group: its fingerprint's letter, and the layout when the generator had a host."""
        return self.label + (" · separate generator" if self.layout == SEPARATE else "")

    @property
    def text(self) -> str:
        where = f"host{'s' if len(self.hosts) > 1 else ''} {', '.join(self.hosts)}" if self.hosts else "no host"
        layout = {SEPARATE: "; load generator on a host of its own", "same-host": "; load generator on the "
                  "server's host"}.get(self.layout, "")
        return f"{self.name}: {self.fingerprint.text} ({where}){layout}"


def host_fingerprints(run: Run) -> dict[str, Fingerprint]:
    """Host name -> the fingerprint of the cases it measured (run.json `hosts`; the run's own `host` else)."""
    hosts = run.meta.get("hosts") or {}
    out = {str(name): fingerprint(run.meta, meta) for name, meta in hosts.items() if isinstance(meta, Mapping)}
    return out


def placement_text(host: str, layout: str, loadgen_host: str) -> str:
    """Where an HTTP figure's server and load generator ran, for a table cell."""
    if layout == SEPARATE:
        return f"separate: {loadgen_host or '?'} → {host or '?'}"
    if layout:
        return f"same host: {host}" if host else "same host"
    return ""


def comparability(run: Run) -> dict[tuple[str, str, str], Group]:
    """(workload, case, implementation) -> its group, for every case a host measured."""
    prints = host_fingerprints(run)
    own = fingerprint(run.meta)
    cases = run.cases
    found: dict[tuple[str, str], list[tuple[tuple[str, str, str], str]]] = {}
    for r in cases.itertuples():
        fp = prints.get(r.host, own) if r.host else own
        found.setdefault((fp.key, r.layout), []).append(((r.workload, r.case, r.implementation), r.host))
    out: dict[tuple[str, str, str], Group] = {}
    fps = {fp.key: fp for fp in [*prints.values(), own]}
    letters: dict[str, str] = {}  # one letter per fingerprint, in order of appearance
    for key, members in found.items():
        n = letters.setdefault(key[0], chr(ord("A") + len(letters)) if len(letters) < 26 else str(len(letters) + 1))
        hosts = tuple(sorted({h for _, h in members if h}))
        group = Group(key, n, fps[key[0]], hosts, key[1])
        for case, _ in members:
            out[case] = group
    return out


def several(groups: Mapping[tuple[str, str, str], Group], members) -> list[Group]:
    """The distinct groups of `members` ((workload, case, implementation) keys) in label order."""
    seen = {groups[m].key: groups[m] for m in members if m in groups}
    return sorted(seen.values(), key=lambda g: g.label)
