"""Whether a drawn figure's text can be read: no two texts overlap, none is cut by the figure's edge, no number
is in e-notation and microseconds are µs.

Matplotlib lays text out but never reports collisions (its constrained layout only makes room
for titles and labels, not for tick labels that run into each other or annotations that cross a
neighbouring panel), and no maintained library checks a rendered figure's text, so this module
asks the renderer for each drawn text's extent after the figure is saved and compares them.

Every figure the site writes goes through `check` (reports/plots.py `_save`); what it finds is
kept in `PROBLEMS` (one line per problem, naming the file and both texts), which tests read:
a site whose figures have any problem fails them.
"""

from __future__ import annotations

import re

from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter

PROBLEMS: list[str] = []
THIN = "_cmbench_value_axis"  # set on an axis of values (reports/plots.py): its labels may be thinned
SLACK = 1.0  # pixels two extents may share (anti-aliased edges touch) before they count as overlapping
E_NOTATION = re.compile(r"\d[eE][+-]?\d")
MICRO_AS_U = re.compile(r"\d ?us\b")


def _texts(fig: Figure) -> list[Text]:
    """Every text the renderer drew: titles, axis and tick labels within the view, annotations, legends."""
    out: list[Text] = [*fig.texts, *(t for leg in fig.legends for t in leg.get_texts())]
    if getattr(fig, "_suptitle", None) is not None and fig._suptitle not in out:
        out.append(fig._suptitle)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        out += [ax.title, ax._left_title, ax._right_title, *ax.texts]
        if ax.axison:
            out += [ax.xaxis.label, ax.yaxis.label]
            for axis in (ax.xaxis, ax.yaxis):
                for tick in axis._update_ticks():  # the ticks a draw shows (inside the view interval)
                    out += [t for t in (tick.label1, tick.label2) if t.get_visible()]
        legend = ax.get_legend()
        if legend is not None:
            out += list(legend.get_texts())
    return list({id(t): t for t in out if t.get_visible() and t.get_text().strip()}.values())


def problems(fig: Figure, name: str) -> list[str]:
    """Overlapping texts and texts cut by the figure's edge, of a figure that has been drawn."""
    renderer = fig.canvas.get_renderer()
    width, height = fig.canvas.get_width_height()
    boxes = []
    for t in _texts(fig):
        box = t.get_window_extent(renderer)
        if box.width <= 0 or box.height <= 0:
            continue
        boxes.append((t.get_text().replace("\n", " "), box))
    found = []
    for text, box in boxes:
        if E_NOTATION.search(text) or MICRO_AS_U.search(text):
            found.append(f"{name}: '{text}' is not plain: write 0.0000786 and µs, not 7.86e-05 and us")
        if box.x0 < -SLACK or box.y0 < -SLACK or box.x1 > width + SLACK or box.y1 > height + SLACK:
            found.append(f"{name}: '{text}' is cut by the figure's edge")
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            dx = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            dy = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            if dx > SLACK and dy > SLACK:
                found.append(f"{name}: '{a}' overlaps '{b}'")
    return found


def check_text(fig: Figure, name: str) -> list[str]:
    """problems(), also kept in PROBLEMS."""
    found = problems(fig, name)
    PROBLEMS.extend(found)
    return found


def _overlap(a, b) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > SLACK) and (min(a.y1, b.y1) - max(a.y0, b.y0) > SLACK)


def thin_tick_labels(fig: Figure) -> None:
    """Hide value labels until neighbours no longer run into each other (every 2nd, then every 3rd, ...).

    Called before saving: a log axis over several decades, or a narrow panel, otherwise prints
    "100 ms200 ms500 ms". The ticks themselves (and the grid) stay.
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        for axis in (ax.xaxis, ax.yaxis):
            if not getattr(axis, THIN, False):
                continue  # names (implementations, cases): each is needed, the layout must make room
            labels = [t.label1 for t in axis._update_ticks() if t.label1.get_visible() and t.label1.get_text()]
            boxes = [t.get_window_extent(renderer) for t in labels]
            step = 1
            while step < len(labels):
                kept = list(range(0, len(labels), step))
                if not any(_overlap(boxes[a], boxes[b]) for a, b in zip(kept, kept[1:])):
                    break
                step += 1
            if step > 1:
                # tick labels are rebuilt at draw time from the formatter: label only the kept values
                shown = {_key(t.get_position()[0 if axis is ax.xaxis else 1]) for t in labels[::step]}
                axis.set_major_formatter(_only(axis.get_major_formatter(), shown))


def _key(value: float) -> str:
    return f"{float(value):.6g}"


def _only(inner, shown: set[str]) -> FuncFormatter:
    """A tick formatter that labels only the tick values in `shown` (the others get no label)."""
    return FuncFormatter(lambda value, pos: inner(value, pos) if _key(value) in shown else "")
