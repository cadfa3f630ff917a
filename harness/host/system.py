"""What on this host disturbs a measurement, checked and recorded with every run; tuned and reset as root.

`system_report(cpus)` reads the settings that make figures vary from run to run on Linux, for a
run whose cases are pinned to `cpus` (the measured CPUs), and returns one `Check` per setting:
its state, `ok`, `warn` (it disturbs; `advice` says what to do), `n/a` (not exposed here: a VM
has no cpufreq, an older kernel no nohz_full) or `info` (recorded, not judged). Every file is
read under `root` (default `/`, a test's fake tree otherwise); a missing or unreadable one is
"not exposed", never an error. Every run records the report in its host metadata (run.json
`host.system`, harness/host/info.py).

The checks and why each matters:

- harness_cpus: the harness's own threads run off the measured CPUs while a case runs, when the
  CPUs this process may use leave some over (harness/measure/affinity.py moves them);
- governor, frequency, boost: a clock that follows the load, or rises above its base with
  temperature and the other cores' load, changes an iteration's length between runs;
- idle_states: an idle CPU that may enter a state taking time to leave (a C-state; in a VM, a
  halted vCPU the hypervisor must wake) delays the thread woken on it, so a hand-off between
  CPUs measures the wake-up (in a VM seen here, several times the hand-off itself: 64 us a
  round trip halted, 8-12 us polling; its run-to-run spread was no smaller polling);
- isolcpus, nohz_full: other tasks and the scheduler tick on the measured CPUs (kernel
  parameters: set at boot, never by `tune`);
- irq_affinity: device interrupts handled on the measured CPUs, and irqbalance, which moves them;
- nmi_watchdog: a periodic non-maskable interrupt on every CPU;
- aslr: full randomization, as pyperf wants it: each process gets its own memory layout, and a
  case's several processes average over layouts instead of all sharing one lucky or unlucky one;
- thp, thp_defrag: with `always`, khugepaged merges pages in the background on its own schedule
  and allocations may stall compacting memory, so peak RSS and page faults vary with timing;
- damon: a running DAMON monitor (a kdamond kernel thread; some VMs start one for proactive
  reclaim) samples page accesses on the host's CPUs and, with a scheme such as `pageout`, drops
  what went unused for a while: between two processes of a case, the page cache of the program's
  own files (seen on a 2-vCPU guest: a third of a JVM's libjvm.so gone after two idle minutes,
  its next start 0.13 s with 18 major faults against 0.08 s warm), so a process's start and first
  iterations read from disk or not by chance;
- perf_sample_rate: pyperf's setting (1), so the kernel's sampling costs nothing if it starts;
- sched_autogroup (info): whether CPU time is shared between sessions before threads;
- power_supply: on battery the firmware lowers the clock.

`tune(cpus)` and `reset()` change them, as root: pyperf's own operations where it has one
(harness/host/pyperf_tuning.py: governor, minimum frequency, Turbo Boost, IRQs and irqbalance,
perf sampling rate, ASLR), and cmbench's for what pyperf leaves alone (transparent huge pages,
the NMI watchdog, the cpufreq `boost` file, the idle states of the measured CPUs, as `cpupower
idle-set -D 0` disables them, and the DAMON monitors, which it stops). `tune` first saves what it changes of its own and
each CPU's governor under /run (cleared at boot, as the settings are), and `reset` puts those
back; for the rest it does what pyperf's reset does (Turbo Boost on, the minimum frequency to
the lowest, IRQs on every CPU, irqbalance started, the perf rate to 100000, ASLR kept full).
"""

from __future__ import annotations

import enum
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.host import cpuidle, pyperf_tuning
from harness.host.cpuidle import CPU
from harness.host.pyperf_tuning import format_cpu_list, parse_cpu_list, parse_cpu_mask
from harness.measure.affinity import spare_cpus
from harness.vocab import render_table

SCHEMA = 1
SAVED = "run/cmbench/system-before-tune.json"  # under the root; /run is emptied at boot
THP = "sys/kernel/mm/transparent_hugepage"
KDAMONDS = "sys/kernel/mm/damon/admin/kdamonds"  # DAMON's sysfs interface: one folder per kdamond, its `state`
# DAMON's modules that run a kdamond of their own when their `enabled` parameter is Y
DAMON_MODULES = ("damon_reclaim", "damon_lru_sort", "damon_stat")
TUNE = "cmbench system tune"


class CheckStatus(enum.StrEnum):
    OK = "ok"
    WARN = "warn"  # disturbs measurements; the check's advice says what to do
    NA = "n/a"  # not exposed on this host
    INFO = "info"  # recorded, not judged


@dataclass(frozen=True)
class Check:
    name: str
    status: CheckStatus
    state: str
    advice: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "state": self.state, "advice": self.advice}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Check:
        return cls(str(d["name"]), CheckStatus(d["status"]), str(d["state"]), str(d.get("advice") or ""))


@dataclass(frozen=True)
class SystemReport:
    """Every check, for cases measured on `cpus`."""

    cpus: tuple[int, ...]
    checks: tuple[Check, ...]
    schema: int = SCHEMA

    @property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == CheckStatus.WARN)

    @property
    def ok(self) -> bool:
        return not self.warnings

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": self.schema, "cpus": list(self.cpus), "ok": self.ok,
                "checks": [c.to_dict() for c in self.checks]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SystemReport:
        """The report a run.json holds; ValueError when it is not one."""
        try:
            return cls(tuple(int(c) for c in d["cpus"]), tuple(Check.from_dict(c) for c in d["checks"]),
                       int(d["schema"]))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"not a system report: {e!r}") from None

    def table(self) -> str:
        """The checks as a terminal table, then the advice of each `warn`."""
        lines = [render_table(["check", "status", "state"], [[c.name, c.status.value, c.state] for c in self.checks]),
                 "", f"measured CPUs: {format_cpu_list(self.cpus)}"]
        if self.ok:
            return "\n".join([*lines, "no check warns"])
        advice = [f"  {c.name}: {c.advice}" for c in self.warnings]
        return "\n".join([*lines, f"{len(self.warnings)} to look at:", *advice])


@dataclass(frozen=True)
class _Host:
    """The files of one host, under `root`."""

    root: Path
    cpus: tuple[int, ...]  # measured
    harness: tuple[int, ...]  # the CPUs the harness may use
    online: tuple[int, ...] = ()

    def path(self, rel: str) -> Path:
        return self.root / rel

    def read(self, rel: str) -> str | None:
        try:
            return self.path(rel).read_text(encoding="utf-8", errors="replace").strip()
        except (OSError, ValueError):
            return None

    def cmdline_cpus(self, key: str) -> tuple[int, ...]:
        """The CPUs of kernel parameter `key=` (its flags, as in `isolcpus=domain,2-3`, left out)."""
        m = re.search(rf"(?:^|\s){key}=(\S+)", self.read("proc/cmdline") or "")
        if not m:
            return ()
        return parse_cpu_list(",".join(p for p in m.group(1).split(",") if p[:1].isdigit()))

    def per_cpu(self, name: str) -> dict[int, str]:
        """cpufreq file `name` of each measured CPU that exposes it."""
        found = {cpu: self.read(f"{CPU}/cpu{cpu}/cpufreq/{name}") for cpu in self.cpus}
        return {cpu: v for cpu, v in found.items() if v}

    def running(self, comm: str) -> bool:
        try:
            procs = [p for p in self.path("proc").iterdir() if p.name.isdigit()]
        except OSError:
            return False
        return any(self.read(f"proc/{p.name}/comm") == comm for p in procs)


def _grouped(values: Mapping[int, str]) -> str:
    """{0: "performance", 1: "powersave"} -> `performance on CPU 0; powersave on CPU 1`."""
    groups: dict[str, list[int]] = {}
    for cpu, v in sorted(values.items()):
        groups.setdefault(v, []).append(cpu)
    return "; ".join(f"{v} on CPU {format_cpu_list(cpus)}" for v, cpus in groups.items())


def _chosen(text: str) -> str:
    """The bracketed choice of a sysfs selector: `always [madvise] never` -> `madvise`."""
    m = re.search(r"\[([^\]]+)\]", text)
    return m.group(1) if m else text


def _na(name: str, what: str = "") -> Check:
    return Check(name, CheckStatus.NA, f"not exposed{f' ({what})' if what else ''}")


def _harness(h: _Host) -> Check:
    name, cpus = "harness_cpus", format_cpu_list(h.cpus)
    if len(h.harness) < 2:
        return Check(name, CheckStatus.NA, f"one CPU ({format_cpu_list(h.harness)}): the harness shares it")
    spare = spare_cpus(h.cpus, h.harness)
    if spare:
        return Check(name, CheckStatus.OK, f"moved to CPU {format_cpu_list(spare)} while a case runs on CPU {cpus}")
    return Check(name, CheckStatus.WARN, f"shares CPU {cpus} with the cases: no CPU to spare",
                 f"--cpus {len(h.harness) - 1} (or fewer) leaves the rest of the {len(h.harness)} CPUs this "
                 "process may use to the harness (an HTTP server gets half of them either way)")


def _governor(h: _Host) -> Check:
    found = h.per_cpu("scaling_governor")
    if not found:
        return _na("governor", "no cpufreq: a VM, or no frequency driver")
    if all(g == "performance" for g in found.values()):
        return Check("governor", CheckStatus.OK, _grouped(found))
    return Check("governor", CheckStatus.WARN, _grouped(found),
                 f"{TUNE} sets `performance` on the measured CPUs: the clock no longer follows the load")


def _frequency(h: _Host) -> Check:
    lows, highs = h.per_cpu("scaling_min_freq"), h.per_cpu("scaling_max_freq")
    cpus = [c for c in h.cpus if lows.get(c, "").isdigit() and highs.get(c, "").isdigit()]
    if not cpus:
        return _na("frequency", "no cpufreq")
    spans = {c: (int(lows[c]) // 1000, int(highs[c]) // 1000) for c in cpus}
    text = _grouped({c: f"{lo} MHz" if lo == hi else f"{lo}-{hi} MHz" for c, (lo, hi) in spans.items()})
    if all(lo == hi for lo, hi in spans.values()):
        return Check("frequency", CheckStatus.OK, text)
    return Check("frequency", CheckStatus.WARN, text,
                 f"{TUNE} raises the minimum to the maximum, so the clock does not drop between iterations")


def _boost(h: _Host) -> Check:
    for rel, on_value, via in ((f"{CPU}/intel_pstate/no_turbo", "0", "intel_pstate no_turbo"),
                               (f"{CPU}/cpufreq/boost", "1", "cpufreq boost")):
        value = h.read(rel)
        if value in ("0", "1"):
            if value == on_value:
                return Check("boost", CheckStatus.WARN, f"on ({via}={value})",
                             f"{TUNE} switches it off: a boosted clock follows temperature and the other cores' load")
            return Check("boost", CheckStatus.OK, f"off ({via}={value})")
    return _na("boost", "no intel_pstate or cpufreq boost file")


def _idle(h: _Host) -> Check:
    found = cpuidle.states(h.root, h.cpus)
    if not found:
        return _na("idle_states", "no cpuidle states")
    deep = {cpu: ", ".join(f"{s.name} ({s.latency} us to leave)" for s in cpuidle.deep(states))
            for cpu, states in found.items()}
    if not any(deep.values()):
        return Check("idle_states", CheckStatus.OK, f"polling only on CPU {format_cpu_list(sorted(found))}")
    return Check("idle_states", CheckStatus.WARN, "may enter " + _grouped({c: v for c, v in deep.items() if v}),
                 f"{TUNE} disables them on the measured CPUs, which then poll when idle: a thread woken on a CPU "
                 "in such a state waits for it to leave (in a VM, for the hypervisor to wake it), and a hand-off "
                 "between CPUs measures that wait")


def _isolcpus(h: _Host) -> Check:
    if len(h.online) < 2:
        return Check("isolcpus", CheckStatus.NA, "one CPU: nothing to isolate it from")
    isolated = parse_cpu_list(h.read(f"{CPU}/isolated") or "") or h.cmdline_cpus("isolcpus")
    advice = (f"boot with isolcpus=, nohz_full= and rcu_nocbs= naming the measured CPUs ({format_cpu_list(h.cpus)}) "
              "and start cmbench under `taskset -c` with every CPU")
    if set(h.cpus) >= set(h.online):
        advice = f"isolating needs a CPU left for the rest: pass --cpus below {len(h.online)}, then " + advice
    if not isolated:
        return Check("isolcpus", CheckStatus.WARN, "no CPU is isolated", advice)
    text = f"CPU {format_cpu_list(isolated)} isolated"
    if set(h.cpus) <= set(isolated):
        return Check("isolcpus", CheckStatus.OK, text)
    return Check("isolcpus", CheckStatus.WARN, f"{text}; the cases run on CPU {format_cpu_list(h.cpus)}",
                 "start cmbench under `taskset -c` with every CPU and pass --cpus so the cases run on isolated ones")


def _nohz_full(h: _Host) -> Check:
    if len(h.online) < 2:
        return Check("nohz_full", CheckStatus.NA, "one CPU: it keeps the tick")
    text = h.read(f"{CPU}/nohz_full")
    nohz = parse_cpu_list(text or "") or h.cmdline_cpus("nohz_full")
    if text is None and not nohz:
        return _na("nohz_full", "this kernel has no full dynticks")
    rcu = h.cmdline_cpus("rcu_nocbs")
    state = (f"CPU {format_cpu_list(nohz)}" if nohz else "off") + (f"; rcu_nocbs CPU {format_cpu_list(rcu)}"
                                                                    if rcu else "")
    if nohz and h.read(f"{CPU}/cpu0/cpufreq/scaling_driver") == "intel_pstate":
        return Check("nohz_full", CheckStatus.WARN, state + " under intel_pstate",
                     "intel_pstate does not work with nohz_full (pyperf's check): drop nohz_full= or the driver")
    if nohz and set(h.cpus) <= set(nohz):
        return Check("nohz_full", CheckStatus.OK, state)
    return Check("nohz_full", CheckStatus.WARN, state,
                 f"boot with nohz_full=<the measured CPUs, here {format_cpu_list(h.cpus)}> (with isolcpus=): "
                 "a CPU that runs one task then takes no scheduler tick")


def _irq_affinity(h: _Host) -> Check:
    irq = h.path("proc/irq")
    if not irq.is_dir():
        return _na("irq_affinity", "no /proc/irq")
    balancing = h.running("irqbalance")
    balancer = "irqbalance running" if balancing else "irqbalance not running"
    spare = spare_cpus(h.cpus, h.online)
    if not spare:
        return Check("irq_affinity", CheckStatus.NA, f"every CPU is measured: interrupts have nowhere else to go; "
                                                     f"{balancer}")
    try:
        handled = sorted(int(p.name) for p in irq.iterdir()
                         if p.name.isdigit() and any(q.is_dir() for q in p.iterdir()))
    except OSError:
        handled = []
    measured = set(h.cpus)
    on = [n for n in handled if parse_cpu_mask(h.read(f"proc/irq/{n}/smp_affinity") or "") & measured]
    default = parse_cpu_mask(h.read("proc/irq/default_smp_affinity") or "")
    state = (f"{len(on)} of {len(handled)} IRQs may run on CPU {format_cpu_list(h.cpus)}; new IRQs on CPU "
             f"{format_cpu_list(sorted(default))}; {balancer}")
    if not on and not default & measured and not balancing:
        return Check("irq_affinity", CheckStatus.OK, state)
    return Check("irq_affinity", CheckStatus.WARN, state,
                 f"{TUNE} moves them to CPU {format_cpu_list(spare)} and stops irqbalance, which would move them "
                 "back (the kernel keeps some, such as per-CPU queues, where they are)")


def _setting(name: str, rel: str, good: Callable[[str], bool], text: Mapping[str, str] | str, advice: str):
    """The check of one file's value: `text` words the value (a mapping, or a format string)."""
    def check(h: _Host) -> Check:
        value = h.read(rel)
        if value is None or value == "":
            return _na(name)
        value = _chosen(value)
        state = text.format(value) if isinstance(text, str) else text.get(value, value)
        return Check(name, CheckStatus.OK, state) if good(value) else Check(name, CheckStatus.WARN, state, advice)
    return check


def _damon_running(h: _Host) -> dict[str, str]:
    """Each running DAMON monitor: the file that switches it (relative to the root) -> what it does."""
    running = {}
    try:
        kdamonds = sorted((p.name for p in h.path(KDAMONDS).iterdir() if p.name.isdigit()), key=int)
    except OSError:
        kdamonds = []
    for k in kdamonds:
        if h.read(f"{KDAMONDS}/{k}/state") != "on":
            continue
        context = f"{KDAMONDS}/{k}/contexts/0"
        try:
            schemes = sorted(p.name for p in h.path(f"{context}/schemes").iterdir() if p.name.isdigit())
        except OSError:
            schemes = []
        actions = sorted({a for a in (h.read(f"{context}/schemes/{n}/action") for n in schemes) if a})
        ops = h.read(f"{context}/operations") or "monitoring"
        running[f"{KDAMONDS}/{k}/state"] = f"kdamond {k} ({ops}{'; ' + ', '.join(actions) if actions else ''})"
    for module in DAMON_MODULES:
        if h.read(f"sys/module/{module}/parameters/enabled") == "Y":
            running[f"sys/module/{module}/parameters/enabled"] = module
    return running


def _damon(h: _Host) -> Check:
    running = _damon_running(h)
    if running:
        return Check("damon", CheckStatus.WARN, "running: " + "; ".join(running.values()),
                     f"{TUNE} stops it until reset: it samples page accesses on every CPU and, with an action such "
                     "as pageout, drops pages unused for a while, such as a program's own files between two of its "
                     "processes, which the next one then reads from disk")
    if h.path(KDAMONDS).is_dir() or any(h.path(f"sys/module/{m}").is_dir() for m in DAMON_MODULES):
        return Check("damon", CheckStatus.OK, "no monitor running")
    return _na("damon", "no DAMON in this kernel")


def _autogroup(h: _Host) -> Check:
    value = h.read("proc/sys/kernel/sched_autogroup_enabled")
    if value not in ("0", "1"):
        return _na("sched_autogroup")
    return Check("sched_autogroup", CheckStatus.INFO, "on: CPU time is shared between sessions first, then within "
                                                      "each" if value == "1" else "off")


def _power(h: _Host) -> Check:
    try:
        supplies = sorted(h.path("sys/class/power_supply").iterdir())
    except OSError:
        supplies = []
    for s in supplies:
        rel = f"sys/class/power_supply/{s.name}"
        if h.read(f"{rel}/type") == "Mains" and h.read(f"{rel}/online") in ("0", "1"):
            if h.read(f"{rel}/online") == "1":
                return Check("power_supply", CheckStatus.OK, "on mains")
            return Check("power_supply", CheckStatus.WARN, "on battery", "plug it in: on battery the clock is lowered")
    return Check("power_supply", CheckStatus.NA, "no mains supply reported (a server or a VM)")


CHECKS: tuple[Callable[[_Host], Check], ...] = (
    _harness, _governor, _frequency, _boost, _idle, _isolcpus, _nohz_full, _irq_affinity,
    _setting("nmi_watchdog", "proc/sys/kernel/nmi_watchdog", lambda v: v == "0", {"0": "off", "1": "on"},
             f"{TUNE} switches it off: it interrupts every CPU periodically and holds a perf counter"),
    _setting("aslr", "proc/sys/kernel/randomize_va_space", lambda v: v == "2",
             {"0": "off", "1": "conservative randomization", "2": "full randomization"},
             f"{TUNE} sets full randomization (2): a case's processes then average over memory layouts"),
    _setting("thp", f"{THP}/enabled", lambda v: v != "always", {},
             f"{TUNE} sets madvise: with `always` khugepaged merges pages in the background on its own schedule"),
    _setting("thp_defrag", f"{THP}/defrag", lambda v: v != "always", {},
             f"{TUNE} sets madvise: with `always` an allocation may stall while the kernel compacts memory"),
    _damon,
    _setting("perf_sample_rate", "proc/sys/kernel/perf_event_max_sample_rate", lambda v: v == "1", "{} per second",
             f"{TUNE} sets 1 (pyperf's setting): perf's sampling then costs next to nothing if it starts"),
    _autogroup, _power,
)


def _online(root: Path, fallback: Sequence[int]) -> tuple[int, ...]:
    text = _Host(root, (), ()).read(f"{CPU}/online")
    return parse_cpu_list(text or "") or tuple(sorted(fallback))


def system_report(cpus: Sequence[int] | None = None, *, root: Path = Path("/"),
                  harness: Sequence[int] | None = None) -> SystemReport:
    """Every check for cases measured on `cpus` (default: every CPU the harness may use, as `run` pins by default).

    `harness`: the CPUs the harness may use (default: this process's); `root`: where /sys and /proc are.
    """
    harness = tuple(sorted(os.sched_getaffinity(0) if harness is None else harness))
    cpus = tuple(sorted(harness if cpus is None else cpus))
    host = _Host(root, cpus, harness, _online(root, set(cpus) | set(harness)))
    return SystemReport(cpus, tuple(check(host) for check in CHECKS))


# --- tune and reset ---------------------------------------------------------------------------------------------

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


def _boot_id(h: _Host) -> str:
    return h.read("proc/sys/kernel/random/boot_id") or ""


def _load_saved(h: _Host) -> dict[str, Any]:
    """What tune saved since this boot ({} when nothing, or a file of another boot or damaged)."""
    try:
        data = json.loads(h.path(SAVED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("boot_id") != _boot_id(h):
        return {}
    return data


def _write(h: _Host, rel: str, value: str, what: str, changes: Changes) -> None:
    try:
        h.path(rel).write_text(value, encoding="utf-8")
    except OSError as e:
        changes.failed.append(f"{what}: cannot write {value!r} into /{rel}: {e.strerror or e}")
    else:
        changes.changed.append(f"{what}: {value} (/{rel})")


_DAMON_OFF = {"on": "off", "Y": "N"}  # a running DAMON monitor's switch (kdamond state, module parameter): on -> off


def _damon_name(rel: str) -> str:
    """The DAMON monitor whose switch is `rel` (`kdamond 0`, `damon_reclaim`); "" for any other file."""
    parts = rel.split("/")
    if rel.startswith(f"{KDAMONDS}/") and len(parts) == 8 and parts[6].isdigit() and parts[7] == "state":
        return f"kdamond {parts[6]}"
    if len(parts) == 5 and parts[:2] == ["sys", "module"] and parts[2] in DAMON_MODULES and parts[3:] == [
            "parameters", "enabled"]:
        return parts[2]
    return ""


def tune(cpus: Sequence[int] | None = None, *, root: Path = Path("/")) -> Changes:
    """Set this host up for measuring on `cpus` (default: every CPU this process may use); root only.

    pyperf's operations run on the real host only (`root` is `/`); under another root only the
    settings cmbench writes itself are changed, there.
    """
    require_root("tune")
    h = _Host(root, tuple(sorted(os.sched_getaffinity(0) if cpus is None else cpus)), ())
    saved = _load_saved(h)
    saved.setdefault("governors", {str(c): g for c, g in h.per_cpu("scaling_governor").items()})
    before = saved.setdefault("settings", {})
    todo = []
    for name, own in OWN.items():
        value = h.read(own.rel)
        if value and own.needs(_chosen(value)):
            before.setdefault(name, _chosen(value))
            todo.append((name, own))
    idle = [(cpu, state) for cpu, states in cpuidle.states(h.root, h.cpus).items() for state in cpuidle.deep(states)]
    for cpu, state in idle:
        saved.setdefault("idle_states", {}).setdefault(f"{cpu}/{state.folder}", "0")
    damon = _damon_running(h)
    for rel in damon:
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
    for rel in damon:
        _write(h, rel, "off" if rel.endswith("/state") else "N", f"DAMON {_damon_name(rel)}", changes)
    if root == Path("/"):
        changes.add(pyperf_tuning.write(h.cpus, True))
    return changes


def reset(*, root: Path = Path("/")) -> Changes:
    """Undo `tune` on every CPU: what tune saved is put back, the rest as pyperf resets it; root only."""
    require_root("reset")
    online = _online(root, sorted(os.sched_getaffinity(0)))
    h = _Host(root, online, ())
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
        if own is not None and _chosen(h.read(own.rel) or value) != value:
            _write(h, own.rel, str(value), name, changes)
    for key, value in (saved.get("idle_states") or {}).items():
        cpu, _, folder = str(key).partition("/")
        if not (cpu.isdigit() and cpuidle.is_state(folder) and value in ("0", "1")):
            continue  # not what tune writes
        rel = cpuidle.disable_file(int(cpu), folder)
        if h.read(rel) not in (None, value):
            _write(h, rel, value, f"idle state {folder} of CPU {cpu}", changes)
    for rel, value in (saved.get("damon") or {}).items():
        name = _damon_name(str(rel))
        if name and value in _DAMON_OFF and h.read(str(rel)) == _DAMON_OFF[value]:
            _write(h, str(rel), str(value), f"DAMON {name}", changes)
    if not saved:
        changes.notes.append("nothing saved by `cmbench system tune` since boot: transparent huge pages, the NMI "
                               "watchdog, boost, the idle states and DAMON are left as they are")
    try:
        h.path(SAVED).unlink()
    except OSError:
        pass
    return changes
