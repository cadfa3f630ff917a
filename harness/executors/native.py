"""The native executor: local toolchains, CPU pinning with sched_setaffinity.

Nothing an implementation does here ends the run: a toolchain check or a build command that
is missing, not executable or not a program fails that implementation alone (rusage-exec
reports why exec failed and exits 127), and a program that prints without bound or leaves
processes running after it exits fails its case.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from harness.errors import UserError
from harness.executors.base import BuildResult, Toolchain, command_line, expand
from harness.manifests.model import Impl, Variant
from harness.measure.outcome import CaseFailure
from harness.measure.process import ChildResult, RunningChild, child_env, run_child, strip_ansi
from harness.vocab import Status

TOOLCHAIN_TIMEOUT = 60.0


def _lines(r: ChildResult) -> list[str]:
    return strip_ansi(r.stdout.strip() or r.stderr.strip()).split("\n")


def _overflow(r: ChildResult) -> str:
    """The last stderr line, which says which stream passed the limit (process.overflow_message)."""
    return r.stderr.strip().split("\n")[-1]


class NativeExecutor:
    name = "native"

    def toolchain(self, impl: Impl) -> Toolchain:
        try:
            r = run_child(expand(impl.toolchain_check, 1), cwd=impl.path, env=child_env(build=True),
                          timeout=TOOLCHAIN_TIMEOUT, measure=False)
        except UserError as e:  # the check could not even be started
            return Toolchain(False, str(e))
        if r.timed_out:
            return Toolchain(False, f"no answer after {TOOLCHAIN_TIMEOUT:g} s; stopped", timed_out=True)
        first = _lines(r)[0]
        return Toolchain(r.returncode == 0, first if r.returncode == 0 else f"exit {r.returncode}: {first}")

    def build(self, impl: Impl) -> BuildResult:
        if not impl.build:
            return BuildResult(True, 0.0, "")
        began = time.perf_counter()
        try:
            r = run_child(expand(impl.build, 1), cwd=impl.path, env=child_env(build=True),
                          timeout=impl.build_timeout, measure=False)
        except UserError as e:
            return BuildResult(False, time.perf_counter() - began, f"{' '.join(impl.build)}: {e}")
        seconds = time.perf_counter() - began
        if r.returncode != 0 or r.overflow:
            why = (f"timed out after {impl.build_timeout:g} s ([build] timeout)" if r.timed_out
                   else _overflow(r) if r.overflow
                   else f"exit {r.returncode}")
            return BuildResult(False, seconds, f"{' '.join(impl.build)}: {why}: " + " | ".join(_lines(r)[-15:]))
        return BuildResult(True, seconds, "")

    def argv(self, impl: Impl, variant: Variant, args: Sequence[str], cpus: int) -> list[str]:
        return command_line(impl, variant, args, cpus)

    def provenance(self, impl: Impl) -> dict[str, str]:
        return {}

    def run(self, impl: Impl, variant: Variant, args: Sequence[str], *, cpus: Sequence[int],
            timeout: float) -> ChildResult:
        """The program's result; CaseFailure when it broke the process contract (output bound, leftovers)."""
        argv = self.argv(impl, variant, args, len(cpus))
        r = run_child(argv, cwd=impl.path, env=child_env(variant.env), cpus=cpus, timeout=timeout)
        if r.overflow:
            raise CaseFailure(Status.VERIFY_FAILED, _overflow(r))
        if r.leftovers and r.returncode == 0 and not r.timed_out:
            raise CaseFailure(Status.VERIFY_FAILED,
                              f"left {r.leftovers} process(es) running after it exited (now killed); a program "
                              "must end everything it starts before it exits")
        return r

    def start(self, impl: Impl, variant: Variant, args: Sequence[str], *, cpus: Sequence[int]) -> RunningChild:
        argv = self.argv(impl, variant, args, len(cpus))
        return RunningChild(argv, cwd=impl.path, env=child_env(variant.env), cpus=cpus)

    def close(self) -> None:
        pass
