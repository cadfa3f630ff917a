"""A server on one cluster host, its load generator on another: the channel between them, over Dask.

TechEmpower's layout (README "Running on several hosts"): with `cmbench run --cluster ADDRESS
--loadgen-host`, each HTTP unit runs its servers on a benchmark host and its wrk and oha on a host
started with `cmbench worker --loadgen`. The two tasks meet on a channel named after the unit:

- `CHANNEL-jobs`, a Dask Queue the server's host writes jobs to (`generator.Job`: which tool,
  against which address and port, how long), ending with a `stop`;
- `CHANNEL-results`, a Dask Queue the generator's host answers on (the job's id and its
  `LoadResult`, or an error). The controller writes there too: `lost` when the generator's host
  left the scheduler, then `hello` from the host that took over the channel, or `none`.

`DaskLink` is the server side of the channel (generator.py's `Link`), `serve_channel` the
generator side. Every wait is bounded, so a host that vanishes costs a phase (retried once on
another generator host, else `lost`), never a hang: the server's side stops its server and relay
when the phase fails, and the controller cancels the generator's task when the unit ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from harness.kinds.server.generator import Job, LostGenerator, run_job, tools_here

if TYPE_CHECKING:
    from distributed import Client

POLL = 1.0  # seconds per wait on a queue, between looks at whether the task was cancelled
REPLACE_WAIT = 60.0  # seconds the server's host waits for another generator host after a loss
IDLE_LIMIT = 3600.0  # seconds a generator's task waits for a job before it gives up on its unit


def queues(client: Client, channel: str):
    from distributed import Queue

    return Queue(f"{channel}-jobs", client=client), Queue(f"{channel}-results", client=client)


def _get(queue, timeout: float) -> Any | None:
    try:
        return queue.get(timeout=timeout)
    except TimeoutError:
        return None


class DaskLink:
    """The server host's end of a channel (generator.py `Link`)."""

    def __init__(self, client: Client, channel: str, host: str, stopped: Callable[[], bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.jobs, self.results = queues(client, channel)
        self.host = host  # the generator's host serving the channel now
        self.stopped = stopped
        self.clock = clock

    def call(self, job: Job) -> Mapping[str, Any]:
        self.jobs.put(job.to_dict())
        deadline = self.clock() + job.limit + 30.0
        while True:
            if self.stopped():
                raise LostGenerator(self.host, "was left: the run was cancelled")
            msg = _get(self.results, POLL)
            if msg is None:
                if self.clock() > deadline:
                    raise LostGenerator(self.host, f"sent no answer to a {job.tool} run within "
                                                   f"{job.limit + 30.0:g} s")
                continue
            if msg.get("id") == job.id:
                return msg
            if msg.get("op") == "lost" and msg.get("host") == self.host:
                raise LostGenerator(self.host, f"went away during a {job.tool} run")

    def replacement(self) -> tuple[str, Mapping[str, str], str] | None:
        deadline = self.clock() + REPLACE_WAIT
        while self.clock() < deadline and not self.stopped():
            msg = _get(self.results, POLL)
            if msg is None:
                continue
            if msg.get("op") == "hello":
                self.host = str(msg["host"])
                return self.host, dict(msg["tools"]), str(msg.get("address", ""))
            if msg.get("op") == "none":
                return None
        return None

    def close(self) -> None:
        """Tell the generator's task the unit is over (it returns)."""
        try:
            self.jobs.put({"op": "stop"})
        except Exception:  # the scheduler may be gone; the controller cancels the task anyway
            pass


def serve_channel(client: Client, channel: str, host: str, stopped: Callable[[], bool], *, hello: bool,
                  address: str = "", clock: Callable[[], float] = time.monotonic) -> int:
    """The generator host's end: run each job as it comes until `stop`, cancellation or IDLE_LIMIT; jobs run.
    `address`: this host's cluster address, which the server's relay is to serve."""
    jobs, results = queues(client, channel)
    if hello:  # taking over a channel whose generator host went away
        results.put({"op": "hello", "host": host, "tools": tools_here(), "address": address})
    done = 0
    idle_since = clock()
    while not stopped():
        msg = _get(jobs, POLL)
        if msg is None:
            if clock() - idle_since > IDLE_LIMIT:
                break
            continue
        if msg.get("op") == "stop":
            break
        answer = run_job(Job.from_dict(msg))
        if stopped():
            break
        results.put(answer)
        done += 1
        idle_since = clock()
    return done


def notify(client: Client, channel: str, msg: Mapping[str, Any]) -> None:
    """The controller's word on a channel (`lost`, `none`): best effort, the scheduler may be going."""
    try:
        queues(client, channel)[1].put(dict(msg))
    except Exception:
        pass
