"""worker_pool: asyncio.Queue(Q) feeding N worker tasks, or one task per id (N = 0)."""

import asyncio
from time import perf_counter_ns

from splitmix import MASK64, splitmix64_rounds

_STOP = None


async def _worker(queue: asyncio.Queue, rounds: int) -> tuple[int, int]:
    count = 0
    total = 0
    while (i := await queue.get()) is not _STOP:
        total = (total + splitmix64_rounds(i, rounds)) & MASK64
        count += 1
    return count, total


async def _pool(tasks: int, queue_size: int, workers: int, rounds: int):
    queue: asyncio.Queue = asyncio.Queue(queue_size)
    start = perf_counter_ns()
    async with asyncio.TaskGroup() as tg:
        handles = [tg.create_task(_worker(queue, rounds)) for _ in range(workers)]
        for i in range(tasks):
            await queue.put(i)
        for _ in range(workers):
            await queue.put(_STOP)
    results = [h.result() for h in handles]
    count = sum(c for c, _ in results)
    checksum = sum(s for _, s in results) & MASK64
    elapsed = perf_counter_ns() - start
    return elapsed, {"count": count, "checksum": checksum}


async def _one(i: int, rounds: int) -> int:
    return splitmix64_rounds(i, rounds)


async def _spawn(tasks: int, rounds: int):
    start = perf_counter_ns()
    async with asyncio.TaskGroup() as tg:
        handles = [tg.create_task(_one(i, rounds)) for i in range(tasks)]
    checksum = sum(h.result() for h in handles) & MASK64
    elapsed = perf_counter_ns() - start
    return elapsed, {"count": len(handles), "checksum": checksum}


async def run(tasks: int, queue: int, workers: int, rounds: int):
    """One iteration: (elapsed_ns, result fields)."""
    if workers == 0:
        return await _spawn(tasks, rounds)
    return await _pool(tasks, queue, workers, rounds)
