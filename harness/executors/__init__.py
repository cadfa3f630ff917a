"""Executors: where an implementation is built and run (natively, or in a container).

An executor is a small protocol; `EXECUTORS` is the explicit registry the CLI picks from."""

from __future__ import annotations

from collections.abc import Callable

from harness.errors import UsageError
from harness.executors.base import Executor


def _native() -> Executor:
    from harness.executors.native import NativeExecutor

    return NativeExecutor()


def _docker() -> Executor:
    from harness.executors.docker import DockerExecutor

    return DockerExecutor()


EXECUTORS: dict[str, Callable[[], Executor]] = {
    "native": _native,
    "docker": _docker,
}


def make_executor(name: str) -> Executor:
    try:
        factory = EXECUTORS[name]
    except KeyError:
        raise UsageError(f"--executor: unknown executor '{name}'; valid: {', '.join(EXECUTORS)}") from None
    return factory()
