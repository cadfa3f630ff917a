import os
import re
import shutil
import subprocess
import sys

import pytest

from cmbench.cli import main


def test_unknown_impl_is_one_line_listing_valid_ids(fixture_root, capsys):
    assert main(["--root", str(fixture_root), "verify", "--impl", "nope/none"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--impl: unknown implementation 'nope/none'" in err and "fake/good" in err


def test_unknown_workload(fixture_root, capsys):
    assert main(["--root", str(fixture_root), "run", "--workload", "nap_time"]) == 2
    assert "--workload: unknown workload 'nap_time'; valid:" in capsys.readouterr().err


def test_bad_cpus(fixture_root, capsys):
    assert main(["--root", str(fixture_root), "verify", "--cpus", "999"]) == 2
    assert "--cpus: must be between 1 and" in capsys.readouterr().err


def test_a_build_failure_is_printed_once_without_terminal_colours(fixture_root, tmp_path, capsys):
    root = tmp_path / "root"
    shutil.copytree(fixture_root, root)
    manifest = root / "impls/fake/badbuild/impl.toml"
    coloured = "import sys; e = chr(27); print(e + '[91mfake: ' + 'no such' + e + '[0m', file=sys.stderr); sys.exit(1)"
    manifest.write_text(re.sub(r"(?m)^command = .*compile error.*$", f'command = ["{{python}}", "-c", "{coloured}"]',
                               manifest.read_text()))
    assert main(["--root", str(root), "build", "--impl", "fake/badbuild"]) == 1
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert printed.count("fake: no such") == 1 and "\x1b" not in printed
    assert "BUILD FAILED fake/badbuild: " in captured.err and "fake/badbuild: build_failed (see above)" in captured.out


def test_list_shows_missing_toolchain(fixture_root, capsys):
    assert main(["--root", str(fixture_root), "list"]) == 0
    out = capsys.readouterr().out
    assert "fake/notool" in out and "MISSING: install the imaginary toolchain" in out


def test_list_impl_shows_knobs_variants_and_unsupported(project_root, capsys):
    assert main(["--root", str(project_root), "list", "--impl", "python/asyncio"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("python/asyncio\n  description  asyncio tasks")
    assert "\n  toolchain    yes: Python 3" in out and "\n  spread       its runtime and the kernel place" in out
    assert "  knobs\n    event_loop" in out and "uvloop: uvloop's event loop" in out and "[--loop uvloop]" in out
    assert "mutex_counter mode=atomic: asyncio runs every task on one thread" in out


def test_headroom_pipeline_depth_is_checked(fixture_root, capsys):
    assert main(["--root", str(fixture_root), "loadgen-headroom", "--cpus", "1", "--pipeline", "1"]) == 2
    assert "--pipeline: 1 is not a depth to pipeline at" in capsys.readouterr().err


def test_impl_takes_the_ids_plan_prints_and_a_language(project_root, capsys):
    import json

    assert main(["--root", str(project_root), "plan", "--impl", "go/goroutines:gomaxprocs1,c", "--workload",
                 "ping_pong", "--profile", "smoke", "--json"]) == 0
    cases = json.loads(capsys.readouterr().out)["cases"]
    assert {(c["impl"], c["variant"]) for c in cases} == {("go/goroutines", "gomaxprocs1"), ("c/pthreads", "default")}
    assert main(["--root", str(project_root), "plan", "--impl", "go/goroutines:nope"]) == 2
    assert "has no variant 'nope'; its variants: default" in capsys.readouterr().err


def test_a_selection_of_no_case_has_its_own_exit_status(project_root, capsys):
    from harness.errors import EXIT_NOTHING_SELECTED

    assert main(["--root", str(project_root), "plan", "--impl", "python/fastapi", "--workload",
                 "ping_pong"]) == EXIT_NOTHING_SELECTED == 5
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no implementation serves those workloads" in err


def test_version_and_list_json(fixture_root, capsys):
    import json

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("cmbench ")
    assert main(["--root", str(fixture_root), "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == 1 and {w["name"] for w in data["workloads"]} >= {"ping_pong"}
    good = next(i for i in data["implementations"] if i["id"] == "fake/good")
    assert good["toolchain"]["present"] and good["variants"][0]["name"] == "default"


def test_tls_flags_without_a_cluster_are_one_line(fixture_root, capsys):
    assert main(["--root", str(fixture_root), "run", "--impl", "fake/good", "--tls-cert", "c.pem"]) == 2
    assert "only with --cluster" in capsys.readouterr().err


def test_a_reader_that_closes_the_output_early_ends_the_command_without_a_traceback(fixture_root):
    """`cmbench plan | head -1`: the pipe's reader is gone before the command writes. Output written while the
    command runs (unbuffered) and output written by the last flush (a pipe's block buffer) end the same way."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    for unbuffered in ({}, {"PYTHONUNBUFFERED": "1"}):
        read, write = os.pipe()
        os.close(read)
        r = subprocess.run([sys.executable, "-m", "cmbench", "--root", str(fixture_root), "plan", "--workload",
                            "ping_pong", "--impl", "fake/good"], stdout=write, stderr=subprocess.PIPE, text=True,
                           timeout=120, env={**env, **unbuffered})
        os.close(write)
        assert (r.returncode, r.stderr) == (141, ""), unbuffered
