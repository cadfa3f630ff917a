"""The layout holds: no import circle among harness/, cmbench/ and reports/, floors that import only downwards,
and a measuring side that never loads the reporting stack.

Every import counts: at module level, inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
PACKAGES = ("harness", "cmbench", "reports")
# harness's floors, lowest first: a module imports only from its own floor or those below it.
FLOORS = ("harness.errors", "harness.vocab", "harness.measure", "harness.console", "harness.host", "harness.manifests",
          "harness.executors", "harness.plan", "harness.store", "harness.kinds", "harness.catalog", "harness.scaffold",
          "harness.engine", "harness.cluster", "harness.toolchains", "harness")
REPORTING = ("pandas", "pyarrow", "otava", "matplotlib", "seaborn", "jinja2", "scipy")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (PROJECT / package).rglob("*.py"):
            if "templates" in path.relative_to(PROJECT).parts:  # programs for researchers to copy, not the harness
                continue
            rel = path.relative_to(PROJECT).with_suffix("")
            found[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = path
    return found


def imported_names(name: str, path: Path) -> set[str]:
    """Every module name `name` imports (absolute, relative resolved), anywhere in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            out.add(prefix)
            out.update(f"{prefix}.{a.name}" for a in node.names)
    return out


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        for target in imported_names(m, path):
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != m:
                graph[m].add(target)
    return graph


def find_circle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of the graph as a path that ends where it starts; [] when there is none."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path, on_path = [start], {start}
        while stack:
            node, targets = stack[-1]
            nxt = next(targets, None)
            if nxt is None:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
            elif nxt in on_path:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in done:
                stack.append((nxt, iter(sorted(graph[nxt]))))
                path.append(nxt)
                on_path.add(nxt)
    return []


def floor(module: str) -> str | None:
    parts = module.split(".")
    for key in (".".join(parts[:2]), parts[0]):
        if key in FLOORS:
            return key
    return None


def test_find_circle_finds_one():
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    circle = find_circle(import_graph())
    assert not circle, "import circle: " + " -> ".join(circle)


def test_harness_imports_only_downwards():
    upward = []
    for module, targets in import_graph().items():
        for target in targets:
            a, b = floor(module), floor(target)
            if module.startswith("harness") and not target.startswith("harness"):
                upward.append(f"{module} -> {target} (the harness imports no upper package)")
            elif a and b and a != b and FLOORS.index(b) > FLOORS.index(a):
                upward.append(f"{module} -> {target}")
    assert not upward, "imports that run upwards:\n" + "\n".join(sorted(upward))


def test_no_module_is_a_god_module():
    long = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in modules().items()}
    assert max(long.values()) <= 520, sorted(long.items(), key=lambda kv: -kv[1])[:3]


def test_argparse_only_in_the_command_line_package():
    users = [m for m, p in modules().items()
             if not m.startswith("cmbench") and "argparse" in imported_names(m, p)]
    assert users == []


def test_the_measuring_side_names_no_reporting_package():
    named = sorted(f"{m} imports {t}" for m, p in modules().items() if m.startswith("harness")
                   for t in imported_names(m, p) if t.split(".")[0] in REPORTING)
    assert named == []


@pytest.mark.parametrize("argv", [["plan", "--profile", "smoke"], ["list", "--impl", "fake/good"]])
def test_measuring_commands_load_no_reporting_package(argv, fixture_root):
    """What `cmbench run`, `plan` and `worker` load at run time, not only what their files name."""
    code = ("import sys\nfrom cmbench.cli import main\n"
            f"status = main(['--root', {str(fixture_root)!r}, *{argv!r}])\n"
            f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {REPORTING!r})\n"
            "print('LOADED', loaded)\nsys.exit(status)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout, out.stdout[-500:]
