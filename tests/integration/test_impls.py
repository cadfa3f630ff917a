"""Every implementation whose toolchain is present builds and passes `cmbench verify`."""

import pytest

from cmbench.cli import main
from harness.catalog import load_catalog
from harness.executors.native import NativeExecutor

from ..conftest import PROJECT

pytestmark = pytest.mark.integration

CATALOG = load_catalog(PROJECT)


@pytest.mark.parametrize("impl_id", sorted(CATALOG.impls))
def test_builds_and_verifies(impl_id, capsys):
    impl = CATALOG.impls[impl_id]
    tc = NativeExecutor().toolchain(impl)
    if not tc.present:
        pytest.skip(f"{impl_id}: toolchain missing: {impl.toolchain_hint}")
    code = main(["--root", str(PROJECT), "verify", "--impl", impl_id])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "verify: all passed" in err


def test_smoke_run_go_and_c(tmp_path, capsys):
    present = [i for i in ("go/goroutines", "c/pthreads")
               if i in CATALOG.impls and NativeExecutor().toolchain(CATALOG.impls[i]).present]
    if not present:
        pytest.skip("neither Go nor C toolchain present")
    code = main(["--root", str(PROJECT), "run", "--profile", "smoke", "--impl", ",".join(present),
                 "--workload", "ping_pong,spawn_idle", "--out", str(tmp_path / "run")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "spawn_idle [tasks=1000,sleep_ms=20]" in captured.out
    csv_text = (tmp_path / "run" / "results.csv").read_text()
    assert "memory_per_task" in csv_text and "stack_bytes" in csv_text
