"""Where results go: a folder that cannot be written, a disk that fills mid-run, a signal mid-write."""

from __future__ import annotations

import csv
import errno
import json
import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.measure.outcome import CaseKey, CaseResult
from harness.store import run as store_module
from harness.store.run import RunStore, StoreError, load_samples, write_atomic

from .conftest import assert_none_left, cmbench, fault, impls, one_line_error, start_cmbench


@contextmanager
def tmpfs(path: Path, options: str):
    """A tmpfs mounted at `path` (root only); skips the test where mounting is not allowed."""
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def agree(out: Path) -> list[dict]:
    """The cases of run.json, after checking that results.csv and the pyperf samples hold exactly theirs."""
    def key(c: dict) -> tuple[str, ...]:
        return c["workload"], c["case"], c["impl"], c["variant"]

    cases = json.loads((out / "run.json").read_text())["cases"]
    with open(out / "results.csv", newline="") as f:
        rows = {key(r) for r in csv.DictReader(f)}
    assert rows == {key(c) for c in cases if c["status"] == "ok"}
    names = [b.get_name() for b in load_samples(out)]
    if names:
        assert {n.split("] ")[1].split(" ")[0] for n in names} == {k[2] for k in rows}
    return cases


@pytest.mark.integration
@fault("out-read-only")
def test_out_on_a_read_only_file_system_is_one_line(tmp_path):
    with tmpfs(tmp_path / "ro", "ro,size=64k") as ro:
        r = cmbench("run", "--profile", "smoke", "--workload", "ping_pong", "--impl", impls(["good"]),
                    "--out", str(ro), name="readonly")
        one_line_error(r, f"--out {ro}: cannot write there (Read-only file system); choose a writable folder")


@pytest.mark.integration
@fault("out-proc-self")
def test_out_in_proc_is_one_line():
    r = cmbench("run", "--profile", "smoke", "--workload", "ping_pong", "--impl", impls(["good"]),
                "--out", "/proc/self", name="proc")
    one_line_error(r, "--out /proc/self: cannot write there")


@pytest.mark.integration
@fault("out-is-a-file")
def test_out_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "taken").write_text("not a folder\n")
    r = cmbench("run", "--profile", "smoke", "--workload", "ping_pong", "--impl", impls(["good"]),
                "--out", str(tmp_path / "taken"), name="file")
    one_line_error(r, f"--out {tmp_path / 'taken'}: cannot create the folder")


def leave_free(folder: Path, free: int) -> None:
    """Fill the file system `folder` is on, then give `free` bytes of it back."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    os.truncate(filler, max(0, filler.stat().st_size - free))


def stored(out: Path) -> list[dict]:
    """The cases `out`'s run.json holds now (none before it is there)."""
    try:
        return json.loads((out / "run.json").read_text())["cases"]
    except (OSError, ValueError, KeyError):
        return []


def held_between_writes(proc: subprocess.Popen, out: Path) -> None:
    """Stop `proc` (SIGSTOP) at a moment when it has no file of `out` half written."""
    os.kill(proc.pid, signal.SIGSTOP)
    while [p for p in out.iterdir() if p.name.startswith(".")]:
        os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.001)
        os.kill(proc.pid, signal.SIGSTOP)


@pytest.mark.integration
@fault("disk-full-mid-run")
def test_a_disk_that_fills_mid_run_stops_it_with_one_line_and_a_consistent_reportable_folder(tmp_path):
    """Once the first good case is stored, the harness is held still and the disk filled, leaving room for a
    run.json one case longer but not for the samples and results.csv beside it: the next case's write fails
    (every write from then on holds samples), and the run.json that says so still fits. Two models are good,
    so the first is never the last case. (A small file system of a fixed size filled where the host's
    metadata made it: on some hosts before the first case.)"""
    models = ["exit_nonzero", "wrong", "good", "segfault", "line_separator", "garbage"]
    with tmpfs(tmp_path / "small", "size=4m") as small:
        out = small / "run"
        proc, tmpdir = start_cmbench("run", "--profile", "smoke", "--workload", "ping_pong", "--impl",
                                     impls(models), "--out", str(out), name="diskfull")
        try:
            deadline = time.monotonic() + 120
            while not any(c["status"] == "ok" for c in stored(out)):
                assert proc.poll() is None and time.monotonic() < deadline, "no good case was stored"
                time.sleep(0.0005)
            held_between_writes(proc, out)
            try:
                before = len(stored(out))
                page = 4096  # a tmpfs counts whole pages: a file of one byte takes one
                leave_free(small, ((out / "run.json").stat().st_size // page + 2) * page)
            finally:
                os.kill(proc.pid, signal.SIGCONT)
            _, err = proc.communicate(timeout=300)
        finally:
            proc.kill()
            assert_none_left(tmpdir)
        assert before < len(models), before
        assert proc.returncode == 1 and "Traceback" not in err, err
        last = err.strip().split("\n")[-1]
        assert last.startswith("cmbench: error: ") and "(No space left on device); the run stopped" in last
        assert len(agree(out)) == before
        run = json.loads((out / "run.json").read_text())
        assert run["status"] == "failed" and "No space left on device" in run["error"]
        assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left
        site = tmp_path / "site"
        rep = cmbench("report", str(out), "--out", str(site), name="diskfull-report")
        assert rep.returncode == 0 and "warning" not in rep.stderr, rep.stderr
        assert (site / "index.html").exists()


def _result(impl: str) -> CaseResult:
    return CaseResult(key=CaseKey("ping_pong", "roundtrips=1", impl, "default"), language="fault", model="x",
                      params={"roundtrips": 1}, status="crashed", error="deliberate")


def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@fault("disk-full-write")
def test_a_write_that_fails_replaces_nothing_and_is_rolled_back(tmp_path, monkeypatch):
    store = RunStore.create(tmp_path / "run", "r1", {})
    store.add(_result("fault/a"), [])
    before = _snapshot(tmp_path / "run")
    real = store_module._stage

    def full(path, fill):
        if path.name == "results.csv":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, fill)

    monkeypatch.setattr(store_module, "_stage", full)
    with pytest.raises(StoreError, match=r"results\.csv: cannot write it \(No space left on device\)"):
        store.add(_result("fault/b"), [])
    assert [c["impl"] for c in store.cases] == ["fault/a"]
    after = _snapshot(tmp_path / "run")
    assert after["results.csv"] == before["results.csv"]
    run = json.loads(after["run.json"])  # run.json alone still fitted: it says why the run stopped
    assert run["status"] == "failed" and [c["impl"] for c in run["cases"]] == ["fault/a"]


@fault("signal-during-write")
def test_a_signal_during_a_write_waits_until_the_file_is_whole(tmp_path, monkeypatch):
    path = tmp_path / "run.json"
    write_atomic(path, "old\n")
    real = store_module._text

    def interrupted(text):
        fill = real(text)

        def go(tmp):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of the write
            fill(tmp)
        return go

    monkeypatch.setattr(store_module, "_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "new\n")
    assert path.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]
