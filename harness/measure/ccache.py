"""Small C helpers of the harness (rusage-exec, the HTTP headroom responder), compiled on first use.

Each is built once per source version into the user's cache folder, so a changed source gets a
new binary and an unchanged one is never rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from harness.errors import UserError

CFLAGS = ("-std=c11", "-O2", "-Wall", "-Wextra")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cmbench"


def compiled(source: Path, name: str, *, flag_sets: Sequence[Sequence[str]] = ((),)) -> Path:
    """The binary built from `source`; `flag_sets` are tried in order (e.g. static, then not)."""
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    target = cache_dir() / f"{name}-{digest}"
    if target.exists():
        return target
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise UserError(f"gcc: not found; cmbench compiles {source.name} with it (apt-get install gcc)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}")
    for flags in flag_sets:
        r = subprocess.run([cc, *CFLAGS, *flags, "-o", str(tmp), str(source)], capture_output=True, text=True)
        if r.returncode == 0:
            os.replace(tmp, target)
            return target
    raise UserError(f"{source}: failed to compile: {r.stderr.strip()[-300:]}")
