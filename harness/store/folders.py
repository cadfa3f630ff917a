"""Replacing a whole folder at once, and reading a versioned JSON file: two on-disk habits of the store."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from harness.errors import UserError


def replace_folder(new: Path, final: Path) -> None:
    """Put the finished folder `new` at `final`, replacing what was there by two renames.

    `new` must be on the same file system (a sibling); a reader sees the old folder or the new
    one, never half of either. The old one is removed afterwards.
    """
    old = None
    if final.exists():
        old = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.old-"))
        os.rename(final, old / final.name)
    os.rename(new, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_versioned(path: Path, schema: int, missing: str) -> dict[str, Any]:
    """A JSON object with a `schema` no newer than `schema`; `missing` says how to get the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: not found; {missing}") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("schema"), int) or data["schema"] > schema:
        found = data.get("schema") if isinstance(data, dict) else None
        raise UserError(f"{path}: schema {found!r} is newer than this cmbench reads ({schema}); update cmbench")
    return data
