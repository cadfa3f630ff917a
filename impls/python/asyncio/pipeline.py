"""pipeline: producer -> k stage tasks -> sink over k+1 asyncio.Queue(C), None as end marker."""

import asyncio
from time import perf_counter_ns

from splitmix import MASK64

MULTIPLIER = 6364136223846793005
FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211
_END = None


async def _producer(out: asyncio.Queue, items: int) -> None:
    for x in range(1, items + 1):
        await out.put(x)
    await out.put(_END)


async def _stage(inbox: asyncio.Queue, out: asyncio.Queue, j: int) -> None:
    while (x := await inbox.get()) is not _END:
        await out.put((x * MULTIPLIER + j) & MASK64)
    await out.put(_END)


async def run(items: int, stages: int, capacity: int):
    """One iteration: (elapsed_ns, result fields); the sink is the calling task."""
    queues = [asyncio.Queue(capacity) for _ in range(stages + 1)]
    count = 0
    total = 0
    order = FNV_OFFSET
    start = perf_counter_ns()
    async with asyncio.TaskGroup() as tg:
        tg.create_task(_producer(queues[0], items))
        for j in range(1, stages + 1):
            tg.create_task(_stage(queues[j - 1], queues[j], j))
        sink = queues[stages]
        while (x := await sink.get()) is not _END:
            count += 1
            total = (total + x) & MASK64
            order = ((order ^ x) * FNV_PRIME) & MASK64
    elapsed = perf_counter_ns() - start
    return elapsed, {"count": count, "sum": total, "ord": order}
