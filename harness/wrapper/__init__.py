"""rusage-exec: the small C program every implementation runs under (see rusage_exec.c).

It is compiled once per source version into the user's cache folder, statically where the
C library allows, so the same binary also serves inside containers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from ..errors import UserError

SOURCE = Path(__file__).with_name("rusage_exec.c")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cmbench"


def wrapper_path() -> Path:
    """The compiled wrapper, built on first use."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    target = cache_dir() / f"rusage-exec-{digest}"
    if target.exists():
        return target
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise UserError("gcc: not found; cmbench needs a C compiler for its rusage-exec wrapper (apt-get install gcc)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".{os.getpid()}")
    base = [cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-o", str(tmp), str(SOURCE)]
    for flags in (["-static"], []):  # static when libc.a is there: the binary then runs in any image
        r = subprocess.run(base + flags, capture_output=True, text=True)
        if r.returncode == 0:
            os.replace(tmp, target)
            return target
    raise UserError(f"{SOURCE}: failed to compile: {r.stderr.strip()[-300:]}")


def read_report(path: Path) -> dict | None:
    """The wrapper's report of the implementation's exit status and rusage, if it wrote one."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None
