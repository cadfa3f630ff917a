"""The claims page and claims.json: the ledger's verdicts as tables, cards and a versioned file."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from harness.store.run import write_atomic
from reports.claims import (
    CONSISTENT,
    CONTRADICTED,
    GROUPS,
    NOT_JUDGED,
    NOT_MEASURED,
    PARTIAL,
    UNDECIDED,
    VERDICTS,
    CheckResult,
    Verdict,
    claims_document,
    describe,
    ratio_text,
)
from reports.claims_ledger import Ledger
from reports.table import Cell, Table

CLASSES = {CONSISTENT: "good", CONTRADICTED: "bad", PARTIAL: "unsure", UNDECIDED: "unsure", NOT_MEASURED: "neutral"}
CHECK_MARKS = {"pass": ("pass", "✔"), "fail": ("fail", "✘"), "inconclusive": ("tie", "≈"), NOT_JUDGED: ("none", "–")}


def verdict_counts(verdicts: Sequence[Verdict]) -> dict[str, int]:
    """How many claims have each verdict, and how many unjudged claims are in each group (claims.GROUPS),
    keyed by the verdict or group with spaces as underscores."""
    counts = {v.replace(" ", "_"): 0 for v in (*VERDICTS, *GROUPS)}
    for v in verdicts:
        counts[v.verdict.replace(" ", "_")] += 1
        if v.verdict == NOT_MEASURED and v.group:
            counts[v.group.replace(" ", "_")] += 1
    return counts


def rest_to_judge(verdicts: Sequence[Verdict]) -> list[dict]:
    """The unjudged claims by group, each with what would get it judged (the command to run)."""
    out = []
    for group in GROUPS:
        claims = [{"id": v.claim.id, "claimed": v.claim.claimed, "how": v.how, "reason": v.reason}
                  for v in verdicts if v.verdict == NOT_MEASURED and v.group == group]
        if claims:
            out.append({"group": group, "claims": claims})
    return out


def measured_text(v: Verdict) -> str:
    """The figures a verdict rests on: per subject the median (as "≥ X, load-generator bound" when it is
    a lower bound), IQR, n and the parameters it ran with (the measured size), and the projection
    formula where one is used."""
    parts = []
    for c in v.checks:
        if c.outcome == NOT_JUDGED:
            continue
        parts.extend(describe(m, v.claim.value_unit) for m in c.measured)
        if c.value is not None:
            parts.append(ratio_text(c))
    text = "; ".join(dict.fromkeys(parts))
    judged = sum(c.outcome != NOT_JUDGED for c in v.checks)
    if text and judged < len(v.checks):
        text += f" ({judged} of {len(v.checks)} checks measured)"
    if text and v.claim.projection:
        text += f". {v.claim.projection}"
    return text


def _check_view(c: CheckResult) -> dict[str, str]:
    cls, mark = CHECK_MARKS[c.outcome]
    return {"cls": cls, "mark": mark, "text": c.text}


def ledger_tables(verdicts: Sequence[Verdict], ledger: Ledger) -> tuple[Table, Table]:
    """The summary of every claim and the list of figures left out."""
    rows, raw = [], []
    for v in verdicts:
        c = v.claim
        measured = measured_text(v)
        shown = measured or f"not measured ({v.group}): {v.reason}"
        where = f"{v.source.label}: {v.source.fingerprint.text()}" if v.source and measured else ""
        rows.append([Cell(c.id, cls="rowhead", href=f"#claim-{c.id}"),
                     Cell(c.source.name, title=f"{c.source.document}: {c.source.section}"),
                     c.claimed, Cell(shown, cls="" if measured else "muted"),
                     Cell(v.source.label if where else "", title=where),
                     Cell(v.verdict, cls=f"verdict {CLASSES[v.verdict]}", title=v.reason)])
        raw.append({"id": c.id, "document": c.source.document, "title": c.source.title, "section": c.source.section,
                    "quote": c.source.quote, "claim_zh": c.zh, "claim_en": c.en, "claimed": c.claimed,
                    "workload": c.workload, "metric": c.metric, "formula": c.formula if c.workload else "",
                    "projection": c.projection, "rule": " ".join(filter(None, (c.rule_text(), c.bound_rule_text()))),
                    "measured": measured,
                    "source": v.source.label if where else "",
                    "fingerprint": v.source.fingerprint.text() if where else "",
                    "verdict": v.verdict, "reason": v.reason, "group": v.group, "how": v.how})
    summary = Table.build("claims", "Claims and verdicts", ["claim", "article", "claimed", "measured here",
                                                            "evidence", "verdict"], rows, raw=pd.DataFrame(raw))
    oos = Table.build("claims-out-of-scope", "Figures left out", ["article", "section", "figure", "why"],
                      [[Cell(ledger.title(o.document), title=o.document), o.section, o.figure, o.reason]
                       for o in ledger.out_of_scope])
    return summary, oos


def page_context(verdicts: Sequence[Verdict], ledger: Ledger, table: Callable[[Table], Table]) -> dict:
    """Everything claims.html renders; `table` registers a table's exports (the site writer's)."""
    summary, oos = ledger_tables(verdicts, ledger)
    by_id = {v.claim.id: v for v in verdicts}
    cards = []
    for v in verdicts:
        cards.append({"claim": v.claim, "verdict": v.verdict, "cls": CLASSES[v.verdict], "reason": v.reason,
                      "group": v.group, "how": v.how,
                      "source": v.source.label if v.source else "",
                      "fingerprint": v.source.fingerprint.text() if v.source else "",
                      "checks": [_check_view(c) for c in v.checks], "measured": measured_text(v)})
    conflicts = [{"note": c.note, "sides": [{"id": i, "verdict": by_id[i].verdict, "cls": CLASSES[by_id[i].verdict],
                                             "claim": by_id[i].claim, "measured": measured_text(by_id[i])}
                                            for i in c.claims]}
                 for c in ledger.conflicts]
    return {"counts": verdict_counts(verdicts), "summary": table(summary), "out_of_scope": table(oos),
            "verdicts": cards, "conflicts": conflicts, "rest": rest_to_judge(verdicts),
            "documents": [{"file": f, "title": t} for f, t in sorted(ledger.titles.items())]}


def write_claims_json(path: Path, verdicts: Sequence[Verdict]) -> None:
    """claims.json beside the pages: {"schema", "verdicts", "claims": [{id, verdict, evidence, ...}]}."""
    write_atomic(path, json.dumps(claims_document(verdicts), indent=1, ensure_ascii=False) + "\n")
