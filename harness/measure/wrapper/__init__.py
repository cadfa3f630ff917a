"""rusage-exec: the small C program every implementation runs under (see rusage_exec.c).

It is compiled once per source version into the user's cache folder, statically where the
C library allows, so the same binary also serves inside containers.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.measure.ccache import compiled

SOURCE = Path(__file__).with_name("rusage_exec.c")


def wrapper_path() -> Path:
    """The compiled wrapper: static when libc.a is there, so the binary also runs in any image."""
    return compiled(SOURCE, "rusage-exec", flag_sets=(("-static",), ()))


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
