"""Runs the warm-up and measured iterations of a batch workload and prints one line each."""

import json
import sys
from collections.abc import Awaitable, Callable

import mutex_counter
import ping_pong
import pipeline
import preemption
import spawn_idle
import worker_pool

Result = tuple[int, dict[str, int]]

WORKLOADS: dict[str, Callable[..., Awaitable[Result]]] = {
    "worker_pool": worker_pool.run,
    "pipeline": pipeline.run,
    "mutex_counter": mutex_counter.run,
    "ping_pong": ping_pong.run,
    "spawn_idle": spawn_idle.run,
    "preemption": preemption.run,
}


async def run(workload: str, params: dict, warmups: int, iterations: int) -> None:
    """Every iteration runs on the caller's event loop and builds its own tasks and queues."""
    iteration_fn = WORKLOADS[workload]
    out = sys.stdout
    for iteration in range(warmups + iterations):
        elapsed_ns, fields = await iteration_fn(**params)
        line = {
            "workload": workload,
            "iteration": iteration,
            "warmup": iteration < warmups,
            "elapsed_ns": elapsed_ns,
            **fields,
        }
        out.write(json.dumps(line) + "\n")
        out.flush()
