"""The executor protocol: where an implementation is built and run, natively or in a container."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from harness.manifests.model import Impl, Variant
from harness.measure.memory import TreeMemory
from harness.measure.process import ChildResult


def expand(words: Sequence[str], cpus: int, python: str = sys.executable) -> list[str]:
    """Replace the placeholders {cpus} and {python} in an impl.toml command."""
    return [w.replace("{cpus}", str(cpus)).replace("{python}", python) for w in words]


def command_line(impl: Impl, variant: Variant, args: Sequence[str], cpus: int,
                 python: str = sys.executable) -> list[str]:
    """The implementation's run command, the workload arguments, then the variant's arguments."""
    return expand(impl.run, cpus, python) + list(args) + expand(variant.args, cpus, python)


@dataclass(frozen=True)
class Toolchain:
    present: bool
    version: str  # first line of the check's output, or why it failed
    timed_out: bool = False  # the check hung: the toolchain is there but broken, not missing


@dataclass(frozen=True)
class BuildResult:
    ok: bool
    seconds: float
    log: str  # the tail of the build output when it failed


class Running(Protocol):
    """A started server process, native or in a container."""

    def read_line(self, timeout: float) -> str | None:
        """The next stdout line, or None after `timeout` or once it exited."""

    def alive(self) -> bool: ...

    def memory(self) -> int:
        """Current resident memory in bytes (VmRSS natively, the cgroup's usage in a container)."""

    def tree_memory(self) -> TreeMemory:
        """Memory of the whole program: RSS and PSS summed over its process tree natively, the
        cgroup's usage (as `rss`, source "cgroup") in a container."""

    def stderr_text(self) -> str: ...

    def stop(self, grace: float = 5.0) -> ChildResult:
        """SIGTERM, then kill after `grace` seconds; reaped, with rusage over all threads."""


class Executor(Protocol):
    name: str

    def argv(self, impl: Impl, variant: Variant, args: Sequence[str], cpus: int) -> list[str]:
        """The exact command line `run` and `start` give the program (inside the container for docker)."""

    def provenance(self, impl: Impl) -> dict[str, str]:
        """What identifies the built artifact beyond the sources (docker: the image tag and id)."""

    def toolchain(self, impl: Impl) -> Toolchain:
        """Whether the implementation's toolchain is present, and its version."""

    def build(self, impl: Impl) -> BuildResult:
        """Build the implementation (a no-op when it has no build command)."""

    def run(self, impl: Impl, variant: Variant, args: Sequence[str], *, cpus: Sequence[int],
            timeout: float) -> ChildResult:
        """Run the implementation with workload `args` appended, pinned to `cpus`."""

    def start(self, impl: Impl, variant: Variant, args: Sequence[str], *, cpus: Sequence[int]) -> Running:
        """Start a long-running implementation process (a server) pinned to `cpus`."""

    def close(self) -> None:
        """Release what the executor holds (nothing for native; clients for docker)."""
