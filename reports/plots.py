"""The site's figures, drawn with seaborn on matplotlib's object API (Agg canvas, no pyplot state).

Every figure is a PNG written atomically under the site's plots/ folder; the functions return
the file name, or None when the data has nothing to draw. Colours are fixed per implementation
across all figures (`palette`).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from harness.measure.stats import Summary
from reports.axes import room_for_labels, value_axis
from reports.fmt import fmt_value, plain
from reports.metric_names import label, latency_percentile
from reports.plotcheck import check_text, thin_tick_labels
from reports.samples import summarize_rows

matplotlib.use("Agg")  # headless: figures are only ever written to files (pyplot is never used)

DPI = 130
RC = {
    "font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8.5,
    "legend.fontsize": 8, "axes.titleweight": "bold", "figure.dpi": DPI,
}
PAGE_WIDTH = 10.3  # inches: at DPI, the site's content column at 1400 px (reports/templates/style.css)
BOUND_HATCH = "////"  # bars of load-generator bound figures (lower bounds)
BOUND_METRICS = ("qps",)  # the figures a load-generator bound case flags
# Figures net of the start-up baseline (per task, connection or operation): one below zero is within the
# baseline's noise, drawn at zero and labelled so.
NET_METRICS = ("memory_per_task", "memory_per_connection", "cpu_time_per_op", "ctx_switches_voluntary_per_op",
               "ctx_switches_involuntary_per_op")


class Weighted:
    """seaborn's estimator and error bar over `frame`'s samples: the median and the quartiles with every process
    weighing 1, as the tables compute them (harness/measure/stats.py `summarize`). seaborn hands each group's
    values with the frame's index, which finds each value's process; `frame` is indexed afresh for that."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame.reset_index(drop=True)

    def summary(self, values: pd.Series) -> Summary:
        return summarize_rows(self.frame.loc[values.index])

    def median(self, values: pd.Series) -> float:
        return self.summary(values).median

    def quartiles(self, values: pd.Series) -> tuple[float, float]:
        s = self.summary(values)
        return s.q1, s.q3


def palette(implementations: Sequence[str]) -> dict[str, tuple]:
    names = list(dict.fromkeys(implementations))
    colors = sns.color_palette("tab10" if len(names) <= 10 else "tab20", len(names))
    return dict(zip(names, colors))


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        thin_tick_labels(fig)
        fig.savefig(tmp, format="png", dpi=DPI, facecolor="white")
        check_text(fig, path.name)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path.name


def _mark_bound(ax, order: Sequence[str], bound: set[str]) -> bool:
    """Hatch the bars of load-generator bound implementations (lower bounds); True when any was."""
    marked = False
    for patch in ax.patches:
        row = int(round(patch.get_y() + patch.get_height() / 2))
        if 0 <= row < len(order) and order[row] in bound:
            patch.set_hatch(BOUND_HATCH)
            patch.set_edgecolor("#333333")
            patch.set_alpha(0.55)
            marked = True
    return marked


def bar_grid(samples: pd.DataFrame, metrics: Sequence[str], cases: Sequence[str], short: dict[str, str],
             colors: dict[str, tuple], path: Path, title: str,
             bound: set[tuple[str, str]] | None = None, marks: dict[tuple[str, str], str] | None = None) -> str | None:
    """Bars at the median per implementation, whiskers over the IQR, one panel per case and metric.

    When every case has every metric the panels form a matrix (rows: cases, columns: metrics);
    otherwise they flow, up to three per row. `bound` holds the (case, implementation) pairs
    whose figure is a lower bound (load-generator bound): their bars are hatched and labelled ≥.
    `marks` ((case, implementation) -> the case's quality marks, short: reports/quality.py SHORT) are
    written after a bar's value, with "n=1" where the bar is one sample.
    """
    marks = marks or {}
    bound = bound or set()
    any_bound = False
    data = samples[samples["metric"].isin(metrics) & samples["case"].isin(cases)]
    present = {c: [m for m in metrics if not data[(data["case"] == c) & (data["metric"] == m)].empty] for c in cases}
    panels = [(c, m) for c in cases for m in present[c]]
    if not panels:
        return None
    used = [c for c in cases if present[c]]
    matrix = len({tuple(present[c]) for c in used}) == 1
    ncols = len(present[used[0]]) if matrix else min(3, max(len(v) for v in present.values()))
    nrows = math.ceil(len(panels) / ncols)
    impls = {c: [i for i in colors if i in set(data.loc[data["case"] == c, "implementation"])] for c in used}
    titles, common = {}, {}
    for case, metric in panels:
        text = label(metric) + (f" — {short[case]}" if len(used) > 1 else "")
        text = f"{label(metric)}\n{short[case]}" if len(text) > 34 else text
        # the quality marks every bar of the panel shares are said once, under its title
        d = data[(data["case"] == case) & (data["metric"] == metric)]
        sizes = d.groupby("implementation").size()
        each = [[f for f in marks.get((case, i), "").split() if f not in ("≥", "n=1")]
                + (["n=1"] if sizes[i] == 1 else []) for i in sizes.index]
        common[(case, metric)] = [f for f in (each[0] if each else []) if all(f in e for e in each)]
        shared = " ".join(common[(case, metric)])
        titles[(case, metric)] = text + (f"\n[every bar: {shared}]" if shared else "")
    # A fixed layout in inches (much cheaper to draw than a layout engine): tick labels of the longest
    # implementation name on the left of every panel that shows them, a title above, ticks and a label below.
    label_in = 0.064 * max(len(i) for c in used for i in impls[c]) + 0.2
    right_in, top_in = 0.55, 0.45
    while True:  # the page's width, in as many columns as leave each panel room for its figures
        gap_in = 0.35 if matrix else label_in + 0.35
        panel_in = (PAGE_WIDTH - label_in - right_in - (ncols - 1) * gap_in) / ncols
        if panel_in >= 2.6 or ncols == 1:
            break
        ncols, matrix = ncols - 1, False
    nrows = math.ceil(len(panels) / ncols)
    rows_of = [panels[r * ncols:(r + 1) * ncols] for r in range(nrows)]
    axes_in = [0.3 * max(len(impls[c]) for c, _ in row) + 0.15 for row in rows_of]
    title_in = [0.14 + 0.15 * max(titles[p].count("\n") + 1 for p in row) for row in rows_of]
    below_in = [0.55 for _ in range(nrows)]  # ticks and the axis' name and unit under every panel
    legend_in = 0.3 if any(c in cases for c, _ in bound) and set(metrics) & set(BOUND_METRICS) else 0.0
    width = label_in + ncols * panel_in + (ncols - 1) * gap_in + right_in
    height = top_in + sum(axes_in) + sum(title_in) + sum(below_in) + legend_in
    with sns.axes_style("whitegrid"), matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), dpi=DPI)
        FigureCanvasAgg(fig)
        axes = [[None] * ncols for _ in range(nrows)]
        y = top_in
        for r in range(nrows):
            y += title_in[r]
            for j in range(len(rows_of[r])):
                x = label_in + j * (panel_in + gap_in)
                axes[r][j] = fig.add_axes((x / width, 1 - (y + axes_in[r]) / height, panel_in / width,
                                           axes_in[r] / height))
            y += axes_in[r] + below_in[r]
        for k, (case, metric) in enumerate(panels):
            i, j = divmod(k, ncols)
            ax = axes[i][j]
            order = impls[case]
            d = data[(data["case"] == case) & (data["metric"] == metric)]
            unit = d["unit"].iloc[0]
            if metric in NET_METRICS:  # net of the start-up baseline: below it is noise, not a negative cost
                d = d.assign(value=d["value"].clip(lower=0))
            weighted = Weighted(d)
            sns.barplot(data=weighted.frame, x="value", y="implementation", hue="implementation", order=order,
                        hue_order=order, palette=colors, estimator=weighted.median, errorbar=weighted.quartiles,
                        orient="h", ax=ax, legend=False, capsize=0.25, err_kws={"linewidth": 1.1})
            value_axis(ax, unit, d["value"].to_numpy(), name=label(metric))
            grouped = weighted.frame.groupby("implementation")["value"]
            summaries = {impl: weighted.summary(g) for impl, g in grouped}
            medians = {impl: s.median for impl, s in summaries.items()}
            q3 = pd.Series({impl: s.q3 for impl, s in summaries.items()}, dtype=float)
            counts = {impl: s.n for impl, s in summaries.items()}
            here = {impl for c, impl in bound if c == case} if metric in BOUND_METRICS else set()
            any_bound |= _mark_bound(ax, order, here)
            texts = {}
            for impl in order:
                if impl in medians:
                    text = ("≥ " if impl in here else "") + fmt_value(medians[impl], unit)
                    if metric in NET_METRICS and medians[impl] <= 0:
                        text = "≈ 0 (< start-up baseline)"
                    texts[impl] = text
            for impl in texts:  # marks every bar shares are in the panel's title, once
                mine = [f for f in marks.get((case, impl), "").split() if f not in ("≥", "n=1")]
                rest = [f for f in mine + (["n=1"] if counts[impl] == 1 else []) if f not in common[(case, metric)]]
                texts[impl] += f"  [{' '.join(rest)}]" if rest else ""
            room_for_labels(ax, float(q3.max()) if len(q3) else 0.0, texts.values(), panel_in)
            for y, impl in enumerate(order):
                if impl in texts:
                    at = q3[impl] if q3[impl] > 0 or ax.get_xscale() != "log" else None
                    ax.annotate(texts[impl], (at, y) if at is not None else (0, y), xytext=(4, 0),
                                xycoords="data" if at is not None else ("axes fraction", "data"),
                                textcoords="offset points", va="center", ha="left", fontsize=7.5, color="#333333")
            ax.set_ylabel("")
            if matrix and j:
                ax.set_yticklabels([])
            ax.set_title(titles[(case, metric)], loc="left")
        fig.suptitle(title, x=0.1 / width, y=1 - 0.12 / height, ha="left", va="top", fontsize=10.5,
                     fontweight="bold")
        if any_bound:
            fig.legend(handles=[Patch(facecolor="white", edgecolor="#333333", hatch=BOUND_HATCH,
                                      label="≥: load-generator bound (a lower bound)")],
                       loc="lower left", bbox_to_anchor=(0.1 / width, 0.02 / height), frameon=False)
        return _save(fig, path)


def latency_curves(summaries: pd.DataFrame, cases: Sequence[str], short: dict[str, str],
                   colors: dict[str, tuple], path: Path, title: str) -> str | None:
    """Latency by percentile (x on a 'nines' scale: p50, p90, p99, p99.9, max), one line per implementation."""
    # astype(bool): an empty frame's mask has dtype object, which pandas would read as column names
    lat = summaries[summaries["metric"].map(lambda m: latency_percentile(m) is not None).astype(bool)]
    lat = lat[lat["case"].isin(cases)]
    if lat.empty:
        return None
    cases = [c for c in cases if c in set(lat["case"])]
    finite = sorted({p for p in map(latency_percentile, lat["metric"]) if p < 100})
    top = -math.log10(1 - finite[-1] / 100) if finite else 0.0

    def nines(p: float) -> float:
        return top + 1 if p >= 100 else -math.log10(1 - p / 100)
    ncols = min(len(cases), 3)
    nrows = math.ceil(len(cases) / ncols)
    with sns.axes_style("whitegrid"), matplotlib.rc_context(RC):
        fig = _figure(PAGE_WIDTH, 2.9 * nrows + 0.5)
        grid = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
        axes = list(grid.flat)
        for ax in axes[len(cases):]:
            ax.set_axis_off()
        for ax, case in zip(axes, cases):
            d = lat[lat["case"] == case].copy()
            d["x"] = d["metric"].map(lambda m: nines(latency_percentile(m)))
            for impl in [i for i in colors if i in set(d["implementation"])]:
                s = d[d["implementation"] == impl].sort_values("x")
                med, q1, q3 = (s[c].to_numpy(dtype=float) for c in ("median", "q1", "q3"))
                ax.errorbar(s["x"].to_numpy(dtype=float), med, yerr=np.vstack([med - q1, q3 - med]),
                            marker="o", markersize=4, linewidth=1.6, capsize=2, color=colors[impl], label=impl)
            ticks = sorted(set(d["x"]))
            names = {nines(latency_percentile(m)): m for m in d["metric"]}
            ax.set_xticks(ticks, [("max" if names[t] == "latency_max"
                                   else f"p{latency_percentile(names[t]):g}") for t in ticks])
            ax.set_title(short[case] if len(cases) > 1 else case, loc="left")
            ax.set_xlabel("percentile")
        # The panels share one y axis (and so one locator and formatter): set it up once, from every value.
        spread = lat[["q1", "q3", "median"]].to_numpy(dtype=float).ravel()
        if lat["median"].min() > 0:
            axes[0].set_yscale("log")
        value_axis(axes[0], lat["unit"].iloc[0], spread, axis="y", name="latency")
        for row in grid:
            for ax in row[1:]:
                ax.set_ylabel("")
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside right upper", frameon=False)
        fig.suptitle(title, x=0.01, ha="left", fontsize=10.5, fontweight="bold")
        return _save(fig, path)


def scaling(samples: pd.DataFrame, metric: str, param: str, cases: dict[str, float], colors: dict[str, tuple],
            path: Path, title: str, bound: set[tuple[str, str]] | None = None) -> str | None:
    """`metric` against a numeric parameter (`cases`: case label -> the parameter's value).

    Points of `bound` (case, implementation) pairs, lower bounds, get a hollow ring of their own.
    """
    d = samples[(samples["metric"] == metric) & samples["case"].isin(cases)].copy()
    if d.empty or len(set(d["case"])) < 2:
        return None
    d[param] = d["case"].map(cases)
    order = sorted(set(d[param]))
    hue_order = [i for i in colors if i in set(d["implementation"])]
    with sns.axes_style("whitegrid"), matplotlib.rc_context(RC):
        fig = _figure(PAGE_WIDTH, 3.6)
        ax = fig.subplots()
        weighted = Weighted(d)
        sns.pointplot(data=weighted.frame, x=param, y="value", hue="implementation", order=order,
                      hue_order=hue_order, palette=colors, estimator=weighted.median, errorbar=weighted.quartiles,
                      dodge=0.12 if len(hue_order) > 1 else False, ax=ax,
                      markersize=4, linewidth=1.5, capsize=0.08, err_kws={"linewidth": 1})
        ax.set_xticks(range(len(order)), [plain(v) for v in order])
        value_axis(ax, d["unit"].iloc[0], d["value"].to_numpy(), axis="y", name=label(metric))
        ax.set_xlabel(param)
        marks = [(order.index(cases[c]), hue_order.index(i), d[(d["case"] == c) & (d["implementation"] == i)])
                 for c, i in sorted(bound or ()) if c in cases and i in hue_order and metric in BOUND_METRICS]
        marks = [(x, h, summarize_rows(g).median) for x, h, g in marks if len(g)]
        if marks:
            width = 0.12 if len(hue_order) > 1 else 0.0  # pointplot's dodge: levels spread evenly over it
            offsets = np.linspace(-width / 2, width / 2, len(hue_order)) if width else np.zeros(len(hue_order))
            ax.scatter([x + offsets[h] for x, h, _ in marks], [v for _, _, v in marks], s=110, facecolors="none",
                       edgecolors="#333333", linewidths=1.2, zorder=5, label="≥: load-generator bound")
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1), frameon=False, title=None)
        ax.set_title(title, loc="left")
        return _save(fig, path)


def overview_heatmap(fractions: pd.DataFrame, path: Path, marks: pd.DataFrame | None = None,
                     quality: pd.DataFrame | None = None) -> str | None:
    """Fraction of the row's top figure (1 = the top) for every workload case and implementation.

    `marks` (the overview's, same shape) says which cells are the best, tied with the top (≈ best)
    or modes; a cell is called best only where it says so (reports/ranking.py). `quality` (same
    shape) holds each figure's quality marks in their short form (reports/quality.py SHORT): such a
    tile is hatched and names them under its number."""
    if fractions.empty:
        return None
    marks = marks.reindex(index=fractions.index, columns=fractions.columns).fillna("") if marks is not None else None
    quality = (quality.reindex(index=fractions.index, columns=fractions.columns).fillna("") if quality is not None
               else pd.DataFrame("", index=fractions.index, columns=fractions.columns))
    annot = fractions.map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    if marks is not None:
        annot = annot.mask(marks != "", marks)
    annot = pd.DataFrame([[f"{a}\n{q}".strip() for a, q in zip(ra, rq)]  # the value (if any), then the marks
                          for ra, rq in zip(annot.to_numpy(), quality.to_numpy())],
                         index=fractions.index, columns=fractions.columns)
    with sns.axes_style("white"), matplotlib.rc_context(RC):
        longest_row = max(len(str(i)) for i in fractions.index)
        # Width: the page's content column (a wider figure is scaled down, and its text with it).
        width = PAGE_WIDTH
        cell_h = 0.46 if (quality != "").any().any() else 0.34
        fig = _figure(width, cell_h * len(fractions) + 1.8)
        ax = fig.subplots()
        size = min(9.0, max(6.5, 70 / max(1, len(fractions.columns))))
        sns.heatmap(fractions.astype(float), annot=annot, fmt="", cmap="YlGnBu", vmin=0, vmax=1, ax=ax,
                    linewidths=0.6, linecolor="white", cbar_kws={"label": "fraction of the row's top figure (1 = top)",
                                                                 "shrink": 0.8},
                    annot_kws={"fontsize": size})
        for i, j in zip(*np.nonzero((quality != "").to_numpy())):
            ax.add_patch(Rectangle((j, i), 1, 1, fill=False, hatch=BOUND_HATCH, edgecolor="#8a5a00", linewidth=0,
                                   alpha=0.35))
        # a tile without a fraction (modes, a lower bound, n = 1: no ratio) is left blank by seaborn: name it
        for i, j in zip(*np.nonzero(fractions.isna().to_numpy() & (annot != "").to_numpy())):
            ax.text(j + 0.5, i + 0.5, annot.iat[i, j], ha="center", va="center", fontsize=size, color="#555555")
        names = [str(c).replace(":", ":\n") for c in fractions.columns]  # a variant on a line of its own
        ax.set_xticks(ax.get_xticks(), names, rotation=90, ha="center", fontsize=9)
        ax.set_yticks(ax.get_yticks(), ax.get_yticklabels(), fontsize=9 if longest_row < 40 else 8)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_title("key metric / the top figure of its row; hatched: a quality mark (named in the tile)", loc="left",
                     fontsize=9)
        return _save(fig, path)


REGRESSION_COLOR, IMPROVEMENT_COLOR, ENVIRONMENT_COLOR = "#c0392b", "#1e8449", "#7f8c8d"


def _environment_starts(frame: pd.DataFrame) -> list[float]:
    """Run indices where a new environment fingerprint starts (none when the frame has one or no fingerprint)."""
    if "fingerprint" not in frame or frame["fingerprint"].nunique() < 2:
        return []
    firsts = frame.sort_values("run_index").drop_duplicates("fingerprint")["run_index"].tolist()
    return [float(x) - 0.5 for x in firsts[1:]]


def _mark_environments(ax, starts: Sequence[float]) -> None:
    for x in starts:
        ax.axvline(x, color=ENVIRONMENT_COLOR, linestyle=":", linewidth=1.2, label="new environment")


def history_grid(frame: pd.DataFrame, metrics: Sequence[str], colors: dict[str, tuple], path: Path,
                 title: str, marks: pd.DataFrame | None = None) -> str | None:
    """Median per run (IQR whiskers), one panel per case and metric measured, one line per implementation.

    `marks`: change points (case, implementation, metric, run_index, kind, after), drawn as a ring at
    the first run after the change, red for a regression, green for an improvement; a dotted grey
    line marks where a new environment fingerprint starts.
    """
    if frame.empty:
        return None
    cases = list(dict.fromkeys(frame["case"]))
    by_panel = frame.groupby(["case", "metric"], sort=False).indices
    panels = [(c, m) for c in cases for m in metrics if (c, m) in by_panel]
    ncols = min(len(metrics), len(panels), 2)
    nrows = math.ceil(len(panels) / ncols)
    runs = frame.drop_duplicates("run_index").sort_values("run_index")
    ticks, names = runs["run_index"].tolist(), runs["run_label"].tolist()
    many = len(ticks) > 60  # a year of nightlies: lines without whiskers, or the panel is a blur
    # A fixed layout in inches (a layout engine costs more than the drawing on a grid of dozens of
    # panels): y tick labels left of each panel, a title above, rotated run labels below, legend right.
    # Every panel labels its runs (rotated labels reach left, under the next panel: room below each row).
    left_in, gap_in, legend_in = 0.85, 0.95, 2.3
    panel_w = (PAGE_WIDTH - left_in - legend_in - (ncols - 1) * gap_in) / ncols  # the page's width
    top_in, title_in, panel_h, below_in, labels_in = 0.45, 0.45, 2.3, 0.75, 0.1
    width = left_in + ncols * panel_w + (ncols - 1) * gap_in + legend_in
    height = top_in + nrows * (title_in + panel_h + below_in) + labels_in
    labelled = [True for _ in panels]
    with sns.axes_style("whitegrid"), matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), dpi=DPI)
        FigureCanvasAgg(fig)
        axes = []
        for k in range(len(panels)):
            r, c = divmod(k, ncols)
            x = left_in + c * (panel_w + gap_in)
            y = top_in + r * (title_in + panel_h + below_in) + title_in  # labels above an empty slot hang into it
            axes.append(fig.add_axes((x / width, 1 - (y + panel_h) / height, panel_w / width, panel_h / height)))
        lo, hi = min(ticks) - 0.5, max(ticks) + 0.5
        for k, (ax, (case, metric)) in enumerate(zip(axes, panels)):
            d = frame.iloc[by_panel[(case, metric)]]
            for impl in [x for x in colors if x in set(d["implementation"])]:
                s = d[d["implementation"] == impl].sort_values("run_index")
                x = s["run_index"].to_numpy(dtype=float)
                med, q1, q3 = (s[c].to_numpy(dtype=float) for c in ("median", "q1", "q3"))
                if many:
                    ax.plot(x, med, linewidth=1.0, color=colors[impl], label=impl)
                    ax.fill_between(x, q1, q3, color=colors[impl], alpha=0.15, linewidth=0)
                else:
                    ax.errorbar(x, med, yerr=np.vstack([med - q1, q3 - med]), marker="o", markersize=3.5,
                                linewidth=1.4, capsize=2, color=colors[impl], label=impl)
            _mark_environments(ax, _environment_starts(d))
            if marks is not None and len(marks):
                m = marks[(marks["case"] == case) & (marks["metric"] == metric)]
                for kind, color in (("regression", REGRESSION_COLOR), ("improvement", IMPROVEMENT_COLOR)):
                    hit = m[m["kind"] == kind]
                    if len(hit):
                        ax.scatter(hit["run_index"].to_numpy(dtype=float), hit["after"].to_numpy(dtype=float), s=70,
                                   facecolors="none", edgecolors=color, linewidths=1.8, zorder=5,
                                   label=f"change point: {kind}")
            step = max(1, math.ceil(len(ticks) / 8))  # at most eight run labels on the axis
            ax.set_xlim(lo, hi)
            ax.set_xticks(ticks[::step], names[::step] if labelled[k] else [], rotation=30, ha="right")
            value_axis(ax, d["unit"].iloc[0], pd.concat([d["q1"], d["q3"]]).to_numpy(), axis="y",
                        name=label(metric))
            ax.set_title(f"{label(metric)}\n{d['case_label'].iloc[0]}", loc="left")
        handles, labels = [], []
        for ax in axes:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        fig.legend(handles, labels, loc="upper left", frameon=False,
                   bbox_to_anchor=(1 - (legend_in - 0.15) / width, 1 - top_in / height))
        fig.suptitle(title, x=0.1 / width, y=1 - 0.12 / height, ha="left", va="top", fontsize=10.5,
                     fontweight="bold")
        return _save(fig, path)


def change_series(series: pd.DataFrame, index: int, before: tuple[int, float], after: tuple[int, float],
                  kind: str, unit: str, metric: str, color: tuple, path: Path, title: str) -> str | None:
    """One series around a change: per-run medians with the IQR band, the change point as a vertical line,
    and the medians before and after it as horizontal segments over the runs they summarise.

    `series`: the series' rows (every environment of it, oldest first, with run_label); `index`:
    position of the first run after the change; `before`/`after`: (runs, median) of the segments.
    """
    if series.empty:
        return None
    s = series.reset_index(drop=True)
    x = np.arange(len(s), dtype=float)
    med, q1, q3 = (s[c].to_numpy(dtype=float) for c in ("median", "q1", "q3"))
    change_color = REGRESSION_COLOR if kind == "regression" else IMPROVEMENT_COLOR
    with sns.axes_style("whitegrid"), matplotlib.rc_context(RC):
        fig = Figure(figsize=(PAGE_WIDTH, 3.0), dpi=DPI)  # fixed layout: axes left, legend right
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.85 / PAGE_WIDTH, 0.75 / 3.0, (PAGE_WIDTH - 3.4) / PAGE_WIDTH, 1.9 / 3.0))
        ax.fill_between(x, q1, q3, color=color, alpha=0.18, linewidth=0, label="interquartile range")
        ax.plot(x, med, marker="o", markersize=2.8, linewidth=1.1, color=color, label="median per run")
        ax.axvline(index - 0.5, color=change_color, linewidth=1.5, label=f"change point ({kind})")
        (nb, mb), (na, ma) = before, after
        ax.hlines(mb, index - nb - 0.4, index - 0.6, colors="#333333", linewidth=2.0, linestyles="--",
                  label="median before / after")
        ax.hlines(ma, index - 0.4, index + na - 0.6, colors="#333333", linewidth=2.0, linestyles="--")
        starts = [float(i) - 0.5 for i in range(1, len(s)) if s["fingerprint"].iloc[i] != s["fingerprint"].iloc[i - 1]]
        _mark_environments(ax, starts)
        step = max(1, math.ceil(len(s) / 10))
        ax.set_xticks(x[::step], s["run_label"].tolist()[::step], rotation=30, ha="right")
        value_axis(ax, unit, np.concatenate([q1, q3]), axis="y", name=label(metric))
        handles, names = ax.get_legend_handles_labels()
        keep = dict(zip(names, handles))
        fig.legend(keep.values(), keep.keys(), loc="upper left", frameon=False,
                   bbox_to_anchor=((PAGE_WIDTH - 2.3) / PAGE_WIDTH, 1 - 0.35 / 3.0))
        ax.set_title(title, loc="left")
        return _save(fig, path)
