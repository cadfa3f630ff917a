"""Reference measurements: what the operating system's own primitives cost on this host.

The documents compare a process switch with a thread switch, and thread creation with fork
(000 §2.1). No implementation here is a set of processes, so these are measured beside the
workloads, each pinned to one CPU (the same as `taskset -c N`; the cross-CPU hand-off to two),
and stored in run.json under `reference_measurements`:

- process_switch: `perf bench -f simple sched pipe -l L`, two processes passing a token over
  pipes; one value = seconds / (2 L), one switch (a round trip is two).
- thread_switch: the same with `-T`, two threads of one process.
- process_create: reference_spawn.c, fork + _exit in the child + waitpid, C times; one value =
  ns per fork, the mean over C.
- thread_create: reference_spawn.c, pthread_create + pthread_join, C times; ns per thread.
- cross_cpu_switch: reference_spawn.c, two threads of one process pinned to two CPUs (the
  measured one and the run's next), passing a byte over pipes H times; one value = ns per
  hand-off, half a round trip. thread_switch's method with the threads on two CPUs: the
  cross-CPU wake-up every `spread` hand-off pays, which a virtual machine's host can make several
  times dearer from one hour to the next (so the nightly sees such a step as the host's).
  Skipped on a run with one CPU.

A switch here includes the pipe read and write around it, as a ping_pong hop includes the
model's hand-off. Each is repeated R times, so every figure has n = R values. A measurement
that cannot be taken (perf missing or not permitted, no C compiler) is listed as skipped with
the reason; nothing else is affected. When other processes kept the host busy while they ran
(harness/host/gate.py `OthersWatch`, the rule every case is flagged by), the result carries
that flag, and the claims ledger does not judge from flagged figures.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.host.gate import OthersWatch
from harness.measure.ccache import compiled
from harness.measure.process import child_env, run_child
from harness.measure.stats import Summary, summarize

SCHEMA = 1
SOURCE = Path(__file__).with_name("spawn_cost.c")
TIMEOUT = 120.0  # seconds per command

# A command runner: (argv, cpu) -> (exit status, stdout, stderr). Tests pass a fake.
Runner = Callable[[Sequence[str], int], tuple[int, str, str]]


@dataclass(frozen=True)
class Reference:
    """One reference measurement: R values of one figure, in `unit`."""

    name: str
    unit: str
    values: tuple[float, ...]
    method: str  # the command, as a reader would type it

    @property
    def summary(self) -> Summary:
        return summarize(self.values)

    def as_dict(self) -> dict[str, Any]:
        s = self.summary
        return {"name": self.name, "unit": self.unit, "method": self.method, "n": s.n, "median": s.median,
                "q1": s.q1, "q3": s.q3, "values": list(self.values)}


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class ReferenceMeasurements:
    """What one run measured of the host's primitives (run.json `reference_measurements`)."""

    cpu: int
    measured: tuple[Reference, ...]
    skipped: tuple[Skipped, ...] = ()
    flags: tuple[str, ...] = ()  # why the figures should be read with care (a busy host)

    def get(self, name: str) -> Reference | None:
        return next((r for r in self.measured if r.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "cpu": self.cpu, "measured": [r.as_dict() for r in self.measured],
                "skipped": [s.as_dict() for s in self.skipped], "flags": list(self.flags)}

    @classmethod
    def from_dict(cls, data: Any, where: str = "reference_measurements") -> ReferenceMeasurements:
        """Read what `as_dict` wrote; a damaged or newer value is a UserError naming `where`."""
        if not isinstance(data, Mapping):
            raise UserError(f"{where}: is not an object; the file is damaged")
        schema = data.get("schema")
        if not isinstance(schema, int) or schema > SCHEMA:
            raise UserError(f"{where}: schema {schema!r} is newer than this cmbench reads ({SCHEMA}); update cmbench")
        try:
            measured = tuple(Reference(str(r["name"]), str(r["unit"]), tuple(float(v) for v in r["values"]),
                                       str(r.get("method", ""))) for r in data.get("measured", []))
            skipped = tuple(Skipped(str(s["name"]), str(s["reason"])) for s in data.get("skipped", []))
            flags = tuple(str(f) for f in data.get("flags", []))
            cpu = int(data["cpu"])
        except (KeyError, TypeError, ValueError) as e:
            raise UserError(f"{where}: malformed ({type(e).__name__}: {e}); the file is damaged") from None
        if any(not r.values for r in measured):
            raise UserError(f"{where}: a measurement has no values; the file is damaged")
        return cls(cpu, measured, skipped, flags)


def run_pinned(argv: Sequence[str], cpu: int) -> tuple[int, str, str]:
    r = run_child(argv, cwd=Path.cwd(), env=child_env(), cpus=(cpu,), timeout=TIMEOUT, measure=False)
    if r.timed_out:
        return -1, r.stdout, f"no result after {TIMEOUT:g} s; killed"
    return r.returncode, r.stdout, r.stderr


def _why(code: int, stderr: str) -> str:
    tail = " | ".join(stderr.strip().splitlines()[-3:])
    return f"exit status {code}" + (f": {tail}" if tail else "")


def _switches(name: str, threads: bool, cpu: int, repeats: int, loops: int, run: Runner) -> Reference | Skipped:
    perf = shutil.which("perf")
    if perf is None:
        return Skipped(name, "perf is not installed (apt-get install linux-perf)")
    argv = [perf, "bench", "-f", "simple", "sched", "pipe", *(["-T"] if threads else []), "-l", str(loops)]
    values = []
    for _ in range(repeats):
        code, out, err = run(argv, cpu)
        if code != 0:
            return Skipped(name, f"perf bench sched pipe failed ({_why(code, err)}); perf may not be permitted here")
        try:
            seconds = float(out.split()[0])
        except (IndexError, ValueError):
            return Skipped(name, f"perf bench printed {out.strip()[:80]!r}, not a time in seconds")
        values.append(seconds / (2 * loops) * 1e9)
    flag = " -T" if threads else ""
    method = f"taskset -c {cpu} perf bench -f simple sched pipe{flag} -l {loops}; seconds / (2 x {loops})"
    return Reference(name, "ns", tuple(values), method)


def spawn_values(name: str, args: Sequence[str], cpu: int, repeats: int, run: Runner,
                  program: Callable[[], Path]) -> tuple[float, ...] | Skipped:
    """The `repeats` lines reference-spawn prints for `args`, or why there are none."""
    try:
        binary = program()
    except UserError as e:
        return Skipped(name, str(e))
    code, out, err = run([str(binary), *args], cpu)
    if code != 0:
        return Skipped(name, f"reference-spawn {args[0]} failed ({_why(code, err)})")
    try:
        values = tuple(float(line) for line in out.split())
    except ValueError:
        return Skipped(name, f"reference-spawn printed {out.strip()[:80]!r}, not numbers")
    if len(values) != repeats:
        return Skipped(name, f"reference-spawn printed {len(values)} values, expected {repeats}")
    return values


def _creations(name: str, mode: str, cpu: int, repeats: int, count: int, run: Runner,
               program: Callable[[], Path]) -> Reference | Skipped:
    values = spawn_values(name, (mode, str(count), str(repeats)), cpu, repeats, run, program)
    if isinstance(values, Skipped):
        return values
    what = "pthread_create + pthread_join" if mode == "thread" else "fork + _exit + waitpid"
    return Reference(name, "ns", values, f"taskset -c {cpu} reference-spawn {mode} {count} {repeats} ({what}; "
                                          f"harness/host/spawn_cost.c)")


def _handoffs(name: str, cpu: int, other: int | None, repeats: int, count: int, run: Runner,
              program: Callable[[], Path]) -> Reference | Skipped:
    if other is None:
        return Skipped(name, "the run has one CPU: there is no other CPU to hand off to")
    values = spawn_values(name, ("handoff", str(count), str(repeats), str(cpu), str(other)), cpu, repeats, run,
                           program)
    if isinstance(values, Skipped):
        return values
    return Reference(name, "ns", values, f"reference-spawn handoff {count} {repeats} {cpu} {other} (two threads "
                                          f"pinned to CPU {cpu} and CPU {other} pass a byte over pipes; ns per "
                                          "hand-off; harness/host/spawn_cost.c)")


def spawn_program() -> Path:
    return compiled(SOURCE, "reference-spawn", flag_sets=(("-pthread",),))


def measure_references(cpu: int | None = None, *, other: int | None = None, repeats: int = 5,
                       switch_loops: int = 100_000, spawn_count: int = 2000, handoffs: int = 5000,
                       run: Runner = run_pinned,
                       program: Callable[[], Path] = spawn_program,
                       watch: Callable[[], OthersWatch] = OthersWatch) -> ReferenceMeasurements:
    """Measure every reference figure on one CPU (default: the first this process may use), the cross-CPU
    hand-off between it and `other` (None: skipped)."""
    if repeats < 1 or switch_loops < 1 or spawn_count < 1 or handoffs < 1:
        raise ValueError("repeats, switch_loops, spawn_count and handoffs must be at least 1")
    cpu = min(os.sched_getaffinity(0)) if cpu is None else cpu
    others = watch()
    found = [
        _switches("process_switch", False, cpu, repeats, switch_loops, run),
        _switches("thread_switch", True, cpu, repeats, switch_loops, run),
        _creations("process_create", "fork", cpu, repeats, spawn_count, run, program),
        _creations("thread_create", "thread", cpu, repeats, spawn_count, run, program),
        _handoffs("cross_cpu_switch", cpu, other, repeats, handoffs, run, program),
    ]
    flags = others.flags()
    return ReferenceMeasurements(cpu, tuple(f for f in found if isinstance(f, Reference)),
                                 tuple(f for f in found if isinstance(f, Skipped)), tuple(flags))
