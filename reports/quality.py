"""The site's one vocabulary for how sure a figure is: the same words on every page, table and plot.

A figure carries a quality mark for each of these, read from run.json (the case's `flags` and
`extra`) and from the figure itself (reports/figures.py):

- `unconverged ±x%`: the case stopped (budget, processes, out of reach) before its 95% interval
  of the median reached the profile's precision; x is the interval's half-width (of a case with
  modes: its widest mode's, read from its `modes:` flag, so that it carries both marks);
- `modes`: the case's processes fell into groups; the figure shows each and is not ranked;
- `host busy`: other processes used the CPUs while it was measured, or the host's own probes found
  it in a slow spell (another guest) for more of its processes than a case sets aside;
- `rate not settled`: a server phase's per-second rate still moved when the load stopped (or it
  fell short of the open loop's target);
- `≥ lower bound`: the load generator, not the server, set the rate (reports/bound.py);
- `n = 1`: measured once: no interval, so never named best nor set against another as a factor.

Each mark has a short text (what cells, bars and heatmap tiles show), a one-line meaning (the
legend shown wherever marks appear) and a CSS class.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harness.kinds.batch.repetition import WIDEST_MODE, wider
from reports.figures import SINGLE, Figure

UNCONVERGED, MODES, BUSY, UNSETTLED = "unconverged", "modes", "host busy", "rate not settled"
BOUND, ONCE = "bound", "n1"

LEGEND = {
    UNCONVERGED: ("unconverged ±x%", "stopped before its 95% interval of the median reached the profile's precision; "
                  "x is the interval's half-width (with modes: the widest mode's)"),
    MODES: ("modes", "its processes fell into groups: each group is shown, the figure is not ranked"),
    BUSY: ("host busy", "other processes, or another guest of the host, used the CPUs while it was measured: "
                        "it may be slower than the code is"),
    UNSETTLED: ("rate not settled", "the server phase's rate still moved when the load stopped, or fell short of "
                "its target"),
    BOUND: ("≥ lower bound", "the load generator, not the server, set the rate: the server may be faster"),
    ONCE: ("n = 1", "measured once: no interval, so never named best nor compared as a factor"),
}
# What the overview's header counts each mark as.
COUNT_NAMES = {UNCONVERGED: "unconverged", MODES: "with modes", BUSY: "host busy", UNSETTLED: "rate not settled",
               BOUND: "lower bounds (≥)", ONCE: "n = 1"}
# What a heatmap tile or a narrow bar label has room for.
SHORT = {UNCONVERGED: "unconv", MODES: "modes", BUSY: "busy", UNSETTLED: "unsettled", BOUND: "≥", ONCE: "n=1"}
_PREFIXES = {  # run.json flag prefixes (harness/kinds, harness/host/gate.py) -> mark
    "unconverged": UNCONVERGED, "modes": MODES, "host busy": BUSY, "rate did not settle": UNSETTLED,
    "rate short of target": UNSETTLED, "load-generator bound": BOUND, "load generator saturated": BOUND,
}

# the half-width a `modes:` flag gives when its widest mode stopped short (harness/kinds/batch/repetition.py)
_WIDEST = re.compile(re.escape(WIDEST_MODE) + r"(\d+(?:\.\d+)?)%")


@dataclass(frozen=True)
class Mark:
    code: str
    text: str  # what a cell or a bar shows
    detail: str = ""  # the run.json flag behind it, for a tooltip

    @property
    def cls(self) -> str:
        return "q q-" + {BOUND: "bound", ONCE: "once", UNCONVERGED: "unconv", MODES: "modes", BUSY: "busy",
                         UNSETTLED: "unsettled"}[self.code]


def _number(extra: object, *path: str) -> float | None:
    """The number at `path` in a batch case's run.json `extra` (None: not recorded, or not a number)."""
    value = extra
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def half_width(extra: object) -> float | None:
    """The relative half-width of the median's 95% CI in a batch case's run.json `extra` (None: not recorded)."""
    return _number(extra, "ci", "half_width")


def marks(flags: Iterable[str] = (), extra: object = None, *, figure: Figure | None = None, n: int | None = None,
          bound: bool = False) -> tuple[Mark, ...]:
    """The marks of one figure: from its case's run.json flags and extra, its Figure and its sample count."""
    found: dict[str, Mark] = {}
    for flag in flags:
        code = next((c for p, c in _PREFIXES.items() if flag.startswith(p)), None)
        if code is None or code in found:
            continue
        short = _WIDEST.search(flag) if code == MODES else None
        if short and UNCONVERGED not in found:  # modes that stopped short of the precision (repetition.py)
            found[UNCONVERGED] = Mark(UNCONVERGED, f"unconverged ±{short.group(1)}%", flag)
        if code == UNCONVERGED:
            hw = half_width(extra)
            found[code] = Mark(code, f"unconverged ±{wider(hw, _number(extra, 'precision') or 0.0)}" if hw is not None
                               else "unconverged", flag)
        else:
            found[code] = Mark(code, LEGEND[code][0], flag)
    if figure is not None and figure.modal and MODES not in found:
        found[MODES] = Mark(MODES, "modes", figure.modes_text(""))
    if bound and BOUND not in found:
        found[BOUND] = Mark(BOUND, LEGEND[BOUND][0])
    if (n == 1 or (figure is not None and figure.source == SINGLE)) and ONCE not in found:
        found[ONCE] = Mark(ONCE, "n = 1")
    return tuple(found[c] for c in LEGEND if c in found)


def text(found: Iterable[Mark]) -> str:
    """The marks as plain text (Markdown, CSV and the terminal)."""
    return " · ".join(m.text for m in found)


def legend(codes: Iterable[str] | None = None) -> list[dict[str, str]]:
    """The legend entries of `codes` (all of them by default), in the vocabulary's order."""
    wanted = set(LEGEND if codes is None else codes)
    return [{"cls": Mark(c, "").cls, "text": t, "meaning": m} for c, (t, m) in LEGEND.items() if c in wanted]


def case_marks(case_row, figure: Figure | None = None, n: int | None = None) -> tuple[Mark, ...]:
    """The marks of a figure of one run.json case (a row of Run.cases); `case_row` may be None (no outcome)."""
    if case_row is None:
        return marks(figure=figure, n=n)
    return marks(case_row.flag_list, case_row.extra, figure=figure, n=n, bound=bool(case_row.bound))


def mark_counts(run) -> list[tuple[str, int]]:
    """How many finished cases of `run` (reports/data.py Run) carry each mark from their run.json flags: what the
    overview's header counts, in the vocabulary's order (no "unstable" of another rule)."""
    counts: dict[str, int] = {}
    for r in run.cases.itertuples():
        if r.status != "ok":
            continue
        for m in marks(r.flag_list, r.extra, bound=bool(r.bound)):
            counts[m.code] = counts.get(m.code, 0) + 1
    return [(c, counts[c]) for c in LEGEND if counts.get(c)]
