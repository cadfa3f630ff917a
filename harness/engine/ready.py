"""Before measuring: every toolchain checked and every implementation built, nothing raised for a bad one."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from harness.console import Console
from harness.errors import UsageError
from harness.executors.base import Executor
from harness.manifests.model import Impl
from harness.vocab import Status

HEARTBEAT = 30.0  # seconds between the lines that say a build still runs


@dataclass(frozen=True)
class Readiness:
    status: str  # "ok", "skipped" (toolchain missing), "timeout" (its check hung) or "build_failed"
    message: str = ""
    version: str = ""
    build_seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return Status(self.status).failed

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message, "version": self.version,
                "build_seconds": self.build_seconds}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Readiness:
        return cls(str(d["status"]), str(d["message"]), str(d["version"]), float(d["build_seconds"]))


def choose_cpus(count: int | None) -> tuple[int, ...]:
    allowed = sorted(os.sched_getaffinity(0))
    if count is None:
        return tuple(allowed)
    if not 1 <= count <= len(allowed):
        raise UsageError(f"--cpus: must be between 1 and {len(allowed)} (the CPUs this process may use)")
    return tuple(allowed[:count])


def prepare(executor: Executor, impls: Sequence[Impl], console: Console, *, build: bool = True) -> dict[str, Readiness]:
    """Check every toolchain and build what can be built; nothing here raises for a bad impl."""
    ready = {}
    for impl in impls:
        tc = executor.toolchain(impl)
        if tc.timed_out:
            why = f"toolchain check ({' '.join(impl.toolchain_check)}) timed out: {tc.version}"
            console.say(f"TIMEOUT {impl.id}: {why}")
            ready[impl.id] = Readiness("timeout", why, tc.version)
            continue
        if not tc.present:
            console.say(f"skip {impl.id}: toolchain missing ({' '.join(impl.toolchain_check)}): {impl.toolchain_hint}")
            ready[impl.id] = Readiness("skipped", f"toolchain missing: {impl.toolchain_hint}", tc.version)
            continue
        if not build:
            ready[impl.id] = Readiness("ok", "", tc.version)
            continue
        console.say(f"build {impl.id} ({tc.version})")
        with still_building(console, impl):
            b = executor.build(impl)
        if b.ok:
            ready[impl.id] = Readiness("ok", "", tc.version, b.seconds)
        else:
            console.say(f"BUILD FAILED {impl.id}: {b.log}")
            ready[impl.id] = Readiness("build_failed", b.log, tc.version, b.seconds)
    return ready


@contextmanager
def still_building(console: Console, impl: Impl) -> Iterator[None]:
    """Every HEARTBEAT seconds while the block runs, a line saying the build of `impl` still runs and its limit.

    The build stays on the main thread, where a Ctrl-C is handled; a daemon thread only prints.
    """
    began, done = time.monotonic(), threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT):
            console.say(f"build {impl.id}: still running after {time.monotonic() - began:.0f} s "
                        f"(limit {impl.build_timeout:g} s, [build] timeout)")

    ticker = threading.Thread(target=beat, name=f"build {impl.id}", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
