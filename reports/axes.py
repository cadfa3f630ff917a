"""The value axes of the site's figures: their scale (log where the values span orders of magnitude, stated in
the axis' name), ticks that read as plain numbers in the unit's prefix, and room for the value labels.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import FuncFormatter, Locator, LogLocator, MaxNLocator, NullFormatter

from reports.fmt import fmt_value, plain
from reports.plotcheck import THIN

LOG_SPAN = 50  # a value axis spanning more than this factor is drawn on a log scale

_SCALES = {
    "s": ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")),
    "B": ((2.0**30, "GiB"), (2.0**20, "MiB"), (2.0**10, "KiB"), (1.0, "B")),
    "rate": ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")),
    "per_op": ((1.0, "per {0}"), (1e-3, "per 1k {0}s"), (1e-6, "per 1M {0}s"), (1e-9, "per 1G {0}s")),
}


def axis_scale(unit: str, vmax: float) -> tuple[float, str]:
    """A factor and a unit name so that the axis' values read as plain numbers (e.g. 3.2 MiB)."""
    vmax = abs(vmax)
    if unit == "s" or unit.startswith("s/"):
        family, suffix = _SCALES["s"], unit[1:]
    elif unit == "B" or unit.startswith("B/"):
        family, suffix = _SCALES["B"], unit[1:]
    elif unit in ("ops/s", "req/s", "qps", "1/s"):
        family, suffix = _SCALES["rate"], " " + unit
    elif unit.startswith("count/"):
        family, suffix = tuple((f, n.format(unit[6:])) for f, n in _SCALES["per_op"]), ""
    else:
        return 1.0, unit
    for factor, name in family:
        if vmax >= factor or factor == family[-1][0]:
            return factor, (name + suffix).strip()
    return 1.0, unit


class ScaledLocator(Locator):
    """Nice tick values in the scaled unit, mapped back to the data's unit."""

    def __init__(self, inner: Locator, factor: float) -> None:
        self.inner, self.factor = inner, factor

    def __call__(self):
        vmin, vmax = self.axis.get_view_interval()
        return self.tick_values(vmin, vmax)

    def tick_values(self, vmin, vmax):
        return np.asarray(self.inner.tick_values(vmin / self.factor, vmax / self.factor)) * self.factor


def value_axis(ax, unit: str, values: np.ndarray, axis: str = "x", name: str = "") -> None:
    """Scale, ticks and label of a value axis: log when the values span orders of magnitude."""
    values = np.asarray(values, dtype=float)
    positive = values[values > 0]
    log = len(positive) > 0 and positive.max() / positive.min() > LOG_SPAN
    factor, unit_name = axis_scale(unit, float(np.nanmax(np.abs(values))) if len(values) else 0.0)
    target = ax.xaxis if axis == "x" else ax.yaxis
    setattr(target, THIN, True)
    if log or (axis == "x" and ax.get_xscale() == "log") or (axis == "y" and ax.get_yscale() == "log"):
        # Decades apart: each tick carries its own unit prefix (100 us, 1 ms, 10 ms).
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        decades = math.log10(positive.max() / positive.min()) if len(positive) else 0.0
        if unit == "B" or unit.startswith("B/"):
            target.set_major_locator(LogLocator(base=2, numticks=6))  # 64 B, 1 KiB, 16 KiB, ...
        else:
            subs = (1.0, 2.0, 5.0) if decades < 2 else (1.0,)
            target.set_major_locator(LogLocator(base=10, subs=subs, numticks=6))
        target.set_minor_formatter(NullFormatter())
        target.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_value(v, unit)))
        unit_name = "log scale"  # each tick carries its unit
    else:
        target.set_major_locator(ScaledLocator(MaxNLocator(nbins=4), factor))
        target.set_major_formatter(FuncFormatter(lambda v, _pos: plain(v / factor)))  # never e-notation
    if name:
        linear = "" if unit_name == "log scale" else "linear"
        text = ", ".join(x for x in (unit_name, linear) if x)
        (ax.set_xlabel if axis == "x" else ax.set_ylabel)(f"{name} ({text})" if text else name)


def room_for_labels(ax, top: float, texts, panel_in: float) -> None:
    """Widen a bar panel's value axis so the longest value label after the largest bar stays inside it."""
    if top <= 0:
        return
    longest = max((len(t) for t in texts), default=0)
    frac = min(0.65, (0.058 * longest + 0.15) / panel_in)  # 7.5 pt labels: about 0.058 in a character
    if ax.get_xscale() == "log":
        low = ax.get_xlim()[0]
        span = math.log10(top) - math.log10(low) if low > 0 else 1.0
        ax.set_xlim(right=10 ** (math.log10(top) + span * frac / (1 - frac)))
    else:
        ax.set_xlim(right=top / (1 - frac))
