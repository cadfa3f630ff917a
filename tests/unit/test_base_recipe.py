"""Base recipes as data: validation with file and field, lookup per implementation, host files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.errors import UserError
from harness.executors.base_recipe import PYTHON_SITE, RecipeError, load_recipe, load_recipes

from ..conftest import PROJECT

DEBIAN = 'schema = 1\nname = "debian-bookworm"\nimage = "debian:bookworm-slim"\nhelp = "minbase"\n'


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_own_recipe_wins_for_its_implementation_only():
    book = load_recipes(PROJECT / "impls")
    asyncio = PROJECT / "impls/python/asyncio"
    assert book.for_image("python:3.11-slim-bookworm", asyncio).name == "python3-uvloop"
    assert book.for_image("python:3.11-slim-bookworm", PROJECT / "impls/go/goroutines").name == "python3"
    assert book.for_image("python:3.11-slim-bookworm").name == "python3"
    assert book.for_image("alpine:3.20", asyncio) is None


@pytest.mark.parametrize(("text", "message"), [
    ('schema = 1\nhelp = "x"\n', "field 'name' is missing"),
    ('schema = 1\nname = "Node 20"\nhelp = "x"\n', "field 'name' must be lower-case"),
    ('schema = 1\nname = "n"\n', "field 'help' is missing"),
    ('schema = 1\nname = "n"\nhelp = "x"\nparent = "debian-bookworm"\npackages = ["nodejs"]\n',
     "field 'packages' cannot go with 'parent'"),
    ('schema = 1\nname = "n"\nhelp = "x"\n[[copy]]\nprogram = "node"\nto = "/usr/local/bin/node"\n',
     "field 'copy' needs 'parent'"),
    ('schema = 1\nname = "n"\nhelp = "x"\nparent = "p"\n[[copy]]\nto = "/x"\n',
     "field 'copy[0].program' or 'dist' must be given"),
    ('schema = 1\nname = "n"\nhelp = "x"\nparent = "p"\n[[copy]]\nprogram = "node"\nto = "usr/bin/node"\n',
     "field 'copy[0].to' must be an absolute path"),
    ('schema = 1\nname = "n"\nhelp = "x"\nparent = "p"\n[[copy]]\nprogram = "node"\nto = "/n"\npart = "dir"\n',
     "field 'copy[0].part' must be one of file, home"),
    ('schema = 1\nname = "n"\nhelp = "x"\nparent = "p"\n[[copy]]\ndist = "uvloop"\npython = "3"\n',
     "field 'copy[0].python' must be a Python version"),
    ('schema = 1\nname = "n"\nhelp = "x"\nrun = ["true"]\n', "field 'run' needs 'parent'"),
    ('schema = 1\nname = "n"\nhelp = "x"\nparent = "p"\n', "field 'parent' needs 'copy', 'run' or 'env'"),
    ('schema = 1\nname = "n"\nhelp = "x"\nenv = { A = 1 }\n', "field 'env.A' must be a string"),
    ('schema = 2\nname = "n"\nhelp = "x"\n', "field 'schema' is 2, newer than"),
])
def test_bad_recipe_is_one_line_naming_file_and_field(tmp_path, text, message):
    path = write(tmp_path, "base.toml", text)
    with pytest.raises(UserError) as e:
        load_recipe(path)
    assert str(e.value).startswith(f"{path}: ") and message in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("text", [
    "",  # debootstrap alone
    'packages = ["python3"]\n',  # debootstrap with packages
    'parent = "p"\n[[copy]]\nprogram = "node"\nto = "/usr/local/bin/node"\n',  # parent and copy
    'parent = "p"\nrun = ["ldconfig -p | grep -q libstdc++"]\n',  # parent and run only
    'parent = "p"\nenv = { A = "1" }\n',  # parent and env only
])
def test_every_documented_form_loads(tmp_path, text):
    recipe = load_recipe(write(tmp_path, "base.toml", 'schema = 1\nname = "n"\nhelp = "x"\n' + text))
    assert recipe.name == "n" and bool(recipe.parent) == ("parent" in text)


def test_book_refuses_unknown_parent_duplicates_and_cycles(tmp_path):
    impls = tmp_path / "impls"
    write(impls, "_bases/debian.toml", DEBIAN)
    write(impls, "node/event-loop/base.toml", 'schema = 1\nname = "node20"\nhelp = "x"\nparent = "nope"\n'
          '[[copy]]\nprogram = "node"\nto = "/usr/local/bin/node"\n')
    with pytest.raises(UserError, match=r"node/event-loop/base.toml: field 'parent' names 'nope'"):
        load_recipes(impls)
    write(impls, "node/event-loop/base.toml", 'schema = 1\nname = "debian-bookworm"\nhelp = "x"\n')
    with pytest.raises(UserError, match="field 'name' 'debian-bookworm' is already the name of"):
        load_recipes(impls)
    write(impls, "node/event-loop/base.toml", 'schema = 1\nname = "a"\nhelp = "x"\nparent = "b"\n'
          'run = ["true"]\n')
    write(impls, "_bases/b.toml", 'schema = 1\nname = "b"\nhelp = "x"\nparent = "a"\nrun = ["true"]\n')
    with pytest.raises(UserError, match="makes a cycle"):
        load_recipes(impls)


def test_two_shared_recipes_for_one_image_are_refused(tmp_path):
    impls = tmp_path / "impls"
    write(impls, "_bases/debian.toml", DEBIAN)
    write(impls, "_bases/other.toml", DEBIAN.replace('name = "debian-bookworm"', 'name = "other"'))
    with pytest.raises(UserError, match="field 'image' 'debian:bookworm-slim' already has the shared stand-in"):
        load_recipes(impls)


def test_program_copies_the_file_or_its_home(tmp_path, monkeypatch):
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "cmbench-test-tool").write_text("#!/bin/sh\n")
    (home / "bin" / "cmbench-test-tool").chmod(0o755)
    monkeypatch.setenv("PATH", f"{home / 'bin'}:/usr/bin:/bin")
    impls = tmp_path / "impls"
    write(impls, "_bases/debian.toml", DEBIAN)
    write(impls, "x/y/base.toml", 'schema = 1\nname = "xy"\nimage = "x:1"\nhelp = "x"\nparent = "debian-bookworm"\n'
          '[[copy]]\nprogram = "cmbench-test-tool"\nto = "/usr/local/bin/tool"\n'
          '[[copy]]\nprogram = "cmbench-test-tool"\npart = "home"\nto = "/opt/tool"\n')
    recipe = load_recipes(impls).for_image("x:1", impls / "x/y")
    assert recipe.files() == [(home / "bin" / "cmbench-test-tool", "/usr/local/bin/tool"), (home, "/opt/tool")]


def test_dist_copy_lists_the_distribution_files(tmp_path):
    path = write(tmp_path, "base.toml", 'schema = 1\nname = "p"\nhelp = "x"\nparent = "python3"\n'
                 '[[copy]]\ndist = "pyperf"\n')
    files = load_recipe(path).files()
    assert files and all(dest.startswith(PYTHON_SITE + "/") for _, dest in files)
    assert any(dest.endswith("/pyperf/__init__.py") for _, dest in files)
    assert not any("__pycache__" in dest for _, dest in files)


def test_dist_copy_for_another_python_says_so(tmp_path):
    other = "3.99" if sys.version_info[:2] != (3, 99) else "3.98"
    path = write(tmp_path, "base.toml", 'schema = 1\nname = "p"\nhelp = "x"\nparent = "python3"\n'
                 f'[[copy]]\ndist = "pyperf"\npython = "{other}"\nhint = "run the harness on {other}"\n')
    with pytest.raises(RecipeError) as e:
        load_recipe(path).files()
    assert str(e.value).startswith(f"{path}: field 'copy[0].python' '{other}': distribution 'pyperf' is installed "
                                   "for this harness's Python ")
    assert str(e.value).endswith(f", the image runs {other}: run the harness on {other}")


def test_dist_copy_of_a_missing_distribution_names_the_field(tmp_path):
    path = write(tmp_path, "base.toml", 'schema = 1\nname = "p"\nhelp = "x"\nparent = "python3"\n'
                 '[[copy]]\ndist = "cmbench-no-such-dist"\n')
    with pytest.raises(RecipeError, match=r"base.toml: field 'copy\[0\].dist' 'cmbench-no-such-dist': Python "
                                          "distribution 'cmbench-no-such-dist' is not installed next to the harness"):
        load_recipe(path).files()
