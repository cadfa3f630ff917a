"""The project's one vocabulary: how a case ends, how a case and an implementation are named,
and how numbers and tables are written.

This is the ground floor: it imports nothing from the project, and everything that prints a
status, a label, a parameter list or a unit (the terminal, run.json, the report site) takes it
from here, so that the harness and the reports never drift apart.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


class Status(enum.StrEnum):
    """How a case ended. Only `ok` cases carry figures."""

    OK = "ok"
    BUILD_FAILED = "build_failed"
    VERIFY_FAILED = "verify_failed"
    CRASHED = "crashed"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"  # a toolchain or tool is missing: nothing was wrong with the implementation
    UNSUPPORTED = "unsupported"  # the implementation declares the case meaningless in its model
    INTERRUPTED = "interrupted"  # the run was stopped (Ctrl-C, SIGTERM) before the case finished
    LOST = "lost"  # the host measuring the case went away (cluster runs), even after a retry
    NOT_RUN = "not_run"  # the run stopped (interrupted; a cluster run's hosts or scheduler gone) before the case began

    @property
    def failed(self) -> bool:
        """A fault of the implementation or of its measurement: the run exits 1."""
        return self in FAILED


FAILED = frozenset({Status.BUILD_FAILED, Status.VERIFY_FAILED, Status.CRASHED, Status.TIMEOUT, Status.LOST})
STATUSES = tuple(s.value for s in Status)

DEFAULT_VARIANT = "default"
# Parameters every case carries that say where it ran, not what it ran.
PLACEMENT_PARAMS = ("cpus", "executor", "load_cpus", "host")


def impl_label(impl: str, variant: str = DEFAULT_VARIANT) -> str:
    """`go/goroutines`, or `go/goroutines:gomaxprocs1` for a variant."""
    return impl if variant in ("", DEFAULT_VARIANT) else f"{impl}:{variant}"


def params_text(params: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """{"threads": 4, "mode": "mutex"} -> `threads=4,mode=mutex` (case labels and results.csv)."""
    items = params.items() if isinstance(params, Mapping) else params
    return ",".join(f"{k}={v}" for k, v in items)


def parse_params(text: str) -> dict[str, str]:
    """`threads=4,mode=mutex` -> {"threads": "4", "mode": "mutex"} (values stay text; bare words are dropped)."""
    out = {}
    for part in str(text).split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def fmt_seconds(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if abs(s) >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def fmt_bytes(b: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(b) >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{b:.3g} B"


def fmt_rate(r: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(r) >= scale:
            return f"{r / scale:.3g}{unit}/s"
    return f"{r:.3g}/s"


def fmt_duration(s: float) -> str:
    """A wall-clock duration for people: `45 s`, `12 min 5 s`, `1 h 20 min`."""
    s = max(0.0, s)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60)} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60)} min"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with columns padded to their widest cell."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line.rstrip(), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(out)
