"""Reference models: what every iteration of a batch workload must print.

Each workload has one function from its parameters to the expected result fields. The harness
checks every iteration of every run against these; a mismatch fails the case. The functions
are exact (64-bit wrapping arithmetic) and cached, because one case checks many iterations.

Most fields have one right value. A few have a range of right values (mutex_counter's `racy`
mode, where lost updates are the point): those expect a `Within`, which compares equal to every
integer in its range, the way `pytest.approx` compares equal to every number near its value.
`check` applies the whole model to one printed line and says what is wrong, if anything.

Calibrated sizes give every implementation, and every attempt of a size search, its own item
count, up to millions. worker_pool and pipeline fold their items in order from the first, so a
fold's state is kept at every multiple of `CHUNK` items: any count then costs the items past
the nearest kept state below it (at most `CHUNK`), plus whatever extends the largest count seen.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
PIPELINE_MUL = 6364136223846793005
FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211

Params = Mapping[str, int | str]


class Within(int):
    """An expected integer that accepts a range: `Within(1, 10) == 7` is true.

    Its own value is the range's top, the answer with nothing lost (what a program that prints
    the ideal answer would print); it compares equal to every integer in [low, high] and to
    nothing else, the way `pytest.approx` compares equal to every number near its value.
    """

    low: int

    def __new__(cls, low: int, high: int) -> Within:
        self = super().__new__(cls, high)
        self.low = low
        return self

    @property
    def high(self) -> int:
        return int(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Within):
            return (self.low, self.high) == (other.low, other.high)
        return isinstance(other, int) and not isinstance(other, bool) and self.low <= other <= self.high

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # equal to many integers, so it cannot hash like any one of them

    def __str__(self) -> str:
        return f"an integer in [{self.low}, {self.high}]"

    def __repr__(self) -> str:
        return f"Within({self.low}, {self.high})"


Expected = dict[str, int]  # a value may be a Within


def splitmix64(x: int) -> int:
    """One splitmix64 step on an unsigned 64-bit integer (the shared helper of the workloads)."""
    x = (x + GOLDEN) & MASK64
    z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def _splitmix64_array(x: np.ndarray) -> np.ndarray:
    """splitmix64 over a uint64 array; numpy's uint64 arithmetic wraps like the workloads'."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(GOLDEN)
        z = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


CHUNK = 1 << 16  # items between two kept states of a fold
SPAN = 64  # chunks whose values numpy computes at once when a fold extends


class _Fold:
    """A fold over items 0, 1, 2, ... in order, with its state kept at every multiple of CHUNK.

    `values(lo, hi)` gives the items [lo, hi) as a uint64 array; `fold(state, values)` the state
    after also folding them.
    """

    def __init__(self, initial: tuple[int, ...], values: Callable[[int, int], np.ndarray],
                 fold: Callable[[tuple[int, ...], np.ndarray], tuple[int, ...]]) -> None:
        self.states = [initial]  # states[k]: the state after items [0, k * CHUNK)
        self.values, self.fold = values, fold

    def after(self, n: int) -> tuple[int, ...]:
        """The state after items [0, n)."""
        k = n // CHUNK
        while len(self.states) <= k:
            lo = (len(self.states) - 1) * CHUNK
            block = self.values(lo, lo + min(SPAN, k + 1 - len(self.states)) * CHUNK)
            for i in range(0, len(block), CHUNK):
                self.states.append(self.fold(self.states[-1], block[i:i + CHUNK]))
        return self.fold(self.states[k], self.values(k * CHUNK, n)) if n % CHUNK else self.states[k]


def _wrapping_sum(state: tuple[int, ...], values: np.ndarray) -> tuple[int, ...]:
    return ((state[0] + int(values.sum(dtype=np.uint64))) & MASK64,)


@functools.lru_cache(maxsize=16)
def _worker_pool_fold(rounds: int) -> _Fold:
    def values(lo: int, hi: int) -> np.ndarray:
        out = np.arange(lo, hi, dtype=np.uint64)
        for _ in range(rounds):
            out = _splitmix64_array(out)
        return out

    return _Fold((0,), values, _wrapping_sum)


@functools.lru_cache(maxsize=64)
def _worker_pool(tasks: int, rounds: int) -> Expected:
    return {"count": tasks, "checksum": _worker_pool_fold(rounds).after(tasks)[0]}


def worker_pool(p: Params) -> Expected:
    """Task i applies splitmix64 `rounds` times to i; checksum is the wrapping sum."""
    return _worker_pool(int(p["tasks"]), int(p["rounds"]))


def _sum_and_order(state: tuple[int, ...], values: np.ndarray) -> tuple[int, ...]:
    total, order = state
    for x in values.tolist():
        order = ((order ^ x) * FNV_PRIME) & MASK64
    return (total + int(values.sum(dtype=np.uint64))) & MASK64, order


@functools.lru_cache(maxsize=16)
def _pipeline_fold(stages: int) -> _Fold:
    def values(lo: int, hi: int) -> np.ndarray:
        out = np.arange(lo + 1, hi + 1, dtype=np.uint64)  # item k carries the value k + 1
        with np.errstate(over="ignore"):
            for stage in range(1, stages + 1):
                out = out * np.uint64(PIPELINE_MUL) + np.uint64(stage)
        return out

    return _Fold((0, FNV_OFFSET), values, _sum_and_order)


@functools.lru_cache(maxsize=64)
def _pipeline(items: int, stages: int) -> Expected:
    total, order = _pipeline_fold(stages).after(items)
    return {"count": items, "sum": total, "ord": order}


def pipeline(p: Params) -> Expected:
    """Items 1..M pass stages 1..k in order; the sink folds count, sum and an order hash."""
    return _pipeline(int(p["items"]), int(p["stages"]))


def mutex_counter(p: Params) -> Expected:
    """T workers add 1 I times each to one shared counter: nothing may be lost under a mutex or
    an atomic add. In `racy` mode (unsynchronised load, add, store) updates may be lost on
    purpose: any final count from 1 to T * I is right; more than T * I, or nothing, is not."""
    total = int(p["threads"]) * int(p["increments"])
    if p.get("mode") == "racy":
        return {"final": Within(min(1, total), total)}
    return {"final": total}


def ping_pong(p: Params) -> Expected:
    """Each of the 2R hops adds 1 to the token."""
    roundtrips = int(p["roundtrips"])
    return {"roundtrips": roundtrips, "token": 2 * roundtrips}


def spawn_idle(p: Params) -> Expected:
    """Every spawned task finished."""
    return {"done": int(p["tasks"])}


def preemption(p: Params) -> Expected:
    """Every sleep was made (how late each ended is recorded, not checked)."""
    return {"sleeps": int(p["sleeps"])}


REFERENCES: dict[str, Callable[[Params], Expected]] = {
    "worker_pool": worker_pool,
    "pipeline": pipeline,
    "mutex_counter": mutex_counter,
    "ping_pong": ping_pong,
    "spawn_idle": spawn_idle,
    "preemption": preemption,
}


def expected(workload: str, params: Params) -> Expected:
    """The result fields every iteration of `workload` with `params` must print."""
    return REFERENCES[workload](params)


def _lost_updates(p: Params, fields: Mapping[str, Any]) -> str | None:
    """racy mode's `lost_updates`, when printed, must be T * I - final."""
    if p.get("mode") != "racy" or "lost_updates" not in fields:
        return None
    total = int(p["threads"]) * int(p["increments"])
    final, lost = fields.get("final"), fields["lost_updates"]
    if isinstance(final, int) and lost != total - final:
        return f"lost_updates is {lost!r}, but T * I - final = {total - final}"
    return None


# Checks of info fields that must agree with the result fields (info fields are otherwise free).
CONSISTENCY: dict[str, Callable[[Params, Mapping[str, Any]], str | None]] = {
    "mutex_counter": _lost_updates,
}


def check(workload: str, params: Params, fields: Mapping[str, Any]) -> str | None:
    """What is wrong with one iteration's printed fields, or None when they are right.

    Every expected field must be present and equal to its model (a `Within` accepts its range;
    booleans are never integers); a workload may also check that its info fields agree.
    """
    for name, want in expected(workload, params).items():
        got = fields.get(name)
        if got is None:
            return f"{name} is missing, expected {want}"
        if isinstance(got, bool) or not isinstance(got, int) or got != want:  # 100.0 is not the integer 100
            return f"wrong {name}: got {got!r}, expected {want}"
    consistent = CONSISTENCY.get(workload)
    return consistent(params, fields) if consistent else None
