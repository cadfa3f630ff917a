"""Cutting a plan into shards for a CI job matrix: whole units, balanced by their estimates.

`cmbench run --shard I/N` (and `cmbench plan --shard I/N`) keeps the units of shard I of N:
every job of a matrix plans the same cases and keeps its own part, and `cmbench merge` joins
the runs afterwards (harness/engine/merge.py). A unit (what must run together, in one place, in order:
a batch case, or a server's phases) is never split.

Units go to shards longest first, each to the shard with the least estimated time so far (the
classic LPT rule; ties to the lowest shard), so shards take about as long as each other. The
estimates must therefore be the same in every job: plan once and pass the file (`--plan`), or
let each job plan from the manifests alone, which `--shard` does without `--plan`.
"""

from __future__ import annotations

import re
from dataclasses import replace

from harness.errors import UsageError
from harness.kinds import plan_units
from harness.plan.spec import Plan, Shard

_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(text: str, flag: str = "--shard") -> tuple[int, int]:
    """`I/N` -> (I, N) with 1 <= I <= N; UserError otherwise."""
    m = _SHARD.fullmatch(text or "")
    if not m:
        raise UsageError(f"{flag}: {text!r} is not I/N (say 2/4 for the second of four shards)")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"{flag}: {text!r}: I must be between 1 and N, and N at least 1")
    return index, count


def assign_units(plan: Plan, count: int) -> list[int]:
    """The shard (0-based) of each unit of `plan`, in the order of `plan_units`."""
    units = plan_units(plan)
    load = [0.0] * count
    shard_of = [0] * len(units)
    longest_first = sorted(range(len(units)), key=lambda i: (-sum(s.estimate for s in units[i]), i))
    for i in longest_first:
        target = min(range(count), key=lambda k: (load[k], k))
        shard_of[i] = target
        load[target] += sum(s.estimate for s in units[i])
    return shard_of


def shard_plan(plan: Plan, index: int, count: int) -> Plan:
    """Shard `index` (1-based) of `count` of `plan`: its units' cases, in the plan's order."""
    if plan.shard is not None:
        raise UsageError(f"--shard: the plan is already shard {plan.shard.label}; shard the whole plan instead")
    units = plan_units(plan)
    mine = {s.key for unit, shard in zip(units, assign_units(plan, count)) if shard == index - 1 for s in unit}
    return replace(plan, cases=tuple(s for s in plan.cases if s.key in mine), shard=Shard(index, count, plan.digest()))
