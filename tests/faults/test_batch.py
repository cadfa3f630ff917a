"""Broken batch programs in one real run: each ends its own case with a status; the others still run."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from harness.measure.process import OUTPUT_LIMIT
from harness.measure.wrapper import wrapper_path

from .conftest import (
    FAULT_ROOT,
    assert_none_left,
    cases_by_impl,
    env_for,
    expect_case,
    fault,
    impls,
    marker,
    run_models,
)

pytestmark = pytest.mark.integration

# impl model -> (fault kind, status, a piece of the error)
EXPECTED = {
    "exit_nonzero": ("crash-exit-status", "crashed", "exit status 3; stderr: faulty: deliberate crash"),
    "segfault": ("crash-signal", "crashed", "killed by signal 11"),
    "hang": ("hang", "timeout", "no result after 3 s"),
    "hang_family": ("hang-with-stray-children", "timeout", "no result after 3 s"),
    "never_newline_then_hang": ("half-line-then-hang", "timeout", "no result after 3 s"),
    "wrong": ("wrong-answer", "verify_failed", "wrong roundtrips: got 101, expected 100"),
    "garbage": ("not-json", "verify_failed", "line 1 is not JSON"),
    "extra_line": ("extra-line", "verify_failed", "printed 4 lines, expected 3"),
    "cut_short": ("cut-short-line", "verify_failed", "line 3 is not JSON"),
    "bigint": ("integer-past-digit-limit", "verify_failed", "line 1 is not usable JSON (Exceeds the limit"),
    "deep": ("deep-nesting", "verify_failed", "line 1 is not usable JSON"),
    "huge_elapsed": ("elapsed-beyond-wall-time", "verify_failed", "more than the process ran"),
    "warmup_int": ("warmup-as-integer", "verify_failed", "line 1: warmup is 1, expected true"),
    "iteration_float": ("iteration-as-float", "verify_failed", "iteration is 0.0, expected 0"),
    "iteration_bool": ("iteration-as-boolean", "verify_failed", "line 2: iteration is true, expected 1"),
    "field_float": ("result-as-float", "verify_failed", "wrong roundtrips: got 100.0, expected 100"),
    "orphan": ("setsid-orphan", "verify_failed", "left 1 process(es) running after it exited"),
    "daemon": ("double-fork-daemon", "verify_failed", "left 1 process(es) running after it exited"),
    "line_separator": ("line-separator-in-string", "ok", ""),
    "good": ("", "ok", ""),
}


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch") / "run"
    return (*run_models(out, list(EXPECTED), "--workload", "ping_pong", "--timeout", "3"), out)


@fault(*(kind for kind, _, _ in EXPECTED.values() if kind))
@pytest.mark.parametrize("model", list(EXPECTED))
def test_each_fault_is_its_cases_status(batch_run, model):
    _, cases, _ = batch_run
    expect_case(cases, model, *EXPECTED[model][1:])


def test_the_run_finishes_exits_1_and_prints_the_good_case(batch_run):
    r, cases, out = batch_run
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
    assert len(cases) == len(EXPECTED)
    assert "fault/good" in r.stdout and "fault/line_separator" in r.stdout


@fault("stdout-flood", "endless-stream-without-newline", "stderr-flood")
def test_output_floods_are_stopped_at_the_limit_and_the_harness_stays_small(tmp_path):
    """200 MB on stdout, an endless stream, an endless stderr: each stopped at 16 MiB, long before the timeout.

    The harness runs under rusage-exec here, so its own peak RSS is measured; kept whole, the
    200 MB alone would cost it more than twice that.
    """
    models = ["flood_stdout", "endless", "flood_stderr", "good"]
    tmpdir = marker("flood")
    report = tmp_path / "harness-rusage.json"
    began = time.monotonic()
    r = subprocess.run([str(wrapper_path()), str(report), sys.executable, "-m", "cmbench", "--root", str(FAULT_ROOT),
                        "run", "--profile", "smoke", "--workload", "ping_pong", "--timeout", "300",
                        "--impl", impls(models), "--out", str(tmp_path / "run")],
                       capture_output=True, text=True, timeout=300, env=env_for(tmpdir))
    seconds = time.monotonic() - began
    assert_none_left(tmpdir)
    assert r.returncode == 1, r.stderr
    cases = cases_by_impl(tmp_path / "run")
    for model, stream in (("flood_stdout", "stdout"), ("endless", "stdout"), ("flood_stderr", "stderr")):
        (case,) = cases[f"fault/{model}"]
        assert case["status"] == "verify_failed"
        assert f"printed more than {OUTPUT_LIMIT} bytes (16 MiB) on {stream}; stopped there" in case["error"]
    assert cases["fault/good"][0]["status"] == "ok"
    assert seconds < 120, "the floods were not stopped at the limit"
    peak = json.loads(report.read_text())["maxrss_kib"] * 1024
    assert peak < 350 * 2**20, f"the harness peaked at {peak / 2**20:.0f} MiB"
