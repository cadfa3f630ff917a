"""What is measured about a container: the entry script, cgroup readings, archives."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import tarfile
import time

import pytest

from harness.executors.docker_container import (
    ENTRY,
    _wrapper_tar,
    cgroup_usage,
    host_cgroup,
    parse_peak,
    read_archive,
    stats_usage,
)
from harness.measure.wrapper import read_report


def _tree(tmp_path, lines: str, folders: list[str]):
    proc = tmp_path / "proc"
    (proc / "42").mkdir(parents=True)
    (proc / "42" / "cgroup").write_text(lines)
    root = tmp_path / "cgroup"
    for f in folders:
        (root / f).mkdir(parents=True)
    return proc, root


def test_host_cgroup_v1(tmp_path):
    cid = "ab" * 32
    proc, root = _tree(tmp_path, f"5:devices:/docker/{cid}\n4:memory:/docker/{cid}\n0::/docker/{cid}\n",
                       [f"memory/docker/{cid}"])
    folder, version = host_cgroup(42, cid, proc, root)
    assert version == 1 and folder == root / "memory" / "docker" / cid
    (folder / "memory.usage_in_bytes").write_text("104857600\n")
    (folder / "memory.stat").write_text("cache 60000\ninactive_file 1\ntotal_inactive_file 4857600\n")
    assert cgroup_usage(folder, version) == 100_000_000


def test_host_cgroup_v2(tmp_path):
    cid = "cd" * 32
    proc, root = _tree(tmp_path, f"0::/system.slice/docker-{cid}.scope\n", [f"system.slice/docker-{cid}.scope"])
    folder = root / "system.slice" / f"docker-{cid}.scope"
    (folder / "memory.current").write_text("5000\n")
    (folder / "memory.stat").write_text("anon 3000\ninactive_file 1500\n")
    assert host_cgroup(42, cid, proc, root) == (folder, 2)
    assert cgroup_usage(folder, 2) == 3500


def test_host_cgroup_of_another_namespace_is_not_used(tmp_path):
    proc, root = _tree(tmp_path, "4:memory:/\n0::/\n", [])
    assert host_cgroup(42, "ef" * 32, proc, root) is None
    assert host_cgroup(7, "ef" * 32, proc, root) is None  # no such process
    assert cgroup_usage(tmp_path / "gone", 1) == 0


def test_stats_usage_v1_and_v2():
    assert stats_usage({"memory_stats": {"usage": 9000, "stats": {"total_inactive_file": 1000}}}) == 8000
    assert stats_usage({"memory_stats": {"usage": 9000, "stats": {"inactive_file": 500}}}) == 8500
    assert stats_usage({"memory_stats": {}}) == 0


def test_parse_peak_and_archive():
    assert parse_peak(b"9084928\n") == 9084928
    assert parse_peak(b"") == 0
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        folder = tarfile.TarInfo("cmbench")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        info = tarfile.TarInfo("cmbench/cgroup-peak")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"123\n"))
    data = buf.getvalue()
    assert read_archive([data[:100], data[100:]]) == {"cgroup-peak": b"123\n"}


def test_wrapper_tar_holds_an_executable_owned_by_root():
    with tarfile.open(fileobj=io.BytesIO(_wrapper_tar())) as tar:
        info = tar.getmember("cmbench/rusage-exec")
    assert info.mode == 0o755 and info.uid == 0 and info.size > 0


def _entry(tmp_path, argv: list[str]) -> subprocess.Popen:
    """The entry script as the container runs it, with the wrapper at a local path."""
    from harness.measure.wrapper import wrapper_path

    script = ENTRY.replace("/cmbench/rusage-exec", str(wrapper_path()))
    return subprocess.Popen(["/bin/sh", "-c", script, "cmbench-entry", str(tmp_path / "reports"), *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def test_entry_script_reports_rusage_and_status(tmp_path):
    p = _entry(tmp_path, ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"])
    out, err = p.communicate(timeout=30)
    assert p.returncode == 3 and out == b"out\n" and err == b"err\n"
    report = read_report(tmp_path / "reports" / "rusage.json")
    assert report is not None and os.waitstatus_to_exitcode(report["status"]) == 3
    assert (tmp_path / "reports" / "cgroup-peak").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_entry_script_forwards_signals_to_the_program(tmp_path, sig):
    p = _entry(tmp_path, ["sleep", "30"])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until the wrapper has started sleep
            time.sleep(0.05)
            if subprocess.run(["pgrep", "-s", str(p.pid), "-x", "sleep"], capture_output=True).returncode == 0:
                break
        p.send_signal(sig)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        p.stdout.close()
        p.stderr.close()
    report = read_report(tmp_path / "reports" / "rusage.json")
    assert report is not None and os.waitstatus_to_exitcode(report["status"]) == -sig


def test_entry_script_leaves_the_programs_signals_at_their_defaults(tmp_path):
    # Only the signals the entry script handles: others (e.g. glibc's real-time ones) may be
    # ignored by whatever started the test, and a shell cannot reset those.
    p = _entry(tmp_path, ["grep", "SigIgn", "/proc/self/status"])
    out, _ = p.communicate(timeout=30)
    name, mask = out.split()
    ignored = int(mask, 16)
    assert name == b"SigIgn:"
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
        assert not ignored & (1 << (sig - 1)), f"{sig.name} is ignored in the program"
