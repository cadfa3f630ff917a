"""Reference models: what every iteration of a batch workload must print.

Each workload has one function from its parameters to the expected result fields. The harness
checks every iteration of every run against these; a mismatch fails the case. The functions
are exact (64-bit wrapping arithmetic) and cached, because one case checks many iterations.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import numpy as np

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
PIPELINE_MUL = 6364136223846793005
FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211

Params = Mapping[str, int | str]
Expected = dict[str, int]


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


@functools.lru_cache(maxsize=64)
def _worker_pool(tasks: int, rounds: int) -> Expected:
    values = np.arange(tasks, dtype=np.uint64)
    for _ in range(rounds):
        values = _splitmix64_array(values)
    checksum = int(values.sum(dtype=np.uint64)) if tasks else 0
    return {"count": tasks, "checksum": checksum}


def worker_pool(p: Params) -> Expected:
    """Task i applies splitmix64 `rounds` times to i; checksum is the wrapping sum."""
    return _worker_pool(int(p["tasks"]), int(p["rounds"]))


@functools.lru_cache(maxsize=64)
def _pipeline(items: int, stages: int) -> Expected:
    values = np.arange(1, items + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for stage in range(1, stages + 1):
            values = values * np.uint64(PIPELINE_MUL) + np.uint64(stage)
    order = FNV_OFFSET
    for x in values.tolist():
        order = ((order ^ x) * FNV_PRIME) & MASK64
    total = int(values.sum(dtype=np.uint64)) if items else 0
    return {"count": items, "sum": total, "ord": order}


def pipeline(p: Params) -> Expected:
    """Items 1..M pass stages 1..k in order; the sink folds count, sum and an order hash."""
    return _pipeline(int(p["items"]), int(p["stages"]))


def mutex_counter(p: Params) -> Expected:
    """T workers add 1 I times each to one shared counter: nothing may be lost."""
    return {"final": int(p["threads"]) * int(p["increments"])}


def ping_pong(p: Params) -> Expected:
    """Each of the 2R hops adds 1 to the token."""
    roundtrips = int(p["roundtrips"])
    return {"roundtrips": roundtrips, "token": 2 * roundtrips}


def spawn_idle(p: Params) -> Expected:
    """Every spawned task finished."""
    return {"done": int(p["tasks"])}


REFERENCES: dict[str, Callable[[Params], Expected]] = {
    "worker_pool": worker_pool,
    "pipeline": pipeline,
    "mutex_counter": mutex_counter,
    "ping_pong": ping_pong,
    "spawn_idle": spawn_idle,
}


def expected(workload: str, params: Params) -> Expected:
    """The result fields every iteration of `workload` with `params` must print."""
    return REFERENCES[workload](params)
