"""Reading small text files that many hosts lack or do not let one read: the kernel's (sysfs, procfs: one setting
or a short table each) and the like (a repository's HEAD and refs, harness/host/info.py)."""

from __future__ import annotations

from pathlib import Path


def read_file(path: str | Path) -> str | None:
    """The file's text, stripped; None where it cannot be read (absent, no permission, not text)."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").strip()
    except (OSError, ValueError):
        return None


def read_setting(path: str | Path) -> str:
    """The file's text, stripped; "" where it cannot be read."""
    return read_file(path) or ""
