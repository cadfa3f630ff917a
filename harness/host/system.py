"""What on this host disturbs a measurement, checked and recorded with every run.

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
  round trip halted, 8-12 us polling; its run-to-run spread was no smaller polling). The
  `haltpoll` governor of KVM guests enters a disabled state all the same: recorded, not tuned (cpuidle.py);
- isolcpus, nohz_full: other tasks and the scheduler tick on the measured CPUs (kernel
  parameters: set at boot, never by `tune`);
- irq_affinity: device interrupts handled on the measured CPUs, and irqbalance, which moves them;
- nmi_watchdog: a periodic non-maskable interrupt on every CPU;
- aslr: full randomization, as pyperf wants it: each process gets its own memory layout, and a
  case's several processes average over layouts instead of all sharing one lucky or unlucky one;
- thp, thp_defrag: with `always`, khugepaged merges pages in the background on its own schedule
  and allocations may stall compacting memory, so peak RSS and page faults vary with timing;
- damon: a running DAMON monitor drops pages unused for a while, a program's own files between two
  of its processes among them, so the next one's start reads them from disk or not (damon.py);
- perf_sample_rate: pyperf's setting (1), so the kernel's sampling costs nothing if it starts;
- sched_autogroup (info): whether CPU time is shared between sessions before threads;
- power_supply: on battery the firmware lowers the clock.

`cmbench system tune` and `reset` change them, as root (harness/host/tuning.py).
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.host import cpuidle, damon
from harness.host.cpuidle import CPU
from harness.host.pyperf_tuning import format_cpu_list, parse_cpu_list, parse_cpu_mask
from harness.host.sysfs import read_file
from harness.measure.affinity import spare_cpus
from harness.vocab import render_table

SCHEMA = 1
THP = "sys/kernel/mm/transparent_hugepage"
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
class Host:
    """The files of one host, under `root`."""

    root: Path
    cpus: tuple[int, ...]  # measured
    harness: tuple[int, ...]  # the CPUs the harness may use
    online: tuple[int, ...] = ()

    def path(self, rel: str) -> Path:
        return self.root / rel

    def read(self, rel: str) -> str | None:
        return read_file(self.path(rel))

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


def chosen(text: str) -> str:
    """The bracketed choice of a sysfs selector: `always [madvise] never` -> `madvise`."""
    m = re.search(r"\[([^\]]+)\]", text)
    return m.group(1) if m else text


def _na(name: str, what: str = "") -> Check:
    return Check(name, CheckStatus.NA, f"not exposed{f' ({what})' if what else ''}")


def _harness(h: Host) -> Check:
    name, cpus = "harness_cpus", format_cpu_list(h.cpus)
    if len(h.harness) < 2:
        return Check(name, CheckStatus.NA, f"one CPU ({format_cpu_list(h.harness)}): the harness shares it")
    spare = spare_cpus(h.cpus, h.harness)
    if spare:
        return Check(name, CheckStatus.OK, f"moved to CPU {format_cpu_list(spare)} while a case runs on CPU {cpus}")
    return Check(name, CheckStatus.WARN, f"shares CPU {cpus} with the cases: no CPU to spare",
                 f"--cpus {len(h.harness) - 1} (or fewer) leaves the rest of the {len(h.harness)} CPUs this "
                 "process may use to the harness (an HTTP server gets half of them either way)")


def _governor(h: Host) -> Check:
    found = h.per_cpu("scaling_governor")
    if not found:
        return _na("governor", "no cpufreq: a VM, or no frequency driver")
    if all(g == "performance" for g in found.values()):
        return Check("governor", CheckStatus.OK, _grouped(found))
    return Check("governor", CheckStatus.WARN, _grouped(found),
                 f"{TUNE} sets `performance` on the measured CPUs: the clock no longer follows the load")


def _frequency(h: Host) -> Check:
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


def _boost(h: Host) -> Check:
    for rel, on_value, via in ((f"{CPU}/intel_pstate/no_turbo", "0", "intel_pstate no_turbo"),
                               (f"{CPU}/cpufreq/boost", "1", "cpufreq boost")):
        value = h.read(rel)
        if value in ("0", "1"):
            if value == on_value:
                return Check("boost", CheckStatus.WARN, f"on ({via}={value})",
                             f"{TUNE} switches it off: a boosted clock follows temperature and the other cores' load")
            return Check("boost", CheckStatus.OK, f"off ({via}={value})")
    return _na("boost", "no intel_pstate or cpufreq boost file")


def _idle(h: Host) -> Check:
    found = cpuidle.states(h.root, h.cpus)
    if not found:
        return _na("idle_states", "no cpuidle states")
    governor = cpuidle.governor(h.root)
    deep = {cpu: ", ".join(f"{s.name} ({s.latency} us to leave)" for s in cpuidle.deep(states, governor))
            for cpu, states in found.items()}
    if not any(deep.values()):
        return Check("idle_states", CheckStatus.OK, f"polling only on CPU {format_cpu_list(sorted(found))}")
    entered = "may enter " + _grouped({c: v for c, v in deep.items() if v})
    if governor in cpuidle.IGNORES_DISABLE:
        return Check("idle_states", CheckStatus.INFO,
                     f"{entered} (governor {governor}: a KVM guest's, which enters them even where disabled; "
                     "tune leaves them, as figures repeated less closely with the vCPUs polling)")
    return Check("idle_states", CheckStatus.WARN, entered,
                 f"{TUNE} disables them on the measured CPUs, which then poll when idle: a thread woken on a CPU "
                 "in such a state waits for it to leave (in a VM, for the hypervisor to wake it), and a hand-off "
                 "between CPUs measures that wait")


def _isolcpus(h: Host) -> Check:
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


def _nohz_full(h: Host) -> Check:
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


def _irq_affinity(h: Host) -> Check:
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
    def check(h: Host) -> Check:
        value = h.read(rel)
        if value is None or value == "":
            return _na(name)
        value = chosen(value)
        state = text.format(value) if isinstance(text, str) else text.get(value, value)
        return Check(name, CheckStatus.OK, state) if good(value) else Check(name, CheckStatus.WARN, state, advice)
    return check


def _damon(h: Host) -> Check:
    if running := damon.running(h.root):
        return Check("damon", CheckStatus.WARN, "running: " + "; ".join(running.values()),
                     f"{TUNE} stops it until reset: with an action such as pageout it drops pages unused for a while, "
                     "a program's own files between two of its processes among them")
    return Check("damon", CheckStatus.OK, "no monitor running") if damon.present(h.root) else _na("damon", "no DAMON")


def _autogroup(h: Host) -> Check:
    value = h.read("proc/sys/kernel/sched_autogroup_enabled")
    if value not in ("0", "1"):
        return _na("sched_autogroup")
    return Check("sched_autogroup", CheckStatus.INFO, "on: CPU time is shared between sessions first, then within "
                                                      "each" if value == "1" else "off")


def _power(h: Host) -> Check:
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


CHECKS: tuple[Callable[[Host], Check], ...] = (
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


def online_cpus(root: Path, fallback: Sequence[int]) -> tuple[int, ...]:
    text = Host(root, (), ()).read(f"{CPU}/online")
    return parse_cpu_list(text or "") or tuple(sorted(fallback))


def system_report(cpus: Sequence[int] | None = None, *, root: Path = Path("/"),
                  harness: Sequence[int] | None = None) -> SystemReport:
    """Every check for cases measured on `cpus` (default: every CPU the harness may use, as `run` pins by default).

    `harness`: the CPUs the harness may use (default: this process's); `root`: where /sys and /proc are.
    """
    harness = tuple(sorted(os.sched_getaffinity(0) if harness is None else harness))
    cpus = tuple(sorted(harness if cpus is None else cpus))
    host = Host(root, cpus, harness, online_cpus(root, set(cpus) | set(harness)))
    return SystemReport(cpus, tuple(check(host) for check in CHECKS))
