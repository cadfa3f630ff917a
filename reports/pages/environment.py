"""The environment of each run: machine, kernel, toolchains, executor, profile, commit, and the host's checks
(`cmbench system show`) that warned when it started."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.host.gate import BUSY_FLAG
from harness.vocab import fmt_bytes, fmt_seconds
from reports.data import Results, Run
from reports.pages.workload import slug
from reports.table import Cell, Table


@dataclass(frozen=True, eq=False)
class RunEnvironment:
    run: Run
    facts: Table
    toolchains: Table
    system_warnings: tuple[str, ...] = ()  # each check that warned, on each host: what could disturb the figures
    busy: str = ""  # why the host was busy while the run measured (load at start, cases flagged), or ""


BUSY_LOAD = 0.5  # load average at start per measured CPU above which the host counts as busy


def busy_text(run: Run) -> str:
    """Whether other work shared the host: its 1-minute load average at start against the CPUs measured on, and
    the cases the harness flagged `host busy` (harness/host/gate.py) while they ran."""
    load = run.host.get("loadavg")
    cpus = run.meta.get("cpus")
    count = len(cpus) if isinstance(cpus, list) and cpus else run.host.get("cpu_count") or 0
    flagged = sum(1 for r in run.cases.itertuples() if r.status == "ok"
                  and any(str(f).startswith(BUSY_FLAG) for f in r.flag_list))
    ok = int((run.cases["status"] == "ok").sum()) if len(run.cases) else 0
    parts = []
    if isinstance(load, list) and load and count and float(load[0]) > BUSY_LOAD * count:
        parts.append(f"the load average was {float(load[0]):.2f} when the run started, on {count} "
                     f"CPU{'s' if count != 1 else ''} measured on (more than {BUSY_LOAD:g} per CPU): other work "
                     "was running")
    if flagged:
        parts.append(f"{flagged} of {ok} finished cases were flagged host busy (other processes used the CPUs while "
                     "they were measured)")
    drift = run.meta.get("host_drift")
    if isinstance(drift, Mapping) and drift.get("steady") is False and isinstance(drift.get("cv"), int | float):
        robust = drift.get("robust_cv")
        moved = f"a spread of {robust:.1%}" if isinstance(robust, int | float) else f"a CV of {drift['cv']:.1%}"
        parts.append(f"the host's own thread hand-off, probed {drift.get('n')} times during the run, moved by "
                     f"{moved} (harness/host/drift.py): the host itself was not steady")
    cross = drift.get("cross") if isinstance(drift, Mapping) else None
    if isinstance(cross, Mapping) and cross.get("steady") is False and isinstance(cross.get("robust_cv"), int | float):
        parts.append(f"the host's thread hand-off across CPUs, probed {cross.get('n')} times during the run, moved by "
                     f"a spread of {cross['robust_cv']:.1%}: its `spread` figures, whose threads hand off across CPUs, "
                     "may not repeat more closely than that")
    return "; ".join(parts)


def drift_text(drift: Any) -> str:
    """`spread 1.0% (robust), CV 2.1% over 11 probes (1.2-1.3 us)` of run.json `host_drift` (`CV ...` alone for one
    recorded before `robust_cv`); `—` for a run without one."""
    if not isinstance(drift, Mapping) or not drift.get("n"):
        return f"not measured ({drift['skipped']})" if isinstance(drift, Mapping) and drift.get("skipped") else "—"
    cv, low, high = drift.get("cv"), drift.get("min"), drift.get("max")
    if not all(isinstance(x, int | float) for x in (low, high)):
        return "—"
    spread = f"{fmt_seconds(low / 1e9)}-{fmt_seconds(high / 1e9)}"
    if not isinstance(cv, int | float):
        return f"one probe ({spread})"
    robust = drift.get("robust_cv")
    how = f"spread {robust:.1%} (robust), CV {cv:.1%}" if isinstance(robust, int | float) else f"CV {cv:.1%}"
    return f"{how} over {drift['n']} probes ({spread}){'' if drift.get('steady') else ', not steady'}"


def _duration(run: Run) -> str:
    from datetime import datetime
    try:
        start = datetime.fromisoformat(run.meta["started"])
        end = datetime.fromisoformat(run.meta["finished"])
    except (KeyError, TypeError, ValueError):
        return "—"
    return f"{(end - start).total_seconds():.0f} s"


def _cpus(meta) -> str:
    cpus = meta.get("cpus")
    return f"{len(cpus)} ({', '.join(map(str, cpus))})" if isinstance(cpus, list) else str(cpus or "—")


def runs_table(results: Results) -> Table:
    rows = []
    for run in reversed(results.runs):
        m, git = run.meta, run.host.get("git") or {}
        counts = run.cases["status"].value_counts()
        ok = int(counts.get("ok", 0))
        rows.append([Cell(run.run_id, cls="mono"), m.get("status", "—"), m.get("started", "—"), _duration(run),
                     m.get("profile", "—"), m.get("executor", "—"), _cpus(m),
                     Cell(str(git.get("commit", "—"))[:12] + (" (dirty)" if git.get("dirty") else ""), cls="mono"),
                     Cell(f"{ok} / {len(run.cases)}", cls="num",
                          title=", ".join(f"{k}: {v}" for k, v in counts.items()))])
    return Table.build("runs", "Runs", ["run", "status", "started", "duration", "profile", "executor", "CPUs",
                                        "commit", "cases ok"], rows,
                       notes=["Newest first. dirty: the work tree had uncommitted changes."])


def _checks(system: Any) -> list[Mapping[str, Any]]:
    checks = system.get("checks") if isinstance(system, Mapping) else None
    return [c for c in checks if isinstance(c, Mapping)] if isinstance(checks, list) else []


def system_summary(system: Any) -> str:
    """`11 ok, 2 warn, 3 n/a` of a host's `system` report (run.json `host.system`); `—` for a run without one."""
    counts = Counter(str(c.get("status")) for c in _checks(system))
    return ", ".join(f"{counts[s]} {s}" for s in ("ok", "warn", "n/a", "info") if counts[s]) or "—"


def system_warnings(run: Run) -> tuple[str, ...]:
    """One line per check that warned when the run started, named by host when the run had several."""
    hosts = run.meta.get("hosts")
    named = hosts.items() if isinstance(hosts, Mapping) and len(hosts) > 1 else [("", run.host)]
    lines = []
    for name, host in named:
        system = host.get("system") if isinstance(host, Mapping) else None
        for c in _checks(system):
            if c.get("status") == "warn":
                lines.append(f"{name + ': ' if name else ''}{c.get('name')}: {c.get('state')}")
    return tuple(lines)


def run_environment(run: Run) -> RunEnvironment:
    m, h = run.meta, run.host
    git = h.get("git") or {}
    load = h.get("loadavg")
    facts = [
        ("run", run.run_id), ("status", m.get("status", "—")), ("started", m.get("started", "—")),
        ("finished", m.get("finished") or "—"), ("profile", m.get("profile", "—")),
        ("executor", m.get("executor", "—")), ("CPUs used", _cpus(m)),
        ("command", " ".join(m.get("argv") or []) or "—"),
        ("CPU model", h.get("cpu_model", "—")), ("CPU count", h.get("cpu_count", "—")),
        ("CPUs allowed", ", ".join(map(str, h.get("cpus_allowed") or [])) or "—"),
        ("memory", fmt_bytes(h["memory_bytes"]) if h.get("memory_bytes") else "—"),
        ("kernel", h.get("kernel", "—")), ("machine", h.get("machine", "—")),
        ("hostname", h.get("hostname", "—")), ("governor", h.get("governor", "—")),
        ("system checks", system_summary(h.get("system"))),
        ("load average at start", ", ".join(f"{x:.2f}" for x in load) if isinstance(load, list) else "—"),
        ("host drift (thread hand-off between visits of units)", drift_text(m.get("host_drift"))),
        ("host drift across CPUs", drift_text((m.get("host_drift") or {}).get("cross"))),
        ("harness Python", h.get("python", "—")),
        ("git commit", f"{git.get('commit', '—')}" + (" (uncommitted changes)" if git.get("dirty") else "")),
    ]
    rows = [[Cell(k, cls="rowhead"), Cell(str(v), cls="mono" if k in ("git commit", "command", "run") else "")]
            for k, v in facts]
    tool_rows = []
    builds = m.get("builds") or {}
    for impl, version in sorted((m.get("toolchains") or {}).items()):
        b = builds.get(impl) or {}
        status = b.get("status", "—")
        tool_rows.append([Cell(impl, cls="rowhead"), Cell(str(version), cls="mono"),
                          Cell(status, cls=f"status status-{'failed' if status == 'build_failed' else status}",
                               title=b.get("error") or ""),
                          Cell(f"{b['seconds']:.1f} s" if isinstance(b.get("seconds"), int | float) else "—",
                               cls="num")])
    return RunEnvironment(
        run,
        Table.build(f"environment-{slug(run.run_id)}", f"Run {run.run_id}", ["", "value"], rows),
        Table.build(f"toolchains-{slug(run.run_id)}", f"Toolchains of run {run.run_id}",
                    ["implementation", "toolchain", "build", "build time"], tool_rows,
                    notes=["skipped: the toolchain was missing; the implementation's cases are marked skipped."]),
        system_warnings(run),
        busy_text(run),
    )
