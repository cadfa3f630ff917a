"""preemption: a task sleeps S times while K tasks spin on the event loop's one thread.

asyncio never preempts a task: a coroutine runs until it awaits. A spinner has no await in its
loop, so the sleeper's timer is looked at only once the spinners give up at the spin limit.
"""

import asyncio
from time import monotonic_ns, perf_counter_ns


def _spin(done: list[bool], limit_ns: int) -> None:
    start = monotonic_ns()
    while not done[0]:
        for _ in range(4096):
            if done[0]:
                return
        if monotonic_ns() - start >= limit_ns:
            return


async def run(sleeps: int, sleep_us: int, spinners: int, spin_limit_ms: int):
    """One iteration: (elapsed_ns, result fields)."""
    nap_ns = sleep_us * 1000
    limit_ns = spin_limit_ms * 1_000_000
    done = [False]
    late = []

    async def spinner() -> None:
        _spin(done, limit_ns)

    start = perf_counter_ns()
    async with asyncio.TaskGroup() as tg:
        for _ in range(spinners):
            tg.create_task(spinner())
        for _ in range(sleeps):
            before = perf_counter_ns()
            await asyncio.sleep(nap_ns / 1e9)
            late.append(max(perf_counter_ns() - before - nap_ns, 0))
        done[0] = True
    elapsed = perf_counter_ns() - start
    late.sort()
    return elapsed, {"sleeps": sleeps, "timer_late_p50": late[(len(late) - 1) // 2], "timer_late_max": late[-1]}
