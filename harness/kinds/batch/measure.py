"""Measuring a batch unit: sized cases, a start-up baseline each, then interleaved processes.

The cases of one workload case, across every implementation, form one unit whose processes
interleave in a seeded random order. Every line every process prints is parsed and checked
against the reference model at the size that ran; the first failure ends that case with a status
and the error text: it never becomes a figure.
"""

from __future__ import annotations

import itertools
import json
import random
import statistics
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace

from harness.host.info import environment
from harness.kinds.base import PAUSE, Pause, RunContext
from harness.kinds.batch import answers as reference
from harness.kinds.batch.bank import TimeBank
from harness.kinds.batch.calibrate import CONFIRM_PROCESSES, search
from harness.kinds.batch.repetition import (
    BUDGET,
    CONVERGED,
    MAX_COLD,
    MAX_SPELL,
    MODES,
    OUT_OF_REACH,
    BatchDetail,
    Stopped,
    as_interrupted,
    at_time_limit,
    cold,
    judge,
    next_iterations,
    process_cost,
    spell_flag,
    stop_reason,
    warmups_after,
    warmups_for,
)
from harness.manifests.model import PLACEMENT_PARAM, ParamValue, Workload
from harness.measure.outcome import CaseFailure, CaseResult, Iteration, ProcessRun
from harness.measure.process import ChildResult, Rusage
from harness.plan.spec import CaseSpec
from harness.store.calibration import Calibration, case_key
from harness.vocab import Status, fmt_seconds


def workload_args(workload: Workload, params: Mapping[str, ParamValue], warmups: int, iterations: int,
                  cpus: int, placed_by: str = "") -> list[str]:
    """`<workload> --param value ... --warmups W --iterations N --cpus P [--placement spread]` (the batch contract).

    Only the workload's own parameters become flags; `--placement spread` is added for a program that
    places its threads itself (`placed_by` "program").
    """
    words = [workload.name]
    for p in workload.params:
        words += [p.flag, str(params[p.name])]
    words += ["--warmups", str(warmups), "--iterations", str(iterations), "--cpus", str(cpus)]
    return words + (["--placement", str(params[PLACEMENT_PARAM])] if placed_by == "program" else [])


def _exact(got: object, want: object) -> bool:
    """JSON values equal in type as well as value: `1.0` is not `1`, and `true` is not `1`."""
    return type(got) is type(want) and got == want


def parse_output(stdout: str, workload: Workload, params: Mapping[str, int | str],
                 warmups: int, iterations: int, wall: float | None = None) -> tuple[Iteration, ...]:
    """Parse and check one process's stdout; raise CaseFailure on any deviation from the contract.

    Lines end at "\n" only (a U+2028 inside a JSON string is no line break). Every field must
    have the JSON type the contract gives it, and the iterations of one process cannot add up to
    more than `wall`, the seconds the process ran.
    """
    lines = [line for line in stdout.split("\n") if line.strip()]
    if len(lines) != warmups + iterations:
        raise CaseFailure("verify_failed", f"printed {len(lines)} lines, expected {warmups + iterations} (one per "
                          f"iteration, warm-ups first: --warmups {warmups} --iterations {iterations})")
    out = []
    total_ns = 0
    for k, line in enumerate(lines):
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as e:  # also integers past CPython's digit limit, deep nesting
            why = "is not JSON" if isinstance(e, json.JSONDecodeError) else f"is not usable JSON ({str(e)[:80]})"
            raise CaseFailure("verify_failed", f"line {k + 1} {why}: {line[:120]!r}") from None
        if not isinstance(obj, dict):
            raise CaseFailure("verify_failed", f"line {k + 1} is not a JSON object: {line[:120]!r}")
        want = {"workload": workload.name, "iteration": k, "warmup": k < warmups}
        for name, value in want.items():
            if not _exact(obj.get(name), value):
                got = "missing" if name not in obj else json.dumps(obj[name])[:80]
                raise CaseFailure("verify_failed", f"line {k + 1}: {name} is {got}, expected {json.dumps(value)}")
        elapsed = obj.get("elapsed_ns")
        if isinstance(elapsed, bool) or not isinstance(elapsed, int) or elapsed <= 0:
            raise CaseFailure("verify_failed", f"line {k + 1}: elapsed_ns must be an integer > 0, got {elapsed!r}")
        total_ns += elapsed
        if wall is not None and total_ns > wall * 1e9:
            raise CaseFailure("verify_failed", f"line {k + 1}: elapsed_ns {elapsed} brings the iterations to "
                              f"{total_ns / 1e9:.6g} s, more than the process ran ({wall:.6g} s)")
        wrong = reference.check(workload.name, params, obj)  # exact types; a racy answer may lie in a range
        if wrong:
            raise CaseFailure("verify_failed", f"iteration {k}: {wrong}")
        info = {n: obj[n] for n in workload.info_fields
                if isinstance(obj.get(n), int) and not isinstance(obj.get(n), bool)}
        out.append(Iteration(k, k < warmups, elapsed / 1e9, info))
    return tuple(out)


def _check_exit(r: ChildResult, timeout: float) -> None:
    if r.timed_out:
        raise CaseFailure("timeout", f"no result after {timeout:g} s; killed. stderr: {r.stderr_tail()}")
    if r.returncode != 0:
        how = f"killed by signal {-r.returncode}" if r.returncode < 0 else f"exit status {r.returncode}"
        raise CaseFailure("crashed", f"{how}; stderr: {r.stderr_tail()}")


class _Case:
    """One spec of a unit being measured: its processes so far, the seconds they took, where they ran in the order."""

    def __init__(self, ctx: RunContext, spec: CaseSpec) -> None:
        self.spec = spec
        self.workload, self.impl, self.variant = ctx.catalog.resolve(spec)
        self.processes: list[ProcessRun] = []
        self.baseline: Rusage | None = None
        self.spent = 0.0  # seconds inside the baseline and measured processes (their walls): the budget's
        self.seconds = 0.0  # seconds the harness spent on the case, calibration included
        self.slots: list[int] = []
        self.calibrated = ""
        self.calibration: Calibration | None = None
        self.run_seed = ctx.seed
        self.seed = zlib.crc32(f"{ctx.seed}/{spec.key}".encode())  # the bootstrap's
        self.borrowed = 0.0  # seconds of budget lent by the run's bank
        self.warmups = spec.warmups  # of the next process: more where its iterations are short (repetition.py)
        self.cold = 0  # processes set aside as not warmed up
        self.spell = 0  # processes set aside as measured in a slow spell of the host
        self.spell_kept = 0  # processes measured in one and kept, once `MAX_SPELL` were set aside

    def launch(self, ctx: RunContext, params: Mapping[str, ParamValue], warmups: int,
               iterations: int) -> tuple[ChildResult, tuple[Iteration, ...]]:
        """One process of the implementation; its output checked line by line (CaseFailure otherwise)."""
        spec = self.spec
        began = time.perf_counter()
        try:
            args = workload_args(self.workload, params, warmups, iterations, len(spec.cpus),
                                 str(spec.settings.get("placed_by", "")))
            r = ctx.executor.run(self.impl, self.variant, args, cpus=spec.cpus, timeout=spec.timeout)
            _check_exit(r, spec.timeout)
            return r, parse_output(r.stdout, self.workload, params, warmups, iterations, wall=r.wall)
        finally:
            self.seconds += time.perf_counter() - began

    def prepare(self, ctx: RunContext, slots: Iterator[int]) -> None:
        """Size the case (a stored calibration, or a search now), then run its start-up baseline.

        A search's last confirming processes ran the case's warm-ups and iterations at the size it runs
        (calibrate.py): they are kept as its first processes."""
        kept: list[ProcessRun] = []
        if self.spec.calibrate:
            self.spec, kept = self.size(ctx)
            if self.calibration is not None:
                self.warmups = warmups_for(self.spec, self.calibration.iteration_seconds)
        self.spent += sum(p.wall for p in kept)
        confirmed, kept = kept, []
        for p in confirmed:  # they ran the profile's warm-ups: too few once the size, or a cold one of them, asks more
            if sum(it.warmup for it in p.iterations) >= self.warmups and self.keep(p):
                kept.append(p)
        kept_slots = [next(slots) for _ in kept]
        try:
            r, _ = self.launch(ctx, self.spec.params, 0, 0)  # the same program doing no iteration
        except CaseFailure as f:
            raise CaseFailure(f.status, f"its start-up run (--warmups 0 --iterations 0): {f}") from None
        self.spent += r.wall
        self.baseline = r.rusage
        self.slots += [next(slots), *kept_slots]
        self.processes += kept

    def size(self, ctx: RunContext) -> tuple[CaseSpec, list[ProcessRun]]:
        """The spec at its calibrated size: the plan's when it was calibrated in this environment, else the one
        stored for this environment, else (and always with --recalibrate) one searched now and stored; with
        the processes of a search's last confirmation when they ran at that size."""
        spec = self.spec
        key = case_key(spec.workload, spec.case, spec.impl, spec.variant)
        stored = ctx.calibrations.sizes(ctx.fingerprint).get(key) if ctx.calibrations and ctx.fingerprint else None
        if stored is not None and stored.param != spec.calibrate:
            stored = None
        if not ctx.recalibrate:
            if spec.calibrated_for == ctx.fingerprint and not spec.pending:
                self.calibrated, self.calibration = "stored", stored
                return spec, []
            if stored is not None:
                self.calibrated, self.calibration = "stored", stored
                return spec.sized(stored.value, ctx.fingerprint), []
        param = spec.calibrate
        attempts: list[tuple[int, ProcessRun]] = []

        def measure(size: int, iterations: int) -> float:
            started = time.time()
            try:
                r, its = self.launch(ctx, {**spec.params, param: size}, spec.warmups, iterations)
            except CaseFailure as f:  # the case fails at the size that failed, which its spec then shows
                self.spec = spec.sized(size, ctx.fingerprint)
                raise CaseFailure(f.status, f"calibrating {param}={size}: {f}") from None
            attempts.append((size, ProcessRun(its, r.rusage, r.wall, r.cgroup_peak, started)))
            return statistics.median(it.elapsed for it in its if not it.warmup)

        found = search(measure, param=param, start=int(spec.settings["size_from"]),
                       cap=int(spec.settings["size_cap"]), target=spec.iteration_seconds,
                       clock=time.perf_counter, confirm_iterations=spec.iterations)
        self.calibrated, self.calibration = "run", found
        if ctx.calibrations is not None and ctx.fingerprint:
            ctx.calibrations.save(ctx.fingerprint, environment(ctx.environment), key, found)
        ctx.console.say(f"calibrated {spec.workload}[{spec.case}] {spec.label}: {param}={found.value} "
                        f"(~{fmt_seconds(found.iteration_seconds)} per iteration, {len(found.steps)} attempts, "
                        f"{found.seconds:.1f} s)")
        last = attempts[-CONFIRM_PROCESSES:]  # the last confirmation, kept when it ran at the size found
        kept = [p for _, p in last] if all(size == found.value for size, _ in last) else []
        return spec.sized(found.value, ctx.fingerprint), kept

    def measure(self, ctx: RunContext, slot: int, spell: bool = False) -> None:
        """One more process, of as many iterations as the repetition policy asks; with `spell` (the host's probes
        before this round found it in a slow spell), set aside while the case has set aside fewer than
        `MAX_SPELL`: its seconds count towards the budget, and a later process takes its place."""
        iterations = next_iterations(self.funded, self.processes, self.spent)
        started = time.time()
        try:
            r, its = self.launch(ctx, self.spec.params, self.warmups, iterations)
        except CaseFailure as f:  # the processes it measured before are not kept: a failing program has no figure
            if not self.processes:
                raise
            raise CaseFailure(f.status, f"process {len(self.processes) + self.cold + self.spell + 1}, after "
                              f"{len(self.processes)} that measured: {f}") from None
        self.spent += r.wall
        run = ProcessRun(its, r.rusage, r.wall, r.cgroup_peak, started)
        if not self.keep(run):
            return
        if spell and self.spell < MAX_SPELL:
            self.spell += 1
            return
        self.spell_kept += spell
        self.processes.append(run)
        self.slots.append(slot)

    def keep(self, run: ProcessRun) -> bool:
        """Whether a process counts: not when its warm-ups were too short for its iterations (repetition.py),
        which then sets the warm-ups of the processes after it."""
        if self.cold >= MAX_COLD or not cold(self.spec, run):
            return True
        self.cold += 1
        self.warmups = max(self.warmups, warmups_after(self.spec, run))
        return False

    def stop(self, bank: TimeBank | None = None) -> Stopped | None:
        """Why the case is finished, with its CI and modes; None while it needs another process.

        Where it would stop at its budget, or give up as out of reach, it first asks the run's
        bank (bank.py) whether seconds saved by converged cases would let it go on. Where it would go on
        once the run's time limit has passed (the bank is closed), it stops: `time_limit`, or `converged` where
        its interval is within the precision and it went on only to sample more (repetition.py `at_time_limit`).
        """
        if len(self.processes) < self.spec.processes:
            return None
        spec = self.funded
        cost = process_cost(self.processes, next_iterations(spec, self.processes, self.spent))
        stopped = judge(spec, self.processes, self.spent, cost, self.seed)
        if stopped is None and bank is not None and bank.closed():
            return at_time_limit(spec, self.processes, self.seed)
        why = stopped.why if stopped is not None else None
        if stopped is not None and why in (BUDGET, OUT_OF_REACH) and bank is not None and spec.budget:
            room = bank.available(2 * self.spec.budget - spec.budget)
            if room and stop_reason(replace(spec, budget=spec.budget + room), stopped.judged, len(self.processes),
                                    self.spent, cost, modal=stopped.modes.multimodal, robust=stopped.robust) is None:
                self.borrowed += bank.borrow(cost)
                return None
        if why in (CONVERGED, MODES) and bank is not None and self.spec.budget:
            bank.deposit(spec.budget - self.spent)
        return stopped

    def interrupted(self) -> CaseResult:
        """The case as it stands when the run stops while it measures: a figure of the processes it ran
        (repetition.py `as_interrupted`), or `interrupted` where it ran none."""
        if self.processes:
            return self.result(stop=as_interrupted(self.funded, self.processes, self.seed, self.spent))
        return self.result(Status.INTERRUPTED, "the run was interrupted before the case measured a process")

    @property
    def funded(self) -> CaseSpec:
        """The spec with its budget as the case has it now: its own and what it borrowed."""
        return replace(self.spec, budget=self.spec.budget + self.borrowed) if self.borrowed else self.spec

    def result(self, status: str = Status.OK, error: str = "", stop: Stopped | None = None) -> CaseResult:
        spec = self.spec
        flags: tuple[str, ...] = ()
        detail = None
        if stop is not None:
            flags = stop.flags(self.funded) + ((spell_flag(self.spell_kept, len(self.processes), self.spell),)
                                               if self.spell_kept else ())
            detail = BatchDetail(stop.why, stop.ci, spec.precision, self.run_seed, tuple(self.slots), self.calibrated,
                                 self.calibration, stop.modes, self.cold, self.spell)
        ok = status == Status.OK
        return CaseResult(
            key=spec.key, language=spec.language, model=spec.model, params={**spec.params, **spec.placement},
            status=status, error=error, operations=self.workload.operations_per_iteration(spec.params) if ok else 0,
            processes=tuple(self.processes) if ok else (), baseline=self.baseline if ok else None,
            seconds=self.seconds, kind="batch", flags=flags, detail=detail,
        )


def measure_unit(ctx: RunContext, unit: Sequence[CaseSpec], *, pausing: bool = False,
                 keep: bool = False) -> Iterator[CaseResult | Pause]:
    """Measure the cases of one unit, their processes interleaved in a seeded random order; each result when done.

    Every case is sized and gets its start-up baseline first (in a random order; a case sized now
    keeps the processes that confirmed its size as its first ones); then rounds follow, each running
    one process of every unfinished case in a fresh random order, so that a change of the host's
    load spreads over every implementation instead of hitting whichever ran last. A case leaves the
    rounds when the repetition policy stops it (harness/kinds/batch/repetition.py) or
    when it fails; a failure ends only that case. With `pausing`, PAUSE comes before every round but
    the first: a runner that takes the rounds of every unit in turn spreads each case's processes
    over the whole run (HostRun.execute_units in harness/engine/host.py), and probes the host before
    each visit: where the probes found it in a slow spell (`ctx.host_spell`, harness/host/drift.py),
    the round's processes are set aside, at most `MAX_SPELL` per case (repetition.py).

    With `keep`, for a consumer that reads to the end: when the run stops (KeyboardInterrupt: Ctrl-C,
    SIGTERM, SIGHUP, raised while a process runs or thrown in at a yield), every case not yet yielded
    is yielded as it stands (`_Case.interrupted`), then the interrupt goes on.
    """
    first = unit[0]
    order = random.Random(f"{ctx.seed}/{first.workload}/{first.case}")
    slots = itertools.count()
    cases = [_Case(ctx, s) for s in unit]
    live: list[_Case] = []
    done: set[int] = set()  # the cases whose result was yielded (by index in `cases`)

    def finish(case: _Case, result: CaseResult) -> CaseResult:
        done.add(cases.index(case))
        return result

    try:
        for case in order.sample(cases, len(cases)):
            try:
                case.prepare(ctx, slots)
                live.append(case)
            except CaseFailure as f:
                yield finish(case, case.result(f.status, str(f)))
        for round_ in itertools.count():
            for case in list(live):  # before a round: a case sized now may have its minimum processes already
                stop = case.stop(ctx.bank)
                if stop is not None:
                    live.remove(case)
                    yield finish(case, case.result(stop=stop))
            if not live:
                return
            if pausing and round_:
                yield PAUSE
            spell = pausing and ctx.host_spell is not None and ctx.host_spell()  # probed just before this visit
            for case in order.sample(live, len(live)):
                try:
                    case.measure(ctx, next(slots), spell)
                except CaseFailure as f:
                    live.remove(case)
                    yield finish(case, case.result(f.status, str(f)))
    except KeyboardInterrupt:  # the run stops: every case still measuring keeps what it measured, then it goes on
        if not keep:
            raise
        for k, case in enumerate(cases):
            if k not in done:
                done.add(k)
                yield case.interrupted()
        raise
