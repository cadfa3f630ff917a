"""How many processes and iterations a batch case runs: enough for a precise median, no more.

Kalibera and Jones ("Rigorous benchmarking in reasonable time", ISMM 2013) split repetitions
between the levels of an experiment from the variance each level shows. Here a case first runs
its minimum processes; from then on, after every round of processes:

- it stops `converged` once the 95% confidence interval of its median (harness/measure/stats.py: a
  two-level bootstrap over processes, then iterations) is within the spec's `precision`;
- it stops at `max_processes`, or at `budget` when the next process would overrun the case's
  seconds of measurement, or (where the spec has a `reach`: the quick profile, which trades
  precision for time) `out_of_reach` when even the processes the budget still pays for would
  leave the interval wider than `reach` times the precision; all three leave it unconverged,
  and the result carries a flag saying so. `out_of_reach` waits for a fourth process, the fewest
  that can show modes (below), since a wide interval at three may be two groups. It projects
  from the narrower of the interval and the spread of most processes (`robust_half_width`: the
  median absolute deviation of the per-process medians): one process of four far from the other
  three widens the bootstrap interval as much as four spread evenly, but the median of ten such
  processes, most of them together, is within reach where the median of ten spread ones is not;
- otherwise it runs another process, of the number of iterations that buys the most precision
  for the time given what a process costs to start and how the variance splits between
  processes and iterations (`optimal_iterations`).

**Cheap processes sample more.** A case stops `converged` (or `modes`), or gives up as
`out_of_reach`, only once its processes have also taken `SAMPLE_SHARE` of its budget (a second in
quick), or it has run its maximum, or the next process would overrun the budget. Each process
draws once what a process shares for its whole life and a run cannot control: its memory layout,
where the host has the virtual CPU for those few hundred milliseconds. Some processes of a case
run 1.2 to 2 times slower than the others in all their iterations (mutex_counter's racy case, 2 x
100,000 increments in 0.06-0.15 ms: about one process in ten, more in a busy spell), so three
processes that agree say little, and four of which two sit on slow levels look out of reach when
ten would put the median on the common level: the median of a few lands on a slow level in one
run and not in the next (quick runs of it moved 5-28% between runs). Where a process costs 0.1 s
this floor runs ten of them for the price of one calibrated process; a case whose minimum already
takes a second changes nothing.

**Modes.** After every round the per-process medians are also tested for modes
(harness/measure/modes.py). When the processes fall into groups, the median of all of them
is whichever group holds the middle process, and its interval spans the groups: it will not
converge, and it is not the figure. The case is then judged on its modes instead: it stops
`modes` once every mode's own median (the same two-level bootstrap over that mode's processes)
is within the precision, and otherwise at the same limits as above, judged on the widest mode's
interval. A case with modes carries the flag `modes: 2 (61% at 1.2 ms, 39% at 3.4 ms)` instead
of `unconverged: ...` (with the widest mode's interval appended when it stopped at a limit),
and its detail records the modes.

**Warm-ups.** A process runs the spec's warm-ups, and where its iterations are much shorter than
the target, enough more that they last `warmup_seconds` (what the spec's warm-ups last at the
profile's target iteration: 0.1 s in quick, 0.05 s for a workload that asks for one warm-up).
Uncalibrated cases (mutex_counter's racy case keeps its size) can last 0.05 ms an iteration, and
two warm-ups are then no warm-up: a JIT has not compiled the loop, so some processes measure it
interpreted and the case's processes spread over a factor of four. The first process of a case
whose iteration time is not known yet (no calibration says it) runs the spec's count; when its
warm-ups turn out to have lasted less than a quarter of `warmup_seconds` (its measured median
times the count; a calibrated iteration can come out at half the target while the host is fast,
and that is not cold), it is set aside as cold (`BatchDetail.cold`), and later processes run the
warm-ups its fastest iteration asks for (`warmups_for`, at most `MAX_WARMUPS`: a cold process
speeds up as it warms, and its median would ask for too few). At most `MAX_COLD` processes of a
case are set aside; the seconds they took count towards its budget. A size calibrated now whose
iteration asks for more warm-ups than its confirming processes ran does not keep them.

**Still warming.** Warm-up time is not enough for a JIT runtime, whose warm-up is a number of
iterations compiled rather than seconds: a JVM's ping_pong on one CPU ran 117, 58, 41, 36 and 28 ms
in its five measured iterations after two warm-ups, and 8.7 ms from its fourteenth on, so the
case's median was five times its steady state, and the processes spread over where each stood.
A process whose measured iterations are still speeding up (`warming`: the median of their first
half at least `WARMING_RATIO` times that of their second, from `WARMING_FROM` measured iterations)
is cold too: set aside (counted with the others, at most `MAX_COLD`), and later processes run at
least twice as many warm-ups as it ran iterations in all (`warmups_after`), since it had not
settled by its last one. Over the processes of four or more measured iterations of a quick run of
every implementation, the rule found 35 of 144 Java ones still warming, 1 of 99 Node ones and 2 of
341 others. Either way the warm-ups asked for stop where the cold process's median iteration would
make them last longer than a minimum process's share of the budget (a third of it in quick), but
never below the spec's count: a process's fastest iteration can be a rare fast mode, not a compiled
loop (Java's platform-thread ping_pong across two CPUs: 0.5 ms iterations of a spinning hand-off
among 0.66 s ones of a sleeping one), and 200 warm-ups of 0.66 s took a hundred times the budget.

**Slow spells.** Where the run probes the host between visits of units (harness/host/drift.py), a
round that starts while the probes find the host in a slow spell (another guest holding its CPUs:
processes measured in one ran 14% slower than the same cases in calm runs) has its processes set
aside (`BatchDetail.spell`), at most `MAX_SPELL` per case; their seconds count towards its budget
and later processes take their place. A case that had to keep one measured in a spell (it had set
aside `MAX_SPELL` already) is flagged `host busy` (`spell_flag`).

**Time limit.** Where the profile gives the run a time limit (quick), a case that would run another
round once it has passed stops instead (`at_time_limit`), never below its minimum processes, and
borrows nothing more (bank.py): `time_limit`, unconverged, unless its interval is already within the
precision and it ran on only to sample more (cheap processes, above); then it stops `converged` (or
`modes`), as it would where the next process overran its budget, since no later process can sample
more. (Before, such cases stopped `time_limit` with a flag that called ±0.5% "wider than the ±2%
asked": 17 of 186 batch cases of a quick run on a 2-CPU guest.)

A fixed spec (precision 0, the smoke profile) runs exactly its processes and records `fixed`.

**Interrupted.** When the run stops (Ctrl-C, SIGTERM, SIGHUP) while a case still measures, the
processes it ran are judged as they stand (`as_interrupted`): a case that has run its minimum keeps
`converged`, `modes`, `fixed` or `max_processes` where those hold (the first two only once its processes
sampled enough, above); any other stops `interrupted`, unconverged, its flag saying how many processes
ran (fewer than the minimum, however narrow their interval, are never converged). A case that ran no
process has no figure.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness.host.gate import BUSY_FLAG
from harness.measure.modes import MODES_FROM, Modes, find_modes
from harness.measure.outcome import ProcessRun
from harness.measure.stats import CI_METHOD, Interval, median_ci, optimal_iterations, robust_sd, variance_components
from harness.plan.spec import CaseSpec
from harness.store.calibration import Calibration

CONVERGED = "converged"
MODES = "modes"  # converged per mode: every mode's median within the precision
BUDGET = "budget"
MAX_PROCESSES = "max_processes"
OUT_OF_REACH = "out_of_reach"
FIXED = "fixed"
INTERRUPTED = "interrupted"  # the run stopped (Ctrl-C, SIGTERM, SIGHUP) while the case still measured
TIME_LIMIT = "time_limit"  # the run's time limit passed (the profile's `time_limit`, bank.py) before it converged
STOPS = (CONVERGED, MODES, BUDGET, MAX_PROCESSES, OUT_OF_REACH, FIXED, INTERRUPTED, TIME_LIMIT)
UNCONVERGED = (BUDGET, MAX_PROCESSES, OUT_OF_REACH, INTERRUPTED, TIME_LIMIT)
# In the flag of a case with modes that stopped short, before the widest mode's half-width (the reports read it)
WIDEST_MODE = "the widest mode's 95% CI ±"
# In the flag of a case the run stopped while it measured (the history's change detection leaves it out)
INTERRUPTED_TEXT = "the run was interrupted while it measured"


SAMPLE_SHARE = 0.2  # the share of its budget a case's processes take before it may converge or give up
MAX_WARMUPS = 500  # the most warm-ups `warmup_seconds` asks of a process
WARM_FRACTION = 0.25  # a process whose warm-ups lasted less than this fraction of `warmup_seconds` is cold
MAX_COLD = 2  # the most cold processes set aside per case
MAX_SPELL = 3  # the most processes set aside per case for a slow spell of the host
WARMING_RATIO = 1.3  # a process whose first half of measured iterations ran this much slower than its second: warming
WARMING_FROM = 4  # the fewest measured iterations that can show a process still warming up


def warmups_for(spec: CaseSpec, seconds_per_iteration: float) -> int:
    """The warm-ups of a process whose iterations last `seconds_per_iteration`: the spec's, unless they would
    last less than `WARM_FRACTION` of its `warmup_seconds`; then as many as last all of it, at most
    `MAX_WARMUPS` (and none where the spec asks for none)."""
    if (not spec.warmup_seconds or not spec.warmups or seconds_per_iteration <= 0
            or spec.warmups * seconds_per_iteration >= WARM_FRACTION * spec.warmup_seconds):
        return spec.warmups
    return min(MAX_WARMUPS, max(spec.warmups, math.ceil(spec.warmup_seconds / seconds_per_iteration)))


def steady_iteration(process: ProcessRun) -> float:
    """Seconds of one of a process's measured iterations: their median (0 when it measured none)."""
    measured = [it.elapsed for it in process.measured]
    return statistics.median(measured) if measured else 0.0


def warming(process: ProcessRun) -> bool:
    """Whether the process's measured iterations were still speeding up: the median of their first half at least
    `WARMING_RATIO` times that of their second (from `WARMING_FROM` of them; an odd count leaves the middle out)."""
    measured = [it.elapsed for it in process.measured]
    half = len(measured) // 2
    return (len(measured) >= WARMING_FROM
            and statistics.median(measured[:half]) >= WARMING_RATIO * statistics.median(measured[-half:]))


def cold(spec: CaseSpec, process: ProcessRun) -> bool:
    """Whether the process was not warmed up: it ran fewer warm-ups than its iterations ask for (`warmups_for`) and
    they lasted less than `WARM_FRACTION` of the spec's `warmup_seconds`, timed as its measured iterations' median
    (a JIT's first iterations are slow, not warm), or its measured iterations were still speeding up (`warming`).
    Never in a profile without a warm-up time, nor for a spec that asks for no warm-up."""
    if not spec.warmup_seconds or not spec.warmups:
        return False
    warmups, steady = sum(1 for it in process.iterations if it.warmup), steady_iteration(process)
    return (warmups < warmups_for(spec, steady) and warmups * steady < WARM_FRACTION * spec.warmup_seconds
            or warming(process))


def warmups_after(spec: CaseSpec, process: ProcessRun) -> int:
    """The warm-ups of the processes after a cold one: what its fastest iteration asks for (`warmups_for`: a cold
    process speeds up as it runs, and its median would ask for too few) and, where it was still warming up, twice
    the iterations it ran in all (it had not settled by its last); at most `MAX_WARMUPS`, and (in a profile with a
    budget) no more than its median iteration fits in a minimum process's share of the budget, nor fewer than the
    spec's (a rare fast mode is not a compiled loop: the module docstring)."""
    wanted = warmups_for(spec, min(it.elapsed for it in process.measured))
    if warming(process):
        wanted = max(wanted, min(MAX_WARMUPS, 2 * len(process.iterations)))
    steady = steady_iteration(process)
    if spec.budget and steady > 0:
        wanted = min(wanted, max(spec.warmups, int(spec.budget / max(1, spec.processes) / steady)))
    return wanted


def samples(processes: Sequence[ProcessRun]) -> list[list[float]]:
    """Measured wall times, one list per process."""
    return [[it.elapsed for it in p.measured] for p in processes]


def most_processes(spec: CaseSpec) -> int:
    return max(spec.max_processes, spec.processes)


def stop_reason(spec: CaseSpec, ci: Interval, processes: int, spent: float, next_cost: float, *,
                modal: bool = False, robust: float | None = None) -> str | None:
    """Why the case stops after `processes` processes and `spent` seconds, or None to run another.

    `ci` is the interval the case is judged on: its median's, or with `modal` (its processes fall
    into modes) the widest of its modes' medians'. `robust` (robust_half_width, of a case without
    modes) is what most processes' spread says of the median's half-width: `out_of_reach` projects
    from the narrower of the two."""
    if processes < spec.processes:
        return None
    if not spec.adaptive:
        return FIXED
    if ci.half_width <= spec.precision:
        return MODES if modal else CONVERGED
    if processes >= most_processes(spec):
        return MAX_PROCESSES
    if spec.budget and spent + next_cost > spec.budget:
        return BUDGET
    if (spec.reach and spec.budget and processes >= MODES_FROM
            and out_of_reach(spec, ci.half_width if robust is None or modal else min(ci.half_width, robust),
                             processes, spent, next_cost)):
        return OUT_OF_REACH
    return None


def sampled_enough(spec: CaseSpec, processes: int, spent: float, next_cost: float) -> bool:
    """Whether a case that would stop converged, on its modes or out of reach has sampled enough processes to: those
    it ran took `SAMPLE_SHARE` of its budget, or it ran its maximum, or the next would overrun the budget (the
    module docstring)."""
    if not spec.adaptive or not spec.budget or processes >= most_processes(spec):
        return True
    return spent >= SAMPLE_SHARE * spec.budget or spent + next_cost > spec.budget


def out_of_reach(spec: CaseSpec, half_width: float, processes: int, spent: float, next_cost: float) -> bool:
    """Whether every process the budget still pays for would leave the median's 95% half-width (relative) wider
    than the spec's `reach` times its precision, the interval narrowing as one over the root of the processes.

    Those processes would be spent on a case that stops unconverged all the same. `reach` is above
    1 because a projection from a few processes is coarse and later processes may run more
    iterations: a case near its precision runs on.
    """
    more = min(int((spec.budget - spent) / next_cost) if next_cost > 0 else 0,
               most_processes(spec) - processes)
    projected = half_width * (processes / (processes + max(0, more))) ** 0.5
    return projected > spec.reach * spec.precision


def costs(processes: Sequence[ProcessRun]) -> tuple[float, float]:
    """Seconds of a process beyond its measured iterations (start, warm-ups, exit), and of one iteration."""
    fixed = statistics.fmean(p.wall - sum(it.elapsed for it in p.measured) for p in processes)
    return max(0.0, fixed), statistics.fmean(it.elapsed for p in processes for it in p.measured)


def next_iterations(spec: CaseSpec, processes: Sequence[ProcessRun], spent: float = 0.0) -> int:
    """Measured iterations for the case's next process.

    The spec's own until two processes have run, then the split that buys the most precision
    (`optimal_iterations`, between `iterations` and `max_iterations`). Where an iteration is slow,
    the budget left, shared among the processes the minimum still asks for, may cut that count,
    never below one: where the iterations would cost more than the rest of the process (its start,
    warm-ups and exit). A process that is mostly its start and warm-ups (a JVM warming up its JIT)
    would save little by measuring fewer, and its median would rest on one or two.
    """
    if not spec.adaptive or not processes:
        return spec.iterations
    fixed, per_iteration = costs(processes)
    n = spec.iterations
    if len(processes) >= 2:
        n = optimal_iterations(fixed, per_iteration, variance_components(samples(processes)), spec.iterations,
                               max(spec.max_iterations, spec.iterations))
    if spec.budget and per_iteration > 0 and n * per_iteration > fixed:
        owed = max(1, spec.processes - len(processes))
        n = min(n, max(1, int(((spec.budget - spent) / owed - fixed) / per_iteration)))
    return n


def process_cost(processes: Sequence[ProcessRun], iterations: int) -> float:
    """Seconds a process of `iterations` measured iterations is expected to take, from those that ran."""
    if not processes:
        return 0.0
    fixed, per_iteration = costs(processes)
    return fixed + iterations * per_iteration


def _limit(spec: CaseSpec, stop: str) -> str:
    """Which limit stopped an unconverged case, in words."""
    return {BUDGET: f"its {spec.budget:g} s budget was spent",
            OUT_OF_REACH: f"what was left of its {spec.budget:g} s budget could not narrow it that far",
            INTERRUPTED: INTERRUPTED_TEXT, TIME_LIMIT: "the run's time limit had passed"}.get(
        stop, f"{most_processes(spec)} processes ran")


def wider(half_width: float, precision: float) -> str:
    """`half_width` as a percentage with the decimals that show it wider than `precision`: ±2.04% rather than a
    ±2.0% that reads as the ±2% it missed (one decimal where it is not wider)."""
    for decimals in (1, 2, 3):
        text = f"{half_width:.{decimals}%}"
        if half_width <= precision or float(text[:-1]) > precision * 100:
            return text
    return text


def _short_of(spec: CaseSpec, stop: str, ci: Interval) -> str:
    """`x%, wider than the ±p% asked; <the limit it stopped at>`: how far an interval fell short, and why."""
    return (f"{wider(ci.half_width, spec.precision)}, wider than the ±{spec.precision:.0%} asked; "
            f"{_limit(spec, stop)}")


def unconverged_flag(spec: CaseSpec, stop: str, ci: Interval) -> str:
    """The flag of a case that stopped before its CI reached the spec's precision."""
    return f"unconverged: 95% CI of the median ±{_short_of(spec, stop, ci)}"


def process_medians(processes: Sequence[ProcessRun]) -> list[float]:
    """One value per process, the median of its measured iterations: the unit modes are found in."""
    return [statistics.median(it.elapsed for it in p.measured) for p in processes]


def robust_half_width(medians: Sequence[float]) -> float | None:
    """The 95% half-width of the median of `medians` (per-process values), relative to it, from their median
    absolute deviation: what the spread of most of them says, one far process apart (None below two).

    `robust_sd` estimates a normal spread's standard deviation, 1.2533 / sqrt(n) scales that to the
    standard error of a median, 1.96 to a 95% half-width."""
    if len(medians) < 2:
        return None
    centre = statistics.median(medians)
    if centre <= 0:
        return None
    return 1.96 * 1.2533 * robust_sd([m - centre for m in medians]) / math.sqrt(len(medians)) / centre


def case_modes(processes: Sequence[ProcessRun]) -> Modes:
    return find_modes(process_medians(processes))


def widest_mode_ci(processes: Sequence[ProcessRun], modes: Modes, seed: int) -> Interval:
    """The widest of the intervals of each mode's median, each over that mode's processes only."""
    walls = samples(processes)
    cis = [median_ci([walls[i] for i in m.processes], seed=seed) for m in modes.modes]
    return max(cis, key=lambda ci: ci.half_width)


@dataclass(frozen=True)
class Stopped:
    """Why a case stopped, with its median's interval, its modes, and the interval it was judged on."""

    why: str  # one of STOPS
    ci: Interval  # of the median of every process
    modes: Modes
    judged: Interval  # `ci`, or with modes the widest mode's
    robust: float | None = None  # robust_half_width of the per-process medians

    def flags(self, spec: CaseSpec) -> tuple[str, ...]:
        """`modes: ...` for a case whose processes fall into modes, `unconverged: ...` for one stopped short."""
        if self.modes.multimodal:
            short = "" if self.why not in UNCONVERGED else (
                f"; {WIDEST_MODE}{_short_of(spec, self.why, self.judged)}")
            return (self.modes.flag() + short,)
        if self.why == INTERRUPTED:
            return (f"unconverged: {INTERRUPTED_TEXT}, after {self.modes.n} of its processes "
                    f"(at least {spec.processes} asked); 95% CI of the median ±{self.ci.half_width:.1%}, "
                    f"±{spec.precision:.0%} asked",)
        if self.why in UNCONVERGED:
            return (unconverged_flag(spec, self.why, self.ci),)
        return ()


def judge(spec: CaseSpec, processes: Sequence[ProcessRun], spent: float, next_cost: float,
          seed: int) -> Stopped | None:
    """Whether the case stops now (the module docstring's rules), and how it stands; None to run another."""
    stands = _standing(processes, seed)
    why = stop_reason(spec, stands.judged, len(processes), spent, next_cost, modal=stands.modes.multimodal,
                      robust=stands.robust)
    if why in (CONVERGED, MODES, OUT_OF_REACH) and not sampled_enough(spec, len(processes), spent, next_cost):
        return None
    return replace(stands, why=why) if why else None


def as_interrupted(spec: CaseSpec, processes: Sequence[ProcessRun], seed: int, spent: float) -> Stopped:
    """How a case that has run processes (one at least, `spent` seconds) stands when the run stops: converged,
    modes, fixed or max_processes where they already say so (never below the spec's minimum, nor converged before
    its processes sampled enough: `sampled_enough`), else `interrupted` (unconverged)."""
    stands = _standing(processes, seed)
    why = stop_reason(spec, stands.judged, len(processes), 0.0, 0.0, modal=stands.modes.multimodal)
    if why in (CONVERGED, MODES) and not sampled_enough(spec, len(processes), spent, 0.0):
        why = INTERRUPTED
    return replace(stands, why=why if why in (CONVERGED, MODES, FIXED, MAX_PROCESSES) else INTERRUPTED)


def at_time_limit(spec: CaseSpec, processes: Sequence[ProcessRun], seed: int) -> Stopped:
    """How a case stands that would run another round when the run's time limit has passed (bank.py): `converged`
    or `modes` where its interval is within the precision although its processes have not yet sampled enough (as
    when the next would overrun its budget: no process can sample more), else `time_limit`, unconverged."""
    stands = _standing(processes, seed)
    why = stop_reason(spec, stands.judged, len(processes), 0.0, 0.0, modal=stands.modes.multimodal)
    return replace(stands, why=why if why in (CONVERGED, MODES) else TIME_LIMIT)


def _standing(processes: Sequence[ProcessRun], seed: int) -> Stopped:
    """The median's interval, the modes and the interval judged of `processes` (`why` left empty)."""
    ci = case_ci(processes, seed)
    modes = case_modes(processes)
    judged = widest_mode_ci(processes, modes, seed) if modes.multimodal else ci
    return Stopped("", ci, modes, judged, robust_half_width(process_medians(processes)))


@dataclass(frozen=True)
class BatchDetail:
    """What a batch case records beyond its processes: why it stopped, how precise, in what order, at what size."""

    stop: str  # one of STOPS
    ci: Interval  # of the median wall time per iteration
    precision: float  # the half-width asked (0: fixed repetitions)
    seed: int  # the run's seed, which ordered the unit's processes
    slots: tuple[int, ...]  # positions of this case's processes (the baseline first) in its unit's launch order
    calibrated: str = ""  # "run" (calibrated by this run), "stored" (a stored size), "" (size as written)
    calibration: Calibration | None = None
    modes: Modes | None = None  # of the per-process medians (None: a record written before modes were looked for)
    cold: int = 0  # processes set aside because their warm-ups were too short (module docstring)
    spell: int = 0  # processes set aside because they ran in a slow spell of the host (module docstring)

    def to_dict(self) -> dict[str, Any]:
        return {"stop": self.stop, "precision": self.precision, "cold": self.cold, "spell": self.spell,
                "ci": {"method": CI_METHOD, "level": self.ci.level, "median": self.ci.median, "low": self.ci.low,
                       "high": self.ci.high, "half_width": self.ci.half_width},
                "seed": self.seed, "slots": list(self.slots), "calibrated": self.calibrated,
                "calibration": self.calibration.to_dict() if self.calibration else None,
                "modes": self.modes.to_dict() if self.modes else None}

    @property
    def multimodal(self) -> bool:
        return self.modes is not None and self.modes.multimodal

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BatchDetail:
        ci = d["ci"]
        cal = d.get("calibration")
        modes = d.get("modes")  # absent from run.json written before modes were looked for
        return cls(stop=str(d["stop"]), ci=Interval(float(ci["median"]), float(ci["low"]), float(ci["high"]),
                                                     float(ci["level"])),
                   precision=float(d["precision"]), seed=int(d["seed"]), slots=tuple(int(s) for s in d["slots"]),
                   calibrated=str(d.get("calibrated", "")),
                   calibration=Calibration.from_dict(cal) if isinstance(cal, Mapping) else None,
                   modes=Modes.from_dict(modes) if isinstance(modes, Mapping) else None, cold=int(d.get("cold", 0)),
                   spell=int(d.get("spell", 0)))


def spell_flag(kept: int, processes: int, set_aside: int) -> str:
    """The flag of a case that kept processes measured in a slow spell of the host."""
    return (f"{BUSY_FLAG}: {kept} of its {processes} processes ran while the host's own hand-off probes found it in "
            f"a slow spell, after {set_aside} such were set aside (harness/host/drift.py)")


def case_ci(processes: Sequence[ProcessRun], seed: int) -> Interval:
    return median_ci(samples(processes), seed=seed)
