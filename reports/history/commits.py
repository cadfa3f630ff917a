"""The commits between two runs, from the project's git repository when it has both."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

MAX_COMMITS = 50


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None


def _known(repo: Path, sha: str) -> bool:
    r = _git(repo, "cat-file", "-e", f"{sha}^{{commit}}")
    return r is not None and r.returncode == 0


def commits_between(repo: Path | None, old: str, new: str, limit: int = MAX_COMMITS) -> list[Commit] | None:
    """Commits reachable from `new` but not from `old`, newest first; None when git cannot tell.

    None: no repository, an unknown commit (a run from another clone), or git missing.
    """
    if repo is None or not old or not new or "unknown" in (old, new):
        return None
    if old == new:
        return []
    if not (_known(repo, old) and _known(repo, new)):
        return None
    r = _git(repo, "log", f"--max-count={limit}", "--format=%H%x1f%s", f"{old}..{new}")
    if r is None or r.returncode != 0:
        return None
    return [Commit(*line.split("\x1f", 1)) for line in r.stdout.splitlines() if "\x1f" in line]
