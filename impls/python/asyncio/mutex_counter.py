"""mutex_counter: T tasks each take an asyncio.Lock I times to add 1 to a shared counter."""

import asyncio
from time import perf_counter_ns


async def run(threads: int, increments: int, mode: str):
    """One iteration: (elapsed_ns, result fields). Only mode "mutex" exists here."""
    if mode != "mutex":
        raise ValueError(f"unsupported mode {mode!r}")
    lock = asyncio.Lock()
    counter = 0

    async def worker() -> None:
        nonlocal counter
        for _ in range(increments):
            async with lock:
                counter += 1

    start = perf_counter_ns()
    async with asyncio.TaskGroup() as tg:
        for _ in range(threads):
            tg.create_task(worker())
    final = counter
    elapsed = perf_counter_ns() - start
    return elapsed, {"final": final}
