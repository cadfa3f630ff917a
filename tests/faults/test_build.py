"""Broken toolchain checks, build and run commands: each fails its own implementation, never the run."""

from __future__ import annotations

import pytest

from harness.catalog import load_catalog
from harness.console import Console
from harness.engine import ready as readiness
from harness.engine.ready import prepare
from harness.executors import native

from .conftest import FAULT_ROOT, assert_none_left, cmbench, expect_case, fault, impls, marker, run_models

pytestmark = pytest.mark.integration

# impl model -> (fault kind, status, a piece of the error)
EXPECTED = {
    "notool": ("toolchain-missing", "skipped", "toolchain missing: install the imaginary toolchain"),
    "toolchain_not_executable": ("toolchain-not-executable", "skipped", "toolchain missing: make check.sh executable"),
    "badbuild": ("build-fails", "build_failed", "exit 1: faulty: compile error"),
    "build_missing": ("build-command-missing", "build_failed",
                      "rusage-exec: cannot run ./no-such-build.sh: No such file or directory"),
    "build_not_executable": ("build-not-executable", "build_failed", "cannot run ./build.sh: Permission denied"),
    "build_not_a_program": ("build-not-a-program", "build_failed", "cannot run ./build.txt: Exec format error"),
    "build_crlf": ("build-crlf-shebang", "build_failed", "ends with a carriage return: convert the file to LF"),
    "build_floods": ("build-floods-output", "build_failed", "printed more than 16777216 bytes (16 MiB) on stderr"),
    "build_hangs": ("build-hangs", "build_failed", "timed out after 2 s ([build] timeout)"),
    "run_missing": ("run-command-missing", "crashed", "exit status 127; stderr: rusage-exec: cannot run ./not-built"),
    "run_crlf": ("run-crlf-shebang", "crashed", "ends with a carriage return"),
    "good": ("", "ok", ""),
}


@pytest.fixture(scope="module")
def build_run(tmp_path_factory):
    return run_models(tmp_path_factory.mktemp("build") / "run", list(EXPECTED), "--workload", "ping_pong",
                      "--timeout", "10")


@fault(*(kind for kind, _, _ in EXPECTED.values() if kind))
@pytest.mark.parametrize("model", list(EXPECTED))
def test_each_fault_is_its_implementations_status(build_run, model):
    expect_case(build_run[1], model, *EXPECTED[model][1:])


def test_the_others_still_run_and_the_run_exits_1(build_run):
    r, cases = build_run
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert cases["fault/good"][0]["status"] == "ok"
    assert "BUILD FAILED fault/build_missing" in r.stderr


@fault("toolchain-check-hangs")
def test_a_hanging_toolchain_check_is_a_timeout_not_a_missing_toolchain(monkeypatch, tmp_path):
    monkeypatch.setattr(native, "TOOLCHAIN_TIMEOUT", 1.0)
    tmpdir = marker("toolchain")
    monkeypatch.setenv("TMPDIR", str(tmpdir))  # the children's marker (child_env passes TMPDIR on)
    catalog = load_catalog(FAULT_ROOT)
    with open(tmp_path / "console.txt", "w") as stream:
        ready = prepare(native.NativeExecutor(), [catalog.impls["fault/toolchain_hangs"], catalog.impls["fault/good"]],
                        Console(stream=stream))
    hung = ready["fault/toolchain_hangs"]
    assert hung.status == "timeout" and hung.failed
    assert "toolchain check" in hung.message and "timed out: no answer after 1 s" in hung.message
    assert ready["fault/good"].status == "ok"
    assert "TIMEOUT fault/toolchain_hangs" in (tmp_path / "console.txt").read_text()
    assert_none_left(tmpdir)


def test_a_long_build_says_it_still_runs_and_its_limit(monkeypatch, tmp_path):
    monkeypatch.setattr(readiness, "HEARTBEAT", 0.5)
    tmpdir = marker("heartbeat")
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    catalog = load_catalog(FAULT_ROOT)
    with open(tmp_path / "console.txt", "w") as stream:
        ready = prepare(native.NativeExecutor(), [catalog.impls["fault/build_hangs"]], Console(stream=stream))
    said = (tmp_path / "console.txt").read_text()
    assert ready["fault/build_hangs"].status == "build_failed"
    assert "build fault/build_hangs: still running after 1 s (limit 2 s, [build] timeout)" in said, said
    assert said.rindex("still running") < said.index("BUILD FAILED")  # none once the build has ended
    assert_none_left(tmpdir)


@fault("server-not-built")
def test_verify_without_build_names_the_missing_program():
    r = cmbench("verify", "--no-build", "--impl", impls(["server_not_built", "run_missing"]), "--timeout", "10",
                name="nobuild")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "CRASHED" in r.stderr and "fault/server_not_built" in r.stderr
    assert "cannot run ./not-built: No such file or directory" in r.stderr
    assert "verify: 2 failed" in r.stderr
