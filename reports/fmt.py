"""Numbers as a reader wants them: by unit, three significant digits, SI prefixes."""

from __future__ import annotations

import math

from harness.vocab import fmt_bytes, fmt_rate, fmt_seconds

# A unit's scale family: how to print a value of that unit.
_SECONDS = ("s",)
_RATES = ("ops/s", "req/s", "qps", "1/s")


def fmt_value(value: float, unit: str) -> str:
    """Format one value of `unit` (the unit column of results.csv, or a claim's unit): microseconds as µs, and
    never in e-notation."""
    return _micro(_fmt_value(value, unit))


def _micro(text: str) -> str:
    return text.replace(" us", " µs")


def _fmt_value(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit in _SECONDS:
        return fmt_seconds(value)
    if unit.startswith("s/"):
        return f"{fmt_seconds(value)}/{unit[2:]}"
    if unit == "ns":
        return fmt_seconds(value * 1e-9)
    if unit == "B":
        return fmt_bytes(value)
    if unit.startswith("B/"):
        return f"{fmt_bytes(value)}/{unit[2:]}"
    if unit in _RATES:
        text = fmt_rate(value)  # "4.06M/s"
        return text if unit in ("ops/s", "1/s") else f"{text[:-2]} {unit}"
    if unit.startswith("count/"):
        return f"{plain(value)}/{unit[6:]}"
    if unit == "ratio":
        return f"{value:.3g}×"
    if unit == "%":
        return f"{value:.3g}%"
    if unit in ("count", ""):
        return f"{value:,.0f}" if float(value).is_integer() and abs(value) < 1e12 else plain(value)
    return f"{plain(value)} {unit}"


def plain(value: float) -> str:
    """Three significant digits without e-notation: 7.86e-05 -> 0.0000786, 1.2e+07 -> 12,000,000."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    text = f"{round(value, digits):,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_interval(q1: float, q3: float, unit: str) -> str:
    return f"{fmt_value(q1, unit)} – {fmt_value(q3, unit)}"


def fmt_change(ratio: float) -> str:
    """B/A - 1 as a signed percentage (or a factor when large)."""
    if not math.isfinite(ratio):
        return "—"
    change = ratio - 1
    if abs(change) >= 1:
        return f"{ratio:.2f}×"
    return f"{change * 100:+.1f}%"


def fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
