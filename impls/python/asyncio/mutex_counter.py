"""mutex_counter: T tasks each add 1 to a shared counter I times, under an asyncio.Lock (mutex
mode) or with a plain `counter += 1` (racy mode)."""

import asyncio
from time import perf_counter_ns


async def run(threads: int, increments: int, mode: str):
    """One iteration: (elapsed_ns, result fields).

    Racy mode is the unsynchronised increment. A task switch can only happen at an `await`, and
    there is none between the read and the write of `counter += 1`, so on one event loop no
    update is lost: the race needs two tasks running at the same time, which asyncio never does.
    """
    if mode not in ("mutex", "racy"):
        raise ValueError(f"unsupported mode {mode!r}")
    lock = asyncio.Lock()
    counter = 0

    async def locked() -> None:
        nonlocal counter
        for _ in range(increments):
            async with lock:
                counter += 1

    async def racy() -> None:
        nonlocal counter
        for _ in range(increments):
            counter += 1

    worker = locked if mode == "mutex" else racy
    start = perf_counter_ns()
    async with asyncio.TaskGroup() as tg:
        for _ in range(threads):
            tg.create_task(worker())
    final = counter
    elapsed = perf_counter_ns() - start
    if mode == "racy":
        return elapsed, {"final": final, "lost_updates": threads * increments - final}
    return elapsed, {"final": final}
