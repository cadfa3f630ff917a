"""`cmbench new` end to end: each template, created in a copy of the project, builds and verifies.

Real processes: the `cmbench` command (python -m cmbench) makes the folder, builds it with the
template's toolchain and verifies ping_pong natively. Measured on a shared 2-CPU host: new + build
+ verify take 2 + 2 + 2 s for the python and c templates (mostly the harness's own start-up), and
about 2 s in all for the cpp one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from ..conftest import PROJECT

pytestmark = pytest.mark.integration


def cmbench(root, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cmbench", "--root", str(root), *args], capture_output=True,
                          text=True, timeout=300, cwd=root)


@pytest.fixture
def root(tmp_path):
    shutil.copytree(PROJECT / "workloads", tmp_path / "workloads")
    shutil.copytree(PROJECT / "impls" / "_bases", tmp_path / "impls" / "_bases")
    return tmp_path


@pytest.mark.parametrize(("template", "toolchain"), [("python", sys.executable), ("c", "gcc"), ("cpp", "g++")])
def test_new_implementation_builds_and_verifies(root, template, toolchain):
    if shutil.which(toolchain) is None:
        pytest.skip(f"{toolchain} is not installed")
    impl_id = f"demo{template}/threads"
    made = cmbench(root, "new", impl_id, "--template", template)
    assert made.returncode == 0, made.stderr
    folder = root / "impls" / impl_id
    assert {"impl.toml", "README.md", "Dockerfile", "Dockerfile.dockerignore"} <= {p.name for p in folder.iterdir()}
    readme = (folder / "README.md").read_text()
    for name in ("worker_pool", "pipeline", "mutex_counter", "spawn_idle", "http_server"):
        assert f"- [ ] [{name}](../../../workloads/{name}/README.md)" in readme
        assert (folder / f"../../../workloads/{name}/README.md").resolve().is_file()

    built = cmbench(root, "build", "--impl", impl_id)
    assert built.returncode == 0, built.stdout + built.stderr
    verified = cmbench(root, "verify", "--impl", impl_id)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "PASS" in verified.stderr + verified.stdout and "ping_pong" in verified.stderr + verified.stdout

    again = cmbench(root, "new", impl_id, "--template", template)
    assert again.returncode == 1
    assert again.stderr.strip() == (f"cmbench: error: {folder}: already exists; "
                                    "pick another LANGUAGE/MODEL or remove the folder")
