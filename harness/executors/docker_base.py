"""Base images for the docker executor: the registry image a Dockerfile names, or a local stand-in.

A Dockerfile picks its base with a build argument (`ARG BASE=debian:bookworm-slim`). Where that
image is present or can be pulled, it is used as is. Where no registry is reachable, cmbench
builds a stand-in from a recipe the project declares (base_recipe: `impls/_bases/*.toml`, or an
implementation's own `base.toml`): `debootstrap --variant=minbase` of Debian bookworm with the
recipe's packages, trimmed and imported with `docker import`; or, for a recipe with a parent,
this host's files (a program, a JDK's home, a Python distribution) copied onto the parent
stand-in. Each stand-in is tagged by a hash of its inputs (recipe, packages, files, parent), so
it is built once and reused.

`CMBENCH_DOCKER_BASES` chooses: `auto` (default: registry image if available, else stand-in),
`registry` (never build stand-ins), `local` (always the stand-ins, for identical bases everywhere).
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from harness.console import Console
from harness.errors import UserError
from harness.executors.base_recipe import Recipe, RecipeBook, RecipeError, load_recipes
from harness.executors.docker_image import ImageError, add_path, stream_build, tree_digest
from harness.measure.ccache import cache_dir
from harness.measure.process import child_env, run_child, strip_ansi
from harness.vocab import fmt_bytes

SUITE = "bookworm"
SUITE_GLIBC = (2, 36)  # the C library of Debian bookworm, which native binaries are linked against
FALLBACK_MIRROR = "http://deb.debian.org/debian"
RECIPE_VERSION = 2  # bump when the way stand-ins are built changes, so they are rebuilt
DEBOOTSTRAP_TIMEOUT = 1800.0
MODES = ("auto", "registry", "local")
PRUNE_AFTER = 3600.0  # seconds: superseded images younger than this are kept
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Removed from every debootstrapped tree: package caches, indexes, documentation, manuals,
# translations, logs. Copyright files stay.
SLIM_GLOBS = (
    "var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*_*",
    "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*/", "usr/share/lintian/*",
    "var/cache/debconf/*-old", "var/log/*.log", "var/log/apt/*",
)
DPKG_SLIM = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
"""
APT_SLIM = 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'


class BaseError(Exception):
    """A base image could not be had; the message is one line saying what to do."""


# --- the Debian mirror --------------------------------------------------------------------------


def _one_line_sources(text: str) -> Iterator[tuple[str, list[str]]]:
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 3 or words[0] != "deb":
            continue
        if words[1].startswith("["):  # options: [arch=amd64 signed-by=...]
            while words and not words[0].endswith("]"):
                words.pop(0)
            words = ["deb", *words[1:]]
            if len(words) < 3:
                continue
        yield words[1], [words[2]]


def _deb822_sources(text: str) -> Iterator[tuple[str, list[str]]]:
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() == "no" or "deb" not in fields.get("types", "").split():
            continue
        for uri in fields.get("uris", "").split():
            yield uri, fields.get("suites", "").split()


def debian_mirror(apt_dir: Path = Path("/etc/apt"), suite: str = SUITE) -> str:
    """The Debian mirror this host's apt uses for `suite`, or deb.debian.org.

    `CMBENCH_DEBIAN_MIRROR` overrides it.
    """
    if os.environ.get("CMBENCH_DEBIAN_MIRROR"):
        return os.environ["CMBENCH_DEBIAN_MIRROR"]
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    entries: list[tuple[str, list[str]]] = []
    for path in files:
        try:
            entries += _one_line_sources(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        try:
            entries += _deb822_sources(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    for uri, suites in entries:
        if suite in suites and uri.split(":", 1)[0] in ("http", "https", "file"):
            return uri.rstrip("/")
    return FALLBACK_MIRROR


# --- trimming and unmounting a debootstrapped tree ------------------------------------------------


def slim_rootfs(rootfs: Path) -> None:
    """Remove caches, documentation and translations; keep copyright files; keep it so for later installs."""
    for pattern in SLIM_GLOBS:
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    doc = rootfs / "usr/share/doc"
    if doc.is_dir():
        for path in sorted(doc.rglob("*"), reverse=True):
            if path.is_dir() and not path.is_symlink():
                if not any(path.iterdir()):
                    path.rmdir()
            elif path.name != "copyright":
                path.unlink()
    (rootfs / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/dpkg/dpkg.cfg.d/cmbench-slim").write_text(DPKG_SLIM)
    (rootfs / "etc/apt/apt.conf.d").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/apt/apt.conf.d/90cmbench-slim").write_text(APT_SLIM)


def mounts_under(root: Path, mountinfo: Path = Path("/proc/self/mountinfo")) -> list[str]:
    """Mount points inside `root` (debootstrap mounts proc and sys in the tree it builds)."""
    prefix = str(root.resolve()).rstrip("/") + "/"
    points = []
    try:
        for line in mountinfo.read_text().splitlines():
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix):
                points.append(point)
    except OSError:
        return []
    return sorted(points, key=len, reverse=True)


def remove_tree(root: Path, console: Console) -> None:
    """Unmount what is mounted inside `root`, then delete it; never delete through a mount."""
    for point in mounts_under(root):
        run_child(["umount", "-l", point], cwd=Path("/"), env=child_env(), timeout=60, measure=False)
    left = mounts_under(root)
    if left:
        console.say(f"docker: left {root} in place: {left[0]} is still mounted (unmount it, then delete the folder)")
        return
    shutil.rmtree(root, ignore_errors=True)


# --- resolving and building bases ----------------------------------------------------------------


def find_debootstrap() -> str | None:
    """debootstrap lives in /usr/sbin, which a non-login PATH may lack."""
    return shutil.which("debootstrap") or next(
        (p for p in ("/usr/sbin/debootstrap", "/sbin/debootstrap") if Path(p).exists()), None)


@contextmanager
def _locked(name: str, console: Console) -> Iterator[None]:
    """One builder per stand-in across cmbench processes on this host."""
    path = cache_dir() / f"docker-base-{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            console.say(f"docker: waiting for another cmbench that is building base {name}")
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def base_mode() -> str:
    mode = os.environ.get("CMBENCH_DOCKER_BASES", "auto")
    if mode not in MODES:
        raise UserError(f"CMBENCH_DOCKER_BASES: '{mode}' is not one of {', '.join(MODES)}")
    return mode


def _first_line(e: BaseException) -> str:
    text = str(getattr(e, "explanation", None) or e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class Bases:
    """Resolves the base images Dockerfiles name, building stand-ins where needed (once per session).

    The recipes come from the project (`recipes`, or loaded from the implementation's impls/
    folder on first use): see base_recipe.
    """

    def __init__(self, client, console: Console, *, mode: str | None = None, mirror: str | None = None,
                 runner=run_child, recipes: RecipeBook | None = None) -> None:
        self.client = client
        self.console = console
        self.mode = mode or base_mode()
        self._mirror = mirror
        self._runner = runner
        self._book = recipes
        self._resolved: dict[tuple[str, Path | None], str] = {}
        self._digests: dict[str, str] = {}

    @property
    def mirror(self) -> str:
        if self._mirror is None:
            self._mirror = debian_mirror()
        return self._mirror

    def book(self, impl_dir: Path | None = None) -> RecipeBook:
        """The project's recipes, loaded from `impls/` above `impl_dir` the first time."""
        if self._book is None:
            if impl_dir is None:
                raise BaseError("no base recipes loaded: pass the implementation's folder")
            try:
                self._book = load_recipes(impl_dir.resolve().parent.parent)
            except UserError as e:
                raise BaseError(str(e)) from None
        return self._book

    def resolve(self, image: str, impl_dir: Path | None = None) -> str:
        """The image reference to build FROM in place of `image` for the implementation in `impl_dir`."""
        key = (image, impl_dir)
        if key in self._resolved:
            return self._resolved[key]
        why = ""
        if self.mode != "local":
            if self._present(image):
                self._resolved[key] = image
                return image
            why = self._pull(image)
            if not why:
                self._resolved[key] = image
                return image
        book = self.book(impl_dir)
        recipe = book.for_image(image, impl_dir)
        if recipe is None or self.mode == "registry":
            where = f"{impl_dir}/base.toml" if impl_dir is not None else "a base.toml next to impl.toml"
            raise BaseError(f"base image {image} is not available ({why or 'CMBENCH_DOCKER_BASES=local'}) and "
                            + (f"no base recipe stands in for it: declare one in {where} "
                               f"(see impls/README.md, 'Base images'); stand-ins exist for "
                               f"{', '.join(book.images(impl_dir)) or 'no image'}" if recipe is None else
                               "CMBENCH_DOCKER_BASES=registry forbids a local stand-in"))
        ref = self.ref(recipe.name)
        if why:
            self.console.say(f"docker: no registry reachable for {image} ({why}); using the local stand-in {ref}")
        else:
            self.console.say(f"docker: using the local stand-in {ref} for {image} (CMBENCH_DOCKER_BASES=local)")
        self._resolved[key] = self.ensure(recipe.name)
        return self._resolved[key]

    def _present(self, ref: str) -> bool:
        import docker.errors

        try:
            self.client.images.get(ref)
            return True
        except docker.errors.ImageNotFound:
            return False

    def _pull(self, image: str) -> str:
        """Pull `image`; '' when it worked, else the first line of why not."""
        import docker.errors
        import requests

        try:
            self.client.images.pull(image)
            return ""
        except (docker.errors.APIError, requests.exceptions.RequestException) as e:
            return _first_line(e)

    def digest(self, name: str) -> str:
        """The hash of everything a stand-in is made of; its tag."""
        if name in self._digests:
            return self._digests[name]
        recipe = self.book()[name]
        h = hashlib.sha256()
        h.update(f"recipe {RECIPE_VERSION} {name} suite {SUITE} variant minbase\n".encode())
        h.update(f"packages {' '.join(sorted(recipe.packages))}\n".encode())
        h.update(f"env {recipe.env!r} run {recipe.run!r}\n".encode())
        if recipe.parent:
            h.update(f"parent {self.digest(recipe.parent)}\n".encode())
        for src, dest in self._files(recipe):
            h.update(f"file {dest} {tree_digest(src)}\n".encode())
        self._digests[name] = h.hexdigest()
        return self._digests[name]

    def ref(self, name: str) -> str:
        return f"{self.book()[name].repository}:{self.digest(name)[:16]}"

    @staticmethod
    def _files(recipe: Recipe) -> list[tuple[Path, str]]:
        try:
            return recipe.files()
        except RecipeError as e:  # names the recipe file and the field
            raise BaseError(str(e)) from None

    def ensure(self, name: str) -> str:
        """The stand-in's tag, built first when this host does not have it."""
        ref = self.ref(name)
        if self._present(ref):
            return ref
        recipe = self.book()[name]
        if recipe.parent:
            self.ensure(recipe.parent)
        with _locked(name, self.console):
            if self._present(ref):
                return ref
            began = time.perf_counter()
            if recipe.parent:
                self._derive(recipe, ref)
            else:
                self._debootstrap(recipe, ref)
            size = self.client.images.get(ref).attrs.get("Size", 0)
            self.console.say(f"docker: built base {ref} in {time.perf_counter() - began:.0f} s ({fmt_bytes(size)})")
            self._prune(recipe, ref)
        return ref

    def _labels(self, recipe: Recipe) -> dict[str, str]:
        return {"org.cmbench.base": recipe.name, "org.cmbench.inputs": self.digest(recipe.name)}

    def _debootstrap(self, recipe: Recipe, ref: str) -> None:
        tool = find_debootstrap()
        if tool is None:
            raise BaseError(f"building base {ref} needs debootstrap: install it (apt-get install debootstrap), "
                            "or make the registry image pullable")
        if os.geteuid() != 0:
            raise BaseError(f"building base {ref} needs root (debootstrap chroots): run this build once as root, "
                            "or make the registry image pullable")
        what = f"debootstrap --variant=minbase{' --include=' + ','.join(recipe.packages) if recipe.packages else ''}"
        self.console.say(f"docker: building base {ref} ({recipe.help}): {what} {SUITE} from {self.mirror}; "
                         "this takes a few minutes once, then the image is reused")
        debs = cache_dir() / "debootstrap-debs" / SUITE
        debs.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=cache_dir()))
        rootfs = work / "rootfs"
        env = child_env({k: v for k, v in os.environ.items() if k.lower() in ("http_proxy", "https_proxy", "no_proxy")})
        env["PATH"] = env["PATH"] + ":/usr/sbin:/sbin"
        try:
            argv = [tool, "--variant=minbase", f"--cache-dir={debs}", SUITE, str(rootfs), self.mirror]
            if recipe.packages:
                argv.insert(2, "--include=" + ",".join(recipe.packages))
            r = self._runner(argv, cwd=work, env=env, timeout=DEBOOTSTRAP_TIMEOUT, measure=False)
            if r.returncode != 0:
                log = strip_ansi(r.stdout + r.stderr).strip().splitlines()
                why = "timed out" if r.timed_out else f"exit {r.returncode}"
                raise BaseError(f"debootstrap for base {ref} failed ({why}): " + " | ".join(log[-6:]))
            for point in mounts_under(rootfs):
                run_child(["umount", "-l", point], cwd=work, env=env, timeout=60, measure=False)
            slim_rootfs(rootfs)
            tarball = work / "rootfs.tar"
            r = self._runner(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], cwd=work,
                             env=env, timeout=DEBOOTSTRAP_TIMEOUT, measure=False)
            if r.returncode != 0:
                raise BaseError(f"tar of the rootfs for base {ref} failed: {r.stderr_tail(3)}")
            repository, tag = ref.split(":", 1)
            changes = [f"ENV {k}={v}" for k, v in (("PATH", DEFAULT_PATH), ("LANG", "C.UTF-8"), *recipe.env)]
            changes += [f"LABEL {k}={v}" for k, v in self._labels(recipe).items()] + ['CMD ["/bin/sh"]']
            self.client.api.import_image_from_file(str(tarball), repository=repository, tag=tag, changes=changes)
            if not self._present(ref):
                raise BaseError(f"docker import of base {ref} produced no image")
        finally:
            remove_tree(work, self.console)

    def _derive(self, recipe: Recipe, ref: str) -> None:
        parent = self.ensure(recipe.parent)
        self.console.say(f"docker: building base {ref} ({recipe.help})")
        files = self._files(recipe)
        lines = [f"FROM {parent}", *(["COPY rootfs/ /"] if files else [])]  # a recipe may only run or set env
        lines += [f"ENV {k}={v}" for k, v in recipe.env] + [f"RUN {command}" for command in recipe.run]
        with tempfile.TemporaryFile() as f:
            with tarfile.open(fileobj=f, mode="w") as tar:
                text = ("\n".join(lines) + "\n").encode()
                info = tarfile.TarInfo("Dockerfile")
                info.size = len(text)
                tar.addfile(info, io.BytesIO(text))
                for src, dest in files:
                    add_path(tar, src, "rootfs" + dest)
            f.seek(0)
            try:
                stream_build(self.client, f, tag=ref, labels=self._labels(recipe))
            except ImageError as e:
                raise BaseError(derive_failure(recipe, ref, str(e))) from None

    def _prune(self, recipe: Recipe, keep: str) -> None:
        """Drop earlier versions of this stand-in (those still used by images stay)."""
        prune_images(self.client, f"org.cmbench.base={recipe.name}", keep)


def derive_failure(recipe: Recipe, ref: str, error: str) -> str:
    """A derived stand-in's failed build as one line naming the recipe file and, where it can tell, the field."""
    where = f"{recipe.path}: " if recipe.path else f"base {recipe.name}: "
    for i, command in enumerate(recipe.run):
        if f"/bin/sh -c {command}'" in error:  # the legacy builder: The command '/bin/sh -c X' returned ...
            return f"{where}field 'run[{i}]' '{command}' failed in the stand-in {ref}: {error}"
    return f"{where}building the stand-in {ref} failed: {error}"


def prune_images(client, label: str, keep: str, *, min_age: float = PRUNE_AFTER) -> list[str]:
    """Remove the images with `label` other than `keep` that are older than `min_age` seconds.

    The age spares images another cmbench on this host may be about to run; images in use by a
    container, or that others are built on, are refused by the engine and stay.
    """
    import docker.errors

    removed = []
    for image in client.images.list(filters={"label": label}):
        if keep in image.tags or _age(image) < min_age:
            continue
        try:
            client.images.remove(image.id)
            removed.append(image.id)
        except docker.errors.APIError:
            pass
    return removed


def _age(image) -> float:
    created = str(image.attrs.get("Created", ""))
    try:
        when = datetime.fromisoformat(created[:26].rstrip("Z") + "+00:00") if created else None
    except ValueError:
        when = None
    return (datetime.now(UTC) - when).total_seconds() if when else 0.0


def glibc_newer_than_bases(version: str | None = None) -> str | None:
    """This host's glibc when it is newer than the bases' (binaries linked here may then not start)."""
    text = version if version is not None else (os.confstr("CS_GNU_LIBC_VERSION") or "")
    parts = text.split()[-1].split(".") if text else []
    try:
        found = tuple(int(p) for p in parts[:2])
    except ValueError:
        return None
    return text if len(found) == 2 and found > SUITE_GLIBC else None

