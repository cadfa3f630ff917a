"""The rusage-exec wrapper: the implementation's peak RSS is its own, not the harness's."""

import sys

import numpy as np
import pytest

from harness.measure.process import child_env, run_child

pytestmark = pytest.mark.integration


def test_peak_rss_is_not_inherited_from_the_harness(tmp_path):
    ballast = np.ones(200 * 2**20 // 8)  # make this process's RSS ~200 MiB larger before forking
    ballast[::512] = 2.0
    r = run_child(["/bin/true"], cwd=tmp_path, env=child_env(), timeout=30)
    assert r.returncode == 0
    assert r.rusage.max_rss < 20 * 2**20, r.rusage
    del ballast


def test_exit_status_and_signals_pass_through(tmp_path):
    r = run_child([sys.executable, "-c", "import sys; sys.exit(7)"], cwd=tmp_path, env=child_env(), timeout=30)
    assert r.returncode == 7
    r = run_child([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"],
                  cwd=tmp_path, env=child_env(), timeout=30)
    assert r.returncode == -11


def test_timeout_kills_the_whole_group(tmp_path):
    r = run_child(["sh", "-c", "sleep 300 & sleep 300"], cwd=tmp_path, env=child_env(), timeout=1)
    assert r.timed_out and r.returncode < 0


def test_rusage_counts_all_threads(tmp_path):
    # Four worker threads each block 50 times; the main thread only joins. Counting the main
    # thread alone (as /proc/PID/status does) would see a handful of switches, not ~200.
    code = ("import threading, time\n"
            "def nap():\n    for _ in range(50): time.sleep(0.001)\n"
            "ts = [threading.Thread(target=nap) for _ in range(4)]\n[t.start() for t in ts]\n[t.join() for t in ts]\n")
    r = run_child([sys.executable, "-c", code], cwd=tmp_path, env=child_env(), timeout=30)
    assert r.rusage.voluntary >= 150, r.rusage
