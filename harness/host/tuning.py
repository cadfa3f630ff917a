"""`cmbench system tune` and `reset`: set a host up for measuring, as root, and undo it.

`tune(cpus)` changes what harness/host/system.py checks: pyperf's own operations where it has one
(harness/host/pyperf_tuning.py: governor, minimum frequency, Turbo Boost, IRQs and irqbalance,
perf sampling rate, ASLR), and cmbench's for what pyperf leaves alone (transparent huge pages,
the NMI watchdog, the cpufreq `boost` file, the idle states of the measured CPUs, as `cpupower
idle-set -D 0` disables them, unless their governor ignores that (a KVM guest's haltpoll, left as
it is: harness/host/cpuidle.py), and the DAMON monitors, which it stops: harness/host/damon.py).
`tune` first saves what it changes of its own and each CPU's governor under /run (cleared at
boot, as the settings are), and `reset` puts those back; for the rest it does what pyperf's
reset does (Turbo Boost on, the minimum frequency to the lowest, IRQs on every CPU, irqbalance
started, the perf rate to 100000, ASLR kept full).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.host import cpuidle, damon, pyperf_tuning
from harness.host.cpuidle import CPU
from harness.host.system import THP, Host, chosen, online_cpus

SAVED = "run/cmbench/system-before-tune.json"  # under the root; /run is emptied at boot


@dataclass(frozen=True)
class _Own:
    """A setting pyperf does not tune: where it is, what tune writes, and when it needs writing."""

    rel: str
    tuned: str
    needs: Callable[[str], bool]


OWN = {
    "thp": _Own(f"{THP}/enabled", "madvise", lambda v: v == "always"),
    "thp_defrag": _Own(f"{THP}/defrag", "madvise", lambda v: v == "always"),
    "nmi_watchdog": _Own("proc/sys/kernel/nmi_watchdog", "0", lambda v: v != "0"),
    "boost": _Own(f"{CPU}/cpufreq/boost", "0", lambda v: v == "1"),
}


@dataclass
class Changes:
    """What `tune` or `reset` changed, one line each, and what it could not change."""

    changed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, other: pyperf_tuning.Changes) -> None:
        self.changed += other.actions
        self.failed += other.errors


def require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise UserError(f"system {action}: changing kernel settings needs root; run: sudo cmbench system {action}")


def _boot_id(h: Host) -> str:
    return h.read("proc/sys/kernel/random/boot_id") or ""


def _load_saved(h: Host) -> dict[str, Any]:
    """What tune saved since this boot ({} when nothing, or a file of another boot or damaged)."""
    try:
        data = json.loads(h.path(SAVED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("boot_id") != _boot_id(h):
        return {}
    return data


def _write(h: Host, rel: str, value: str, what: str, changes: Changes) -> None:
    try:
        h.path(rel).write_text(value, encoding="utf-8")
    except OSError as e:
        changes.failed.append(f"{what}: cannot write {value!r} into /{rel}: {e.strerror or e}")
    else:
        changes.changed.append(f"{what}: {value} (/{rel})")


def tune(cpus: Sequence[int] | None = None, *, root: Path = Path("/")) -> Changes:
    """Set this host up for measuring on `cpus` (default: every CPU this process may use); root only.

    pyperf's operations run on the real host only (`root` is `/`); under another root only the
    settings cmbench writes itself are changed, there.
    """
    require_root("tune")
    h = Host(root, tuple(sorted(os.sched_getaffinity(0) if cpus is None else cpus)), ())
    saved = _load_saved(h)
    saved.setdefault("governors", {str(c): g for c, g in h.per_cpu("scaling_governor").items()})
    before = saved.setdefault("settings", {})
    todo = []
    for name, own in OWN.items():
        value = h.read(own.rel)
        if value and own.needs(chosen(value)):
            before.setdefault(name, chosen(value))
            todo.append((name, own))
    honoured = cpuidle.governor(h.root) not in cpuidle.IGNORES_DISABLE  # a KVM guest's haltpoll: left (cpuidle.py)
    idle = [(cpu, state) for cpu, states in cpuidle.states(h.root, h.cpus).items()
            for state in cpuidle.deep(states)] if honoured else []
    for cpu, state in idle:
        saved.setdefault("idle_states", {}).setdefault(f"{cpu}/{state.folder}", "0")
    monitors = damon.running(h.root)
    for rel in monitors:
        saved.setdefault("damon", {}).setdefault(rel, h.read(rel))
    changes = Changes()
    try:
        h.path(SAVED).parent.mkdir(parents=True, exist_ok=True)
        h.path(SAVED).write_text(json.dumps({**saved, "boot_id": _boot_id(h)}, indent=1), encoding="utf-8")
    except OSError as e:
        changes.failed.append(f"cannot save the settings before tuning in /{SAVED} ({e.strerror}): "
                              "`cmbench system reset` will not restore them")
    for name, own in todo:
        _write(h, own.rel, own.tuned, name, changes)
    for cpu, state in idle:
        _write(h, cpuidle.disable_file(cpu, state.folder), "1", f"idle state {state.name} of CPU {cpu}", changes)
    for rel in monitors:
        _write(h, rel, damon.off(rel), f"DAMON {damon.name(rel)}", changes)
    if root == Path("/"):
        changes.add(pyperf_tuning.write(h.cpus, True))
    return changes


def reset(*, root: Path = Path("/")) -> Changes:
    """Undo `tune` on every CPU: what tune saved is put back, the rest as pyperf resets it; root only."""
    require_root("reset")
    online = online_cpus(root, sorted(os.sched_getaffinity(0)))
    h = Host(root, online, ())
    saved = _load_saved(h)
    governors = {int(c): str(g) for c, g in (saved.get("governors") or {}).items() if str(c).isdigit()}
    changes = Changes()
    if root == Path("/"):
        changes.add(pyperf_tuning.write(online, False, skip=(pyperf_tuning.GOVERNOR,) if governors else ()))
    for cpu, governor in sorted(governors.items()):
        rel = f"{CPU}/cpu{cpu}/cpufreq/scaling_governor"
        if h.read(rel) not in (None, governor):
            _write(h, rel, governor, f"governor of CPU {cpu}", changes)
    for name, value in (saved.get("settings") or {}).items():
        own = OWN.get(name)
        if own is not None and chosen(h.read(own.rel) or value) != value:
            _write(h, own.rel, str(value), name, changes)
    for key, value in (saved.get("idle_states") or {}).items():
        cpu, _, folder = str(key).partition("/")
        if not (cpu.isdigit() and cpuidle.is_state(folder) and value in ("0", "1")):
            continue  # not what tune writes
        rel = cpuidle.disable_file(int(cpu), folder)
        if h.read(rel) not in (None, value):
            _write(h, rel, value, f"idle state {folder} of CPU {cpu}", changes)
    for rel, value in (saved.get("damon") or {}).items():
        rel = str(rel)
        if damon.name(rel) and value in damon.ON and h.read(rel) == damon.off(rel):
            _write(h, rel, str(value), f"DAMON {damon.name(rel)}", changes)
    if not saved:
        changes.notes.append("nothing saved by `cmbench system tune` since boot: transparent huge pages, the NMI "
                               "watchdog, boost, the idle states and DAMON are left as they are")
    try:
        h.path(SAVED).unlink()
    except OSError:
        pass
    return changes
