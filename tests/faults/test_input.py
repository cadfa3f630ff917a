"""Input that means something else than the user meant: refused with one line, never reinterpreted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cmbench.cli import main

from .conftest import FAULT_ROOT, fault

MANIFESTS = Path(__file__).resolve().parent / "manifests"


def _error(capsys, *args: str, status: int = 1) -> str:
    """The one line `cmbench ARGS` prints when it refuses them with `status` (1: an input is unusable)."""
    assert main(["--root", str(FAULT_ROOT), *args]) == status
    err = capsys.readouterr().err.strip()
    assert len(err.split("\n")) == 1 and err.startswith("cmbench: error: "), err
    return err


def _flag_error(capsys, *args: str) -> str:
    """The one line `cmbench ARGS` prints when cmbench itself finds a flag's value wrong: status 2, as argparse."""
    return _error(capsys, *args, status=2)


def _usage_error(capsys, *args: str) -> str:
    """argparse's refusal (status 2) of `cmbench ARGS`."""
    with pytest.raises(SystemExit) as e:
        main(["--root", str(FAULT_ROOT), *args])
    assert e.value.code == 2
    return capsys.readouterr().err


@fault("impl-blank")
@pytest.mark.parametrize("command", ["run", "verify", "plan", "build"])
@pytest.mark.parametrize("value", ["", ",", " , "])
def test_a_blank_impl_is_refused_not_all(capsys, command, value):
    err = _flag_error(capsys, command, "--impl", value)
    assert "--impl: names no implementation; leave the flag out for all" in err


@fault("workload-blank")
@pytest.mark.parametrize("command", ["run", "verify", "plan"])
@pytest.mark.parametrize("value", ["", ","])
def test_a_blank_workload_is_refused_not_all(capsys, command, value):
    err = _flag_error(capsys, command, "--impl", "fault/good", "--workload", value)
    assert "--workload: names no workload; leave the flag out for all" in err


@fault("timeout-not-positive")
@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "-inf", "soon"])
def test_a_timeout_that_is_not_a_positive_number_is_refused(capsys, value):
    err = _usage_error(capsys, "run", "--impl", "fault/good", f"--timeout={value}")
    assert "argument --timeout:" in err and repr(value) in err


@fault("cpus-out-of-range")
@pytest.mark.parametrize("command", ["run", "verify", "plan"])
@pytest.mark.parametrize("value", ["0", "-1", "100000"])
def test_a_cpu_count_out_of_range_is_refused(capsys, command, value):
    assert "--cpus: must be between 1 and" in _flag_error(capsys, command, "--impl", "fault/good", "--cpus", value)


@fault("headroom-duration-not-positive")
@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "-inf"])
def test_a_headroom_duration_that_is_not_a_positive_number_is_refused(capsys, value):
    assert "argument --duration:" in _usage_error(capsys, "loadgen-headroom", f"--duration={value}")


@fault("headroom-connections-bad")
@pytest.mark.parametrize("value", ["0", "-5", "64,0", ",", "", "many"])
def test_connection_counts_that_are_not_whole_numbers_above_0_are_refused(capsys, value):
    err = _flag_error(capsys, "loadgen-headroom", "--connections", value)
    assert "--connections:" in err or "--cpus: leaves no CPU" in err  # a 1-CPU host stops at the CPUs first


@fault("cpus-out-of-range")
def test_headroom_cpus_zero_is_refused(capsys):
    assert "--cpus: must be between 1 and" in _flag_error(capsys, "loadgen-headroom", "--cpus", "0")


def _root_with(tmp_path: Path, manifest: str) -> Path:
    """A project root with the fault root's workloads and one implementation: `manifest`."""
    root = tmp_path / "root"
    (root / "impls" / "fault" / "manifest").mkdir(parents=True)
    (root / "workloads").symlink_to(FAULT_ROOT / "workloads")
    shutil.copy(MANIFESTS / manifest, root / "impls" / "fault" / "manifest" / "impl.toml")
    return root


@fault("manifest-unknown-table", "manifest-misspelt-key", "manifest-unsupported-unknown-parameter")
@pytest.mark.parametrize("manifest, needle", [
    ("variant_singular.toml", "unknown key 'variant'; allowed in the top level:"),
    ("reduced_size.toml", "unknown key 'reduced_size'; allowed in the top level:"),
    ("unsupported_misspelt.toml", "field 'unsupported[0].params.roundtrip' is not a parameter declared under [params]"),
])
def test_a_manifest_mistake_is_refused_naming_the_file(capsys, tmp_path, manifest, needle):
    root = _root_with(tmp_path, manifest)
    assert main(["--root", str(root), "list"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"cmbench: error: {root / 'impls/fault/manifest/impl.toml'}: ") and needle in err, err
    assert len(err.split("\n")) == 1
