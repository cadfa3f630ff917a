"""Implementation images: the Dockerfile, its build context, the hash of their inputs, the build.

Every implementation's Dockerfile is built with its language folder (`impls/<language>`) as
the context, so it can copy what the native build made there (`<model>/build/...`,
`<model>/target/release/...`, Java's classes). `<model>/Dockerfile.dockerignore` says which
files of that folder go into the context (the BuildKit convention for a Dockerfile-specific
ignore file); without it, the context folder's `.dockerignore` applies.

An image is tagged `cmbench/<language>-<model>:<hash>`, the hash taken over the Dockerfile,
every context file, the build arguments and the base images' ids, so an unchanged
implementation is not rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.manifests.model import Impl
from harness.measure.process import strip_ansi

IMAGE_VERSION = 1  # bump when how images are made changes, so every image is rebuilt
BUILD_LOG_LINES = 12


class ImageError(Exception):
    """An image could not be built; the message is one line with the log's tail."""


@dataclass(frozen=True)
class Dockerfile:
    path: Path
    context: Path
    text: str
    ignore: tuple[str, ...]  # .dockerignore patterns, relative to the context
    args: Mapping[str, str]  # ARG name -> default, for the ARGs declared before the first FROM
    bases: tuple[str, ...]  # the ARGs that FROM lines take their image from

    @property
    def relpath(self) -> str:
        return self.path.relative_to(self.context).as_posix()


def _instructions(text: str) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, rest) per logical line: comments dropped, continuations joined."""
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            word, _, rest = full.partition(" ")
            yield word.upper(), rest.strip()
    if pending.strip():
        word, _, rest = pending.strip().partition(" ")
        yield word.upper(), rest.strip()


_VAR = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")


def parse_dockerfile(path: Path, context: Path, text: str, ignore: tuple[str, ...] = ()) -> Dockerfile:
    args: dict[str, str] = {}
    bases: list[str] = []
    seen_from = False
    for word, rest in _instructions(text):
        if word == "ARG" and not seen_from:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip().strip('"')
        elif word == "FROM":
            seen_from = True
            words = [w for w in rest.split() if not w.startswith("--")]
            if not words:
                raise ImageError(f"{path}: a FROM line names no image")
            image = words[0]
            m = _VAR.match(image)
            if m:
                name = m.group(1)
                if not args.get(name):
                    raise ImageError(f"{path}: FROM {image} needs `ARG {name}=<image>` with a default before it")
                if name not in bases:
                    bases.append(name)
    if not seen_from:
        raise ImageError(f"{path}: no FROM line")
    return Dockerfile(path, context, text, ignore, args, tuple(bases))


def _ignore_patterns(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))


def read_dockerfile(impl: Impl) -> Dockerfile:
    """The implementation's Dockerfile, its context (the language folder) and its ignore patterns."""
    path = impl.path / "Dockerfile"
    context = impl.path.parent
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImageError(f"{path}: not found; every implementation needs a Dockerfile (see impls/README.md)") from None
    ignore: tuple[str, ...] = ()
    for candidate in (impl.path / "Dockerfile.dockerignore", context / ".dockerignore"):
        if candidate.is_file():
            ignore = _ignore_patterns(candidate.read_text(encoding="utf-8"))
            break
    return parse_dockerfile(path, context, text, ignore)


def image_repository(impl: Impl) -> str:
    return "cmbench/" + re.sub(r"[^a-z0-9._-]+", "-", impl.id.lower())


def context_files(df: Dockerfile) -> tuple[str, ...]:
    """The files (and symlinks) of the context that the ignore patterns let through, sorted."""
    from docker.utils.build import exclude_paths

    kept = exclude_paths(str(df.context), list(df.ignore), dockerfile=df.relpath)
    files = []
    for rel in kept:
        full = df.context / rel
        if full.is_symlink() or full.is_file():
            files.append(Path(rel).as_posix())
    return tuple(sorted(files))


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _entry(path: Path) -> str:
    """One file's identity: a symlink's target, or the executable bit and the content's hash."""
    if path.is_symlink():
        return f"link {os.readlink(path)}"
    mode = path.stat().st_mode
    return f"{'x' if mode & stat.S_IXUSR else '-'} {_file_digest(path)}"


def tree_digest(root: Path) -> str:
    """The hash of a file, or of every file under a folder with its relative path."""
    h = hashlib.sha256()
    if root.is_file() or root.is_symlink():
        h.update(_entry(root).encode())
        return h.hexdigest()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if Path(dirpath, d).is_symlink()]):
            full = Path(dirpath, name)
            h.update(f"{full.relative_to(root).as_posix()} {_entry(full)}\n".encode())
    return h.hexdigest()


def input_digest(df: Dockerfile, files: tuple[str, ...], buildargs: Mapping[str, str],
                 base_ids: Mapping[str, str]) -> str:
    """The hash that tags the image: Dockerfile, context files, build arguments and base image ids."""
    h = hashlib.sha256()
    h.update(f"cmbench image {IMAGE_VERSION}\ndockerfile {df.relpath}\n".encode())
    h.update(df.text.encode())
    for rel in files:
        h.update(f"\nfile {rel} {_entry(df.context / rel)}".encode())
    for name in sorted(buildargs):
        h.update(f"\narg {name}={buildargs[name]} id={base_ids.get(name, '')}".encode())
    return h.hexdigest()


def add_path(tar: tarfile.TarFile, src: Path, arcname: str) -> None:
    """Add a file or folder owned by root, whatever owns it here."""
    def as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    tar.add(str(src), arcname=arcname.lstrip("/"), recursive=True, filter=as_root)


def context_tar(df: Dockerfile, files: tuple[str, ...]):
    """A temporary file holding the context as an uncompressed tar (the caller closes it)."""
    f = tempfile.TemporaryFile()
    with tarfile.open(fileobj=f, mode="w") as tar:
        for rel in files:
            add_path(tar, df.context / rel, rel)
    f.seek(0)
    return f


def stream_build(client, fileobj, **kwargs) -> list[str]:
    """Run a build from a tar context; the log lines, or ImageError with the error and the log's tail."""
    lines: list[str] = []
    error = ""
    for chunk in client.api.build(fileobj=fileobj, custom_context=True, decode=True, rm=True, forcerm=True,
                                  **kwargs):
        if "stream" in chunk:
            lines += [line for line in strip_ansi(chunk["stream"]).splitlines() if line.strip()]
        if chunk.get("error"):
            error = strip_ansi(str(chunk["error"])).strip()
    if error:
        tail = [line for line in lines if not line.startswith((" ---> ", "Removing intermediate container"))]
        tail = tail[-BUILD_LOG_LINES:]
        raise ImageError(" | ".join([error.splitlines()[0], *tail]))
    return lines
