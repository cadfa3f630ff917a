"""pyproject.toml's extras match what each side imports, and a missing extra is one line saying how to install it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from .test_layout import imported_names, modules

PROJECT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# import name -> distribution name, where they differ
DISTRIBUTIONS = {"hdrh": "hdrhistogram", "yaml": "pyyaml", "otava": "apache-otava"}
# Installed with --no-deps by `make otava` (its package's own dependencies are clients cmbench never uses).
NO_DEPS = {"apache-otava"}


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in requirements}


def _third_party(prefixes: tuple[str, ...]) -> set[str]:
    """Distributions the modules under `prefixes` import, anywhere in the file (TYPE_CHECKING aside)."""
    local = {"harness", "cmbench", "reports"}
    found = set()
    for module, path in modules().items():
        if not module.startswith(prefixes):
            continue
        for name in imported_names(module, path):
            top = name.split(".")[0]
            if top and top not in local and top not in sys.stdlib_module_names and top != "__future__":
                found.add(DISTRIBUTIONS.get(top, top).lower())
    return found


def test_the_measuring_side_installs_without_any_extra():
    core = _names(PYPROJECT["dependencies"])
    harness = _third_party(("harness.",)) - _third_party(("harness.cluster",))
    harness -= {"requests"}  # docker's own dependency, which the docker executor also uses
    harness -= _names(PYPROJECT["optional-dependencies"]["toolchains"])  # harness.toolchains: when installed
    assert harness <= core, f"imported by the measuring side, missing from dependencies: {sorted(harness - core)}"
    assert not core & {"pandas", "seaborn", "matplotlib", "jinja2", "scipy", "pyarrow", "distributed"}


def test_each_extra_holds_what_its_side_imports():
    extras = {k: _names(v) for k, v in PYPROJECT["optional-dependencies"].items()}
    core = _names(PYPROJECT["dependencies"])
    reports = _third_party(("reports",)) - {"markupsafe"}  # jinja2's own dependency
    assert reports - NO_DEPS <= core | extras["report"] | extras["nightly"]
    assert _third_party(("harness.cluster",)) <= core | extras["cluster"]
    assert NO_DEPS.isdisjoint(core.union(*extras.values()))  # never through pip's resolver: its pins would come too
    makefile = (PROJECT / "Makefile").read_text(encoding="utf-8")
    otava = re.search(r"^OTAVA\s*:=\s*(\S+)", makefile, flags=re.M).group(1)
    base = (PROJECT / "cmbench" / "commands" / "base.py").read_text(encoding="utf-8")
    assert f"pip install --no-deps '{otava}'" in base  # the hint installs what the Makefile does
    assert "otava BIN={envbindir}" in (PROJECT / "tox.ini").read_text(encoding="utf-8")


def _cmbench_without(blocked: str, argv: list[str]) -> subprocess.CompletedProcess:
    """`cmbench argv` in a child where `import <blocked>` fails as when the package is not installed."""
    code = (f"import sys\nsys.modules[{blocked!r}] = None\nfrom cmbench.cli import main\n"
            f"sys.exit(main({argv!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT, timeout=120)


@pytest.mark.parametrize("argv", [["worker", "tcp://127.0.0.1:9"],
                                  ["run", "--cluster", "tcp://127.0.0.1:9", "--impl", "fake/good",
                                   "--workload", "ping_pong", "--profile", "smoke"]])
def test_cluster_commands_without_distributed_say_how_to_install_it(argv, fixture_root):
    out = _cmbench_without("distributed", ["--root", str(fixture_root), *argv])
    assert out.returncode == 1, out.stderr
    [line] = [e for e in out.stderr.splitlines() if e.startswith("cmbench: error:")]  # (and no traceback)
    assert line.startswith("cmbench: error: cmbench ") and "pip install -e '.[cluster]'" in line
    assert "Traceback" not in out.stderr


def test_report_commands_without_otava_say_how_to_install_it(fixture_root, tmp_path):
    out = _cmbench_without("otava", ["--root", str(fixture_root), "regressions", "--results", str(tmp_path)])
    assert out.returncode == 1
    [line] = out.stderr.strip().splitlines()
    assert "(otava" in line and "is missing" in line and "pip install --no-deps 'apache-otava" in line


def test_plan_and_run_load_no_dask(fixture_root):
    code = ("import sys\nfrom cmbench.cli import main\n"
            f"status = main(['--root', {str(fixture_root)!r}, 'plan', '--profile', 'smoke'])\n"
            "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in ('distributed', 'dask')))\n"
            "sys.exit(status)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT, timeout=120)
    assert out.returncode == 0 and "LOADED []" in out.stdout, out.stderr[-500:]
