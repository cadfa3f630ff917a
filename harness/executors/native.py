"""The native executor: local toolchains, CPU pinning with sched_setaffinity."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..errors import UserError
from ..manifest import Impl, Variant
from ..process import ChildResult, RunningChild, child_env, run_child
from . import BuildResult, Toolchain, command_line, expand

TOOLCHAIN_TIMEOUT = 60.0
BUILD_TIMEOUT = 1800.0


class NativeExecutor:
    name = "native"

    def toolchain(self, impl: Impl) -> Toolchain:
        try:
            r = run_child(expand(impl.toolchain_check, 1), cwd=impl.path, env=child_env(build=True),
                          timeout=TOOLCHAIN_TIMEOUT, measure=False)
        except UserError as e:  # a missing command is an absent toolchain, not an error
            return Toolchain(False, str(e))
        text = (r.stdout.strip() or r.stderr.strip()).splitlines()
        first = text[0] if text else ""
        return Toolchain(r.returncode == 0, first if r.returncode == 0 else f"exit {r.returncode}: {first}")

    def build(self, impl: Impl) -> BuildResult:
        if not impl.build:
            return BuildResult(True, 0.0, "")
        began = time.perf_counter()
        r = run_child(expand(impl.build, 1), cwd=impl.path, env=child_env(build=True), timeout=BUILD_TIMEOUT,
                      measure=False)
        seconds = time.perf_counter() - began
        if r.returncode != 0:
            log = (r.stderr.strip() or r.stdout.strip()).splitlines()[-15:]
            why = "timed out" if r.timed_out else f"exit {r.returncode}"
            return BuildResult(False, seconds, f"{' '.join(impl.build)}: {why}: " + " | ".join(log))
        return BuildResult(True, seconds, "")

    def argv(self, impl: Impl, variant: Variant, args: Sequence[str], cpus: int) -> list[str]:
        return command_line(impl, variant, args, cpus)

    def provenance(self, impl: Impl) -> dict[str, str]:
        return {}

    def run(self, impl: Impl, variant: Variant, args: Sequence[str], *, cpus: Sequence[int],
            timeout: float) -> ChildResult:
        argv = self.argv(impl, variant, args, len(cpus))
        return run_child(argv, cwd=impl.path, env=child_env(variant.env), cpus=cpus, timeout=timeout)

    def start(self, impl: Impl, variant: Variant, args: Sequence[str], *, cpus: Sequence[int]) -> RunningChild:
        argv = self.argv(impl, variant, args, len(cpus))
        return RunningChild(argv, cwd=impl.path, env=child_env(variant.env), cpus=cpus)

    def close(self) -> None:
        pass
