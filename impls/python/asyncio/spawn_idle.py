"""spawn_idle: N asyncio tasks alive at once: each awaits a gate, then asyncio.sleep(S ms)."""

import asyncio
from time import perf_counter_ns


async def run(tasks: int, sleep_ms: int):
    """One iteration: (elapsed_ns, result fields). Tasks have no stack of their own."""
    delay = sleep_ms / 1000
    done = 0
    gate = asyncio.Event()

    async def sleeper() -> None:
        nonlocal done
        await gate.wait()
        await asyncio.sleep(delay)
        done += 1

    start = perf_counter_ns()
    async with asyncio.TaskGroup() as tg:
        for _ in range(tasks):
            tg.create_task(sleeper())
        gate.set()
    finished = done
    elapsed = perf_counter_ns() - start
    return elapsed, {"done": finished, "stack_bytes": 0}
