"""The load generators' ceilings on a fleet: on a benchmark host, and on a --loadgen host through the relay."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harness.console import Console
from harness.errors import UserError
from harness.measure.ccache import cache_dir

if TYPE_CHECKING:
    from distributed import Future
    from distributed.security import Security
from harness.cluster.controller import HOST_WAIT, TICK, connect
from harness.cluster.identity import BENCH, CONNECT_TIMEOUT, LOADGEN
from harness.cluster.session import DaskLog
from harness.cluster.units import _error_text
from harness.cluster.worker import headroom_task, loadgen_task


def headroom_on_cluster(address: str, security: Security | None, *, cpus: int | None, duration: float,
                        connections: Sequence[int], pipelined: Sequence[int], pipeline: int, console: Console,
                        host_wait: float = HOST_WAIT) -> dict[str, Any]:
    """`cmbench loadgen-headroom --cluster`: the ceilings on a benchmark host, with the generator there and on a
    `--loadgen` host (through the relay); the answer of the benchmark host (`table`, `runs`)."""
    from distributed import wait

    from harness.kinds.server.generator import tools_here

    DaskLog.install().to(cache_dir() / "loadgen-headroom-dask.log")
    client = connect(address, security)
    futures: list[Future] = []
    try:
        deadline = time.monotonic() + host_wait
        while True:
            workers = client.scheduler_info(n_workers=-1).get("workers", {})
            generators = [(a, w) for a, w in workers.items() if w.get("resources", {}).get(LOADGEN)]
            benches = [(a, w) for a, w in workers.items()
                       if w.get("resources", {}).get(BENCH) and not w.get("resources", {}).get(LOADGEN)]
            if generators and benches:
                break
            if time.monotonic() > deadline:
                raise UserError(f"--cluster {address}: needs a benchmark host (`cmbench worker {address}`) and a load "
                                f"generator host (`cmbench worker {address} --loadgen`); found "
                                f"{len(benches)} and {len(generators)} after {host_wait:g} s")
            time.sleep(TICK)
        (lg, lg_info), (bench, bench_info) = generators[0], benches[0]
        lg_name, bench_name = str(lg_info.get("name", lg)), str(bench_info.get("name", bench))
        console.say(f"loadgen-headroom: responder on host {bench_name}, generator there and on host {lg_name}")
        token = os.urandom(4).hex()
        tools = client.submit(tools_here, workers=[lg], allow_other_workers=False, resources={LOADGEN: 1},
                              pure=False, key=f"cmbench-headroom-tools-{token}")
        futures.append(tools)
        channel = f"cmbench-lg-headroom-{token}"
        futures.append(client.submit(loadgen_task, {"channel": channel, "hello": False}, workers=[lg],
                                     allow_other_workers=False, resources={LOADGEN: 1}, pure=False,
                                     key=f"cmbench-headroom-loadgen-{token}"))
        from distributed.comm import get_address_host

        request = {"loadgen": {"channel": channel, "host": lg_name, "tools": tools.result(timeout=CONNECT_TIMEOUT),
                               "address": get_address_host(lg)},
                   "cpus": cpus, "duration": duration, "connections": list(connections),
                   "pipelined": list(pipelined), "pipeline": pipeline}
        answer = client.submit(headroom_task, request, workers=[bench], allow_other_workers=False,
                               resources={BENCH: 1}, pure=False, key=f"cmbench-headroom-{token}")
        futures.append(answer)
        with client.as_current():
            wait([answer])
        if answer.status == "error":
            error = answer.exception()
            if isinstance(error, UserError):
                raise error
            raise UserError(f"loadgen-headroom on host {bench_name} failed: {_error_text(answer)}")
        return {**answer.result(), "loadgen_host": lg_name}
    finally:
        with contextlib.suppress(Exception):
            client.cancel(futures, force=True)
        client.close()
