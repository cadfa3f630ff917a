"""Kept builds: each implementation's folder as a run measured it, so that a later nightly can measure an
old build against today's on the same host in the same minutes (cmbench/confirm.py).

Layout, under the results folder:

    builds/index.json     {"schema": 1, "runs": {run id: {impl: key}},
                           "builds": {key: {"impl", "hash", "toolchain", "bytes", "used"}}}
    builds/<key>/         a copy of the implementation's folder after its build: sources and build outputs

A build is named by (implementation, content hash of its folder, toolchain version): the hash covers
every file's path and bytes, sources and build outputs alike, so an interpreted implementation, or one
with uncommitted changes, is kept and told apart as well as a compiled one; an unchanged folder is
kept once however many runs measured it. The store is bounded (`max_bytes`, default 2 GB): past it the
least recently used builds are removed, never one the current run uses. Nothing here raises for a
folder that cannot be read or copied: the build is not kept, and `keep` says why.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.store.run import write_atomic

SCHEMA = 1
BUILDS_DIR = "builds"
INDEX = "index.json"
MAX_BYTES = 2_000_000_000
SKIPPED_DIRS = (".git", "__pycache__")  # not part of what a build runs


def content_hash(folder: Path) -> str:
    """sha256 over every file under `folder`, by relative path and bytes (a symlink by its target text).

    Hand-written: hashlib has no tree hash, and a git tree hash would miss untracked build outputs.
    """
    h = hashlib.sha256()
    root = Path(folder)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            h.update(rel.encode() + b"\0")
            if path.is_symlink():
                h.update(b"link:" + os.readlink(path).encode() + b"\0")
                continue
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            h.update(b"\0")
    return h.hexdigest()


def _size(folder: Path) -> int:
    return sum(p.lstat().st_size for p in Path(folder).rglob("*") if p.is_file() or p.is_symlink())


def build_key(impl: str, digest: str, toolchain: str) -> str:
    tool = hashlib.sha256(toolchain.encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', impl)}-{digest[:16]}-{tool}"


@dataclass(frozen=True)
class Kept:
    """One kept build."""

    key: str
    impl: str
    path: Path
    toolchain: str
    digest: str


class BuildStore:
    """The kept builds under `results_dir/builds/` (the nightly holds its lock while it writes)."""

    def __init__(self, results_dir: Path, max_bytes: int = MAX_BYTES) -> None:
        self.dir = Path(results_dir) / BUILDS_DIR
        self.max_bytes = max_bytes

    def _read(self) -> dict[str, Any]:
        try:
            doc = json.loads((self.dir / INDEX).read_text(encoding="utf-8"))
            if isinstance(doc, dict) and doc.get("schema") == SCHEMA:
                return {"schema": SCHEMA, "runs": dict(doc.get("runs") or {}), "builds": dict(doc.get("builds") or {})}
        except (OSError, ValueError):
            pass
        # No index, or a damaged one: what is on disk is still usable, the runs' names are not.
        builds = {}
        if self.dir.is_dir():
            for p in self.dir.iterdir():
                meta = p / ".kept.json"
                try:
                    builds[p.name] = json.loads(meta.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
        return {"schema": SCHEMA, "runs": {}, "builds": builds}

    def _write(self, doc: Mapping[str, Any]) -> None:
        write_atomic(self.dir / INDEX, json.dumps(doc, indent=1, sort_keys=True) + "\n")

    def keep(self, run_id: str, impl: str, folder: Path, toolchain: str) -> Kept | str:
        """Keep `folder` (implementation `impl`, built with `toolchain`) as run `run_id`'s build of it.

        Returns the kept build, or why it could not be kept (unreadable folder, no room).
        """
        try:
            digest = content_hash(folder)
        except OSError as e:
            return f"{folder}: cannot be read to keep its build ({e.strerror or e})"
        key = build_key(impl, digest, toolchain)
        target = self.dir / key
        doc = self._read()
        now = time.time()
        if not (target / ".kept.json").is_file():
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
                tmp = Path(tempfile.mkdtemp(dir=self.dir, prefix=f".{key}."))
                try:
                    shutil.copytree(folder, tmp / "tree", symlinks=True,
                                    ignore=shutil.ignore_patterns(*SKIPPED_DIRS))
                    for p in (tmp / "tree").iterdir():
                        p.rename(tmp / p.name)
                    (tmp / "tree").rmdir()
                    size = _size(tmp)
                    meta = {"impl": impl, "hash": digest, "toolchain": toolchain, "bytes": size, "used": now}
                    (tmp / ".kept.json").write_text(json.dumps(meta) + "\n", encoding="utf-8")
                    shutil.rmtree(target, ignore_errors=True)
                    os.rename(tmp, target)
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
            except OSError as e:
                return f"{folder}: its build could not be kept under {self.dir} ({e.strerror or e})"
            doc["builds"][key] = meta
        else:
            doc["builds"].setdefault(key, {"impl": impl, "hash": digest, "toolchain": toolchain,
                                           "bytes": _size(target)})["used"] = now
        doc["runs"].setdefault(run_id, {})[impl] = key
        self._evict(doc, keep={key, *doc["runs"][run_id].values()})
        self._write(doc)
        return Kept(key, impl, target, toolchain, digest)

    def lookup(self, run_id: str, impl: str) -> Kept | None:
        """Run `run_id`'s build of `impl`, when it is still kept."""
        doc = self._read()
        key = (doc["runs"].get(run_id) or {}).get(impl)
        meta = doc["builds"].get(key) if key else None
        if not key or meta is None or not (self.dir / key / ".kept.json").is_file():
            return None
        return Kept(key, impl, self.dir / key, str(meta.get("toolchain", "")), str(meta.get("hash", "")))

    def runs(self) -> dict[str, dict[str, str]]:
        """Run id -> implementation -> the key of the build it measured (kept or since evicted)."""
        return {r: dict(m) for r, m in self._read()["runs"].items()}

    def touch(self, key: str) -> None:
        """Mark a build used now (the eviction removes the least recently used first)."""
        doc = self._read()
        if key in doc["builds"]:
            doc["builds"][key]["used"] = time.time()
            self._write(doc)

    def _evict(self, doc: dict[str, Any], keep: set[str]) -> None:
        builds = doc["builds"]
        total = sum(int(m.get("bytes", 0)) for m in builds.values())
        for key in sorted(builds, key=lambda k: float(builds[k].get("used", 0))):
            if total <= self.max_bytes:
                break
            if key in keep:
                continue
            total -= int(builds[key].get("bytes", 0))
            del builds[key]
            shutil.rmtree(self.dir / key, ignore_errors=True)
        for run_id in list(doc["runs"]):
            doc["runs"][run_id] = {i: k for i, k in doc["runs"][run_id].items() if k in builds}
            if not doc["runs"][run_id]:
                del doc["runs"][run_id]

    def total_bytes(self) -> int:
        return sum(int(m.get("bytes", 0)) for m in self._read()["builds"].values())
