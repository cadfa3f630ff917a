from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from harness.catalog import load_catalog
from harness.executors.base import BuildResult, Toolchain
from harness.kinds.batch.answers import expected
from harness.kinds.batch.kind import UNKNOWN_FLAG
from harness.measure.process import ChildResult, Rusage

PROJECT = Path(__file__).resolve().parent.parent
FIXTURE_ROOT = PROJECT / "tests" / "fixtures" / "root"

# A shell without job control starts `make test &` with Ctrl-C ignored, and the processes the
# tests start inherit that: the tests of Ctrl-C handling need it delivered as a terminal would.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


# `cmbench plan` arguments of the runs the stop-signal tests stop: a good program's unit, then one that hangs
HANG_PLAN = ("--profile", "smoke", "--workload", "http_server,ping_pong", "--timeout", "600")


def startup_only(plan: dict) -> dict:
    """`plan` (cmbench plan --json) with its server cases cut to the start-up phase.

    The tests of stopping a run need a unit that finishes before a program hangs in ping_pong: a server
    phase of the good program, the hanging one serving no HTTP. The start-up phase is that unit without
    the load phases' half a minute.
    """
    return {**plan, "cases": [c for c in plan["cases"] if c["workload"] != "http_server" or c["case"] == "startup"]}


def startup_then_ping_pong_plan(root: Path, impls: str, path: Path) -> Path:
    """Write to `path` the plan of HANG_PLAN for `impls` (a --impl value), cut by `startup_only`; returns `path`."""
    r = subprocess.run([sys.executable, "-m", "cmbench", "--root", str(root), "plan", *HANG_PLAN, "--impl", impls,
                        "--json"], capture_output=True, text=True, timeout=120, check=True)
    path.write_text(json.dumps(startup_only(json.loads(r.stdout))), encoding="utf-8")
    return path


@pytest.fixture
def project_root() -> Path:
    return PROJECT


@pytest.fixture
def fixture_root() -> Path:
    return FIXTURE_ROOT


@pytest.fixture
def fixture_catalog():
    return load_catalog(FIXTURE_ROOT)


def parse_args(args: Sequence[str]) -> tuple[str, dict, int, int]:
    workload, rest = args[0], list(args[1:])
    flags = dict(zip(rest[::2], rest[1::2]))
    params = {k[2:].replace("-", "_"): (int(v) if v.isdigit() else v) for k, v in flags.items()}
    return workload, params, params.pop("warmups"), params.pop("iterations")


class FakeExecutor:
    """Answers like an implementation would, without processes: behaviour per impl model name.

    Models: good, crash, hang (reported as a timeout), wrong, garbage, notool, badbuild.
    """

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []
        self.probes = 0  # verification's unknown-flag probes

    def argv(self, impl, variant, args, cpus) -> list[str]:
        return ["fake", impl.id, *args, *variant.args]

    def provenance(self, impl) -> dict[str, str]:
        return {}

    def toolchain(self, impl) -> Toolchain:
        return Toolchain(impl.model != "notool", "fake 1.0")

    def build(self, impl) -> BuildResult:
        if impl.model == "badbuild":
            return BuildResult(False, 0.1, "fake: compile error")
        return BuildResult(True, 0.1, "")

    def run(self, impl, variant, args, *, cpus, timeout) -> ChildResult:
        if UNKNOWN_FLAG[0] in args:  # verification's probe (not in `calls`): a usage error, as the contract asks
            self.probes += 1
            return ChildResult(tuple(args), 2, "", f"fake: unknown flag {UNKNOWN_FLAG[0]}\n", 0.01,
                               Rusage(0.01, 0.001, 10 * 2**20, 5, 1), False)
        self.calls.append((impl.id, variant.name, tuple(args)))
        workload, params, warmups, iterations = parse_args(args)
        params.pop("cpus")
        ru = Rusage(0.01 * iterations, 0.001, (10 + iterations) * 2**20, 5 + iterations, 1)
        if impl.model == "crash" and iterations:
            return ChildResult(tuple(args), 3, "", "fake: deliberate crash\n", 0.01, ru, False)
        if impl.model == "hang" and iterations:
            return ChildResult(tuple(args), -9, "", "", timeout, ru, True)
        lines = []
        want = expected(workload, params)
        for k in range(warmups + iterations):
            fields = dict(want)
            if impl.model == "wrong":
                fields[next(iter(fields))] += 1
            line = {"workload": workload, "iteration": k, "warmup": k < warmups, "elapsed_ns": 1_000_000 + k}
            lines.append("not json" if impl.model == "garbage" else json.dumps({**line, **fields}))
        return ChildResult(tuple(args), 0, "\n".join(lines) + "\n", "", 0.02, ru, False)

    def close(self) -> None:
        pass


@pytest.fixture
def fake_executor() -> FakeExecutor:
    return FakeExecutor()
