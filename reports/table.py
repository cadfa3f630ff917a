"""A table as the site shows it, and its exports: Markdown (the text shown) and CSV (raw numbers).

Cells carry plain text (what Markdown and the terminal print) plus optional presentation hints
for HTML (a CSS class, a tooltip, a second line), so one table object serves every output.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from harness.vocab import render_table
from reports.quality import legend as quality_legend


@dataclass(frozen=True)
class Cell:
    text: str
    cls: str = ""  # CSS classes: "best", "unstable", "status-failed", "num", ...
    title: str = ""  # tooltip: the full figures behind the text
    sub: str = ""  # a second, smaller line (the interval)
    href: str = ""  # a link on the text (site-relative)
    marks: tuple = ()  # quality marks (reports/quality.py Mark): badges in HTML, their text elsewhere

    def __str__(self) -> str:
        badges = " · ".join(m.text for m in self.marks)
        return self.text + (f" [{self.sub}]" if self.sub else "") + (f" ({badges})" if badges else "")


def cell(value: object, **kw: str) -> Cell:
    return value if isinstance(value, Cell) else Cell("" if value is None else str(value), **kw)


@dataclass(frozen=True, eq=False)
class Table:
    """A titled table. `slug` names its exports: tables/<slug>.csv and tables/<slug>.md."""

    slug: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    raw: pd.DataFrame | None = None  # the numbers behind the table, for CSV; the text when None
    notes: tuple[str, ...] = ()
    row_classes: tuple[str, ...] = field(default=())

    @classmethod
    def build(cls, slug: str, title: str, columns: Sequence[str], rows: Sequence[Sequence[object]],
              raw: pd.DataFrame | None = None, notes: Sequence[str] = (),
              row_classes: Sequence[str] = ()) -> Table:
        cells = tuple(tuple(cell(v) for v in r) for r in rows)
        for r in cells:
            if len(r) != len(columns):
                raise ValueError(f"table {slug}: a row has {len(r)} cells for {len(columns)} columns")
        return cls(slug, title, tuple(columns), cells, raw, tuple(notes),
                   tuple(row_classes) if row_classes else tuple("" for _ in cells))

    @property
    def legend(self) -> list[dict[str, str]]:
        """The quality marks its cells carry, explained (reports/quality.py): shown under the table."""
        codes = {m.code for r in self.rows for c in r for m in c.marks}
        return quality_legend(codes) if codes else []

    def to_markdown(self) -> str:
        def esc(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")
        lines = [f"## {self.title}", "", "| " + " | ".join(esc(c) for c in self.columns) + " |",
                 "|" + "|".join("---" for _ in self.columns) + "|"]
        lines += ["| " + " | ".join(esc(str(c)) for c in r) + " |" for r in self.rows]
        if self.notes:
            lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        if self.raw is not None:
            return self.raw.to_csv(index=False, lineterminator="\n")
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns)
        w.writerows([str(c) for c in r] for r in self.rows)
        return buf.getvalue()

    def to_text(self) -> str:
        """A plain-text rendering for the terminal (the harness's table layout)."""
        return render_table(list(self.columns), [[str(c) for c in r] for r in self.rows])
