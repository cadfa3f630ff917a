"""The process layer on its own, with real processes: strays, pipes held open, SIGTERM ignored, floods."""

from __future__ import annotations

import sys
import time

import pytest

from harness.measure.process import RunningChild, child_env, run_child

from .conftest import FAULT_ROOT, assert_none_left, fault, marker

pytestmark = pytest.mark.integration


def _env(name: str):
    tmpdir = marker(name)
    return tmpdir, child_env({"TMPDIR": str(tmpdir)})


@fault("stray-holds-stdout-open")
def test_a_stray_that_holds_stdout_open_does_not_keep_the_harness_waiting():
    tmpdir, env = _env("pipe")
    began = time.monotonic()
    r = run_child(["/bin/sh", "-c", "setsid sleep 300 & echo done"], cwd=FAULT_ROOT, env=env, timeout=60)
    assert time.monotonic() - began < 10
    assert r.returncode == 0 and r.stdout == "done\n" and r.leftovers == 1
    assert "1 process(es) that /bin/sh started were still running after it exited; killed" in r.stderr
    assert_none_left(tmpdir)


@fault("hang-with-stray-children")
def test_a_timeout_stops_the_program_and_every_descendant():
    tmpdir, env = _env("timeout")
    script = "trap '' TERM; (setsid sleep 300 &); sleep 300 & sleep 300"
    r = run_child(["/bin/sh", "-c", script], cwd=FAULT_ROOT, env=env, timeout=1)
    assert r.timed_out and r.returncode == -9
    assert_none_left(tmpdir)


@fault("server-ignores-sigterm")
def test_a_server_that_ignores_sigterm_is_killed_after_the_grace():
    tmpdir, env = _env("sigterm")
    code = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
            "time.sleep(300)")
    server = RunningChild([sys.executable, "-c", code], cwd=FAULT_ROOT, env=env, cpus=None)
    assert server.read_line(30) == "ready\n" and server.alive()
    began = time.monotonic()
    result = server.stop(grace=1)
    assert result.timed_out and result.returncode == -9 and time.monotonic() - began < 10
    assert not server.alive()
    assert_none_left(tmpdir)


@fault("stdout-flood")
def test_output_past_the_limit_stops_the_child_at_once():
    tmpdir, env = _env("limit")
    began = time.monotonic()
    r = run_child(["/bin/sh", "-c", "yes line"], cwd=FAULT_ROOT, env=env, timeout=60, limit=4096)
    assert time.monotonic() - began < 10 and not r.timed_out
    assert r.overflow == "stdout" and len(r.stdout) == 4096 and r.returncode != 0  # SIGKILL, or SIGPIPE first
    assert r.stderr.strip().endswith("printed more than 4096 bytes on stdout; stopped there")
    assert_none_left(tmpdir)
