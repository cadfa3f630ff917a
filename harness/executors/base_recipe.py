"""Base recipes: how the docker executor makes a stand-in for a registry image, declared as data.

An implementation's Dockerfile names its runtime base as a registry image (`ARG BASE=node:20-bookworm-slim`).
Where no registry answers, cmbench builds a local stand-in from a recipe. Recipes are TOML files
that live with the implementations, never in harness code:

- `impls/_bases/<name>.toml`: shared recipes (Debian bookworm, the JVMs, Python 3);
- `impls/<language>/<model>/base.toml`: an implementation's own recipe, which wins over a shared
  one standing in for the same image (python/asyncio's Python with uvloop, Node.js).

A recipe either debootstraps Debian bookworm with `packages`, or derives from its `parent`
stand-in and copies files from this host into it: a host program (the file, or its install
folder such as a JDK's home) or the files of a Python distribution installed next to the
harness. Every file is validated here, once, into frozen dataclasses; a mistake is one line
naming the file and the field.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from harness.errors import UserError
from harness.manifests.toml import TableReader, check_schema, read_toml

SHARED_DIR = "_bases"  # impls/_bases/*.toml
OWN_FILE = "base.toml"  # impls/<language>/<model>/base.toml
PYTHON_SITE = "/usr/local/lib/python3.11/dist-packages"  # Debian bookworm's site folder for local installs
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
COPY_KINDS = ("program", "dist")
PROGRAM_PARTS = ("file", "home")

FileList = list[tuple[Path, str]]  # (path on this host, absolute path in the image)


class RecipeError(Exception):
    """A recipe's host files cannot be had; the message is one line saying what to do."""


def dist_closure(names: Sequence[str]) -> list[importlib.metadata.Distribution]:
    """The distributions `names`, with their requirements (extras left out), as installed next to the harness."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = canonicalize_name(name)
        if key in seen:
            continue
        dist = importlib.metadata.distribution(name)
        seen[key] = dist
        for text in dist.requires or ():
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(seen.values())


def dist_files(dist: importlib.metadata.Distribution, to: str) -> FileList:
    """A distribution's installed files (no byte code), placed under the site folder `to` in the image."""
    files = []
    for rel in dist.files or ():
        if "__pycache__" in rel.parts or rel.suffix == ".pyc" or rel.parts[0] == "..":
            continue
        files.append((Path(dist.locate_file(rel)), f"{to.rstrip('/')}/{rel.as_posix()}"))
    return files


@dataclass(frozen=True)
class Copy:
    """Files of this host copied into a derived stand-in."""

    source: Path  # the recipe file, for messages
    index: int
    to: str  # absolute path in the image
    program: str = ""  # a command found on the harness's PATH (.venv/bin first)
    part: str = "file"  # "file": the program itself; "home": the folder above its bin/ (a JDK's home)
    dist: str = ""  # a Python distribution installed next to the harness
    python: str = ""  # "3.11": the harness must run this Python (the distribution has compiled modules)
    requirements: bool = False  # the distribution's requirements too, as installed here (extras left out)
    hint: str = ""  # what to do when the files are missing

    def field(self, key: str) -> str:
        return f"{self.source}: field 'copy[{self.index}].{key}'"

    def _missing(self, key: str, what: str) -> RecipeError:
        return RecipeError(f"{self.field(key)} {what}" + (f": {self.hint}" if self.hint else ""))

    def files(self) -> FileList:
        """(host path, image path) pairs; RecipeError when this host lacks them."""
        if self.program:
            found = shutil.which(self.program, path=str(Path(sys.executable).parent) + os.pathsep
                                 + os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"))
            if found is None:
                raise self._missing("program", f"'{self.program}' is not on PATH")
            real = Path(found).resolve()
            if self.part == "home":
                if real.parent.name != "bin":
                    raise self._missing("part", f"is 'home', but program '{self.program}' ({real}) is not in a "
                                        "bin/ folder, so it has no install folder to copy")
                return [(real.parent.parent, self.to)]
            return [(real, self.to)]
        here = f"{sys.version_info[0]}.{sys.version_info[1]}"
        if self.python and here != self.python:
            raise self._missing("python", f"'{self.python}': distribution '{self.dist}' is installed for this "
                                f"harness's Python {here}, the image runs {self.python}")
        try:
            dists = dist_closure([self.dist]) if self.requirements else [importlib.metadata.distribution(self.dist)]
        except importlib.metadata.PackageNotFoundError as e:
            raise self._missing("dist", f"'{self.dist}': Python distribution '{e.name}' is not installed next to "
                                "the harness") from None
        return [pair for dist in dists for pair in dist_files(dist, self.to)]


@dataclass(frozen=True)
class Recipe:
    """How a stand-in is made: debootstrap with `packages`, or `copies` added to the `parent` stand-in."""

    name: str
    help: str
    path: Path | None = None  # the recipe file
    image: str = ""  # the registry image it stands in for ("" for a parent only)
    packages: tuple[str, ...] = ()
    parent: str = ""
    copies: tuple[Copy, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    run: tuple[str, ...] = ()  # shell commands run in a derived stand-in after the copy (a check)

    @property
    def repository(self) -> str:
        return f"cmbench-base/{self.name}"

    def files(self) -> FileList:
        return [pair for c in self.copies for pair in c.files()]


@dataclass(frozen=True)
class RecipeBook:
    """Every recipe of a project, by name, and which one stands in for an image for an implementation."""

    recipes: Mapping[str, Recipe] = field(default_factory=dict)
    shared: Mapping[str, str] = field(default_factory=dict)  # image -> recipe name (impls/_bases)
    own: Mapping[Path, Recipe] = field(default_factory=dict)  # implementation folder -> its base.toml

    def __getitem__(self, name: str) -> Recipe:
        return self.recipes[name]

    def for_image(self, image: str, impl_dir: Path | None = None) -> Recipe | None:
        """The implementation's own recipe for `image`, else the shared one, else None."""
        own = self.own.get(impl_dir.resolve()) if impl_dir is not None else None
        if own is not None and own.image == image:
            return own
        name = self.shared.get(image)
        return self.recipes[name] if name else None

    def images(self, impl_dir: Path | None = None) -> list[str]:
        """The images that have a stand-in for this implementation."""
        own = self.own.get(impl_dir.resolve()) if impl_dir is not None else None
        return sorted({*self.shared, *([own.image] if own is not None and own.image else [])})


def load_recipe(path: Path) -> Recipe:
    """Load and validate one recipe file."""
    r = TableReader(path, read_toml(path))
    check_schema(r)
    name = r.str("name", "the stand-in's name, tagged cmbench-base/<name>, e.g. 'node20'")
    if not NAME.match(name):
        raise r.fail("name", "must be lower-case letters, digits, '.', '_' or '-' (a docker repository name)")
    image = r.str("image", "the registry image a Dockerfile's ARG names, e.g. 'node:20-bookworm-slim'",
                  required=False)
    parent = r.str("parent", "the stand-in this one is built FROM, e.g. 'debian-bookworm'", required=False)
    packages = r.strings("packages", "Debian packages for debootstrap --include", required=False, nonempty=False)
    copies = []
    for i, c in enumerate(r.tables("copy", "host files copied into a derived stand-in")):
        program = c.str("program", "a command on the harness's PATH, e.g. 'node'", required=False)
        dist = c.str("dist", "a Python distribution installed next to the harness, e.g. 'uvloop'", required=False)
        if bool(program) == bool(dist):
            raise c.fail("program", "or 'dist' must be given, exactly one of them")
        to = c.str("to", "an absolute path in the image", required=not dist, default=PYTHON_SITE if dist else "")
        if not to.startswith("/"):
            raise c.fail("to", f"must be an absolute path in the image, not '{to}'")
        part = c.str("part", "'file' (the program) or 'home' (the folder above its bin/)", required=False,
                     default="file")
        if part not in PROGRAM_PARTS:
            raise c.fail("part", f"must be one of {', '.join(PROGRAM_PARTS)}")
        python = c.str("python", "the Python version the image runs, e.g. '3.11'", required=False)
        requirements = c.bool("requirements", "copy the distribution's requirements too (dist only)")
        if requirements and not dist:
            raise c.fail("requirements", "goes with 'dist' only")
        if python and not re.fullmatch(r"3\.\d+", python):
            raise c.fail("python", f"must be a Python version like '3.11', not '{python}'")
        copies.append(Copy(source=path, index=i, to=to, program=program, part=part, dist=dist, python=python,
                           requirements=requirements,
                           hint=c.str("hint", "what to do when the files are missing", required=False)))
        c.reject_unknown()
    if packages and parent:
        raise r.fail("packages", "cannot go with 'parent': packages are installed by debootstrap, "
                     "so list them in a recipe without a parent")
    if copies and not parent:
        raise r.fail("copy", "needs 'parent': files are copied onto an existing stand-in, e.g. 'debian-bookworm'")
    run = r.strings("run", "shell commands run in the image after the copy, e.g. 'node --version'", required=False,
                    nonempty=False)
    if run and not parent:
        raise r.fail("run", "needs 'parent': commands run in a derived stand-in")
    env = r.string_map("env", "environment variables of the image")
    if parent and not (copies or run or env):
        raise r.fail("parent", "needs 'copy', 'run' or 'env': a derived stand-in adds something to its parent")
    recipe = Recipe(name=name, help=r.str("help", "one line: what the stand-in holds"), path=path, image=image,
                    packages=packages, parent=parent, copies=tuple(copies), env=tuple(env.items()), run=run)
    r.reject_unknown()
    return recipe


def load_recipes(impls_root: Path) -> RecipeBook:
    """Every recipe under `impls_root`: shared ones in _bases/, own ones as <language>/<model>/base.toml."""
    recipes: dict[str, Recipe] = {}
    shared: dict[str, str] = {}
    own: dict[Path, Recipe] = {}

    def add(recipe: Recipe) -> None:
        if recipe.name in recipes:
            raise UserError(f"{recipe.path}: field 'name' '{recipe.name}' is already the name of "
                            f"{recipes[recipe.name].path}; stand-in names are unique in a project")
        recipes[recipe.name] = recipe

    for path in sorted((impls_root / SHARED_DIR).glob("*.toml")):
        recipe = load_recipe(path)
        add(recipe)
        if recipe.image:
            if recipe.image in shared:
                raise UserError(f"{path}: field 'image' '{recipe.image}' already has the shared stand-in "
                                f"{recipes[shared[recipe.image]].path}; one shared recipe per image")
            shared[recipe.image] = recipe.name
    for path in sorted(impls_root.glob(f"*/*/{OWN_FILE}")):
        recipe = load_recipe(path)
        add(recipe)
        own[path.parent.resolve()] = recipe
    for recipe in recipes.values():
        seen = [recipe.name]
        parent = recipe.parent
        while parent:
            if parent not in recipes:
                raise UserError(f"{recipe.path}: field 'parent' names '{parent}', which no recipe defines "
                                f"(known: {', '.join(sorted(recipes))})")
            if parent in seen:
                raise UserError(f"{recipe.path}: field 'parent' makes a cycle: {' -> '.join([*seen, parent])}")
            seen.append(parent)
            parent = recipes[parent].parent
    return RecipeBook(recipes=recipes, shared=shared, own=own)
