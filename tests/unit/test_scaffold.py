"""`cmbench new`: ids, refusals and the filled-in templates (no build; the integration test builds)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import PurePosixPath

import pytest

from harness.catalog import load_catalog
from harness.errors import UserError
from harness.manifests.load import load_impl
from harness.scaffold import TEMPLATES, new_impl

from ..conftest import PROJECT


@pytest.fixture
def root(tmp_path):
    shutil.copytree(PROJECT / "workloads", tmp_path / "workloads")
    (tmp_path / "impls").mkdir()
    return tmp_path


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_template_makes_a_valid_impl_with_no_placeholder_left(root, template):
    catalog = load_catalog(root)
    folder = new_impl(root, "zig/fibers", template, catalog.workloads)
    impl = load_impl(folder / "impl.toml", root / "impls", catalog.workloads)
    assert impl.id == "zig/fibers" and impl.workloads == ("ping_pong",)
    for path in folder.iterdir():
        text = path.read_text()
        assert "%%" not in text, path.name
    assert "COPY fibers/" in (folder / "Dockerfile").read_text()
    source = next(p for p in folder.iterdir() if p.name.startswith("main"))
    assert "workloads/spawn_idle/README.md" in source.read_text()


def test_every_template_file_is_package_data():
    """pyproject.toml's package-data puts each template file into the wheel (no file left behind)."""
    with (PROJECT / "pyproject.toml").open("rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["harness"]
    files = [p.relative_to(PROJECT / "harness") for p in (PROJECT / "harness/templates").rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    assert set(TEMPLATES) == {f.parts[1] for f in files}
    for rel in files:
        path = PurePosixPath(rel.as_posix())
        assert any(path.match(p) and len(path.parts) == len(p.split("/")) for p in patterns), rel


@pytest.mark.parametrize("bad", ["Zig/fibers", "zig", "zig/fibers/x", "_bases/x", "zig/-x", "../x/y"])
def test_bad_id_is_one_line(root, bad):
    with pytest.raises(UserError, match="is not an id like go/goroutines"):
        new_impl(root, bad, "c", load_catalog(root).workloads)


def test_existing_folder_and_unknown_template_are_refused(root):
    (root / "impls/zig/fibers").mkdir(parents=True)
    with pytest.raises(UserError, match="zig/fibers: already exists"):
        new_impl(root, "zig/fibers", "c", load_catalog(root).workloads)
    with pytest.raises(UserError, match="--template: unknown template 'rust'"):
        new_impl(root, "zig/other", "rust", load_catalog(root).workloads)
