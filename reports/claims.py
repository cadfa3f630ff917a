"""The claims ledger: claims.toml validated into frozen dataclasses, and verdicts from the data.

A claim names a workload, a metric, the implementations and cases that measure it (subjects)
and a rule. `evaluate` finds, for each check, the newest run holding every subject, takes
medians of the (optionally scaled) samples and applies the rule. A claim whose checks find no
data is "not measured", with the reason; any failed check makes it "contradicted".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import UserError
from harness.manifest import read_toml
from harness.stats import Summary, summarize
from harness.vocab import params_text

from .data import Results, implementation_label, parse_params
from .fmt import fmt_value
from .metrics import unit_of

SCHEMA = 1
CLAIMS_FILE = Path(__file__).with_name("claims.toml")
RULES = ("range", "ratio", "order")
ACROSS = ("pool", "max", "min")
CONSISTENT, CONTRADICTED, NOT_MEASURED = "consistent", "contradicted", "not measured"


@dataclass(frozen=True)
class Source:
    document: str
    section: str
    quote: str


@dataclass(frozen=True)
class Subject:
    impl: str
    variant: str = "default"
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        extra = params_text(self.params)
        return implementation_label(self.impl, self.variant) + (f" [{extra}]" if extra else "")


@dataclass(frozen=True)
class Claim:
    id: str
    source: Source
    zh: str
    en: str
    claimed: str
    needs: str
    note: str = ""
    also: tuple[Source, ...] = ()
    workload: str = ""  # empty: no workload here measures it
    metric: str = ""
    scale: float = 1.0
    invert: bool = False
    unit: str = ""
    label: str = ""
    checks: tuple[tuple[Subject, ...], ...] = ()
    across_cases: str = "pool"
    cpus: int | None = None
    rule: str = ""
    low: float | None = None
    high: float | None = None
    factor: float = 1.0
    ratio: float | None = None
    order: str = "increasing"

    @property
    def value_unit(self) -> str:
        """The unit of the compared value: the claim's own, else the metric's."""
        return self.unit or unit_of(self.metric)

    @property
    def measured_by(self) -> str:
        if not self.workload:
            return ""
        what = self.label or self.metric
        if self.invert:
            how = f"{self.scale:g} / {self.metric}"
        elif self.scale != 1:
            how = f"{self.metric} × {self.scale:,g}"
        else:
            how = ""
        return f"{self.workload}: {what}" + (f" = {how}" if how and how != what else "")

    def rule_text(self) -> str:
        """The verdict rule in words, from the rule's own numbers."""
        unit = self.value_unit
        if self.rule == "range":
            lo = None if self.low is None else self.low / self.factor
            hi = None if self.high is None else self.high * self.factor
            widen = f" (the claim, widened by a factor {self.factor:g})" if self.factor != 1 else ""
            if lo is not None and hi is not None:
                span = f"between {fmt_value(lo, unit)} and {fmt_value(hi, unit)}"
            elif lo is not None:
                span = f"at least {fmt_value(lo, unit)}"
            else:
                span = f"at most {fmt_value(hi, unit)}"
            return f"consistent if every median is {span}{widen}; contradicted otherwise"
        if self.rule == "ratio":
            r, f = self.ratio, self.factor
            side = "above" if r > 1 else "below"
            return (f"consistent if the ratio of medians is {side} 1 like the claimed {r:.3g}× and within a "
                    f"factor {f:g} of it ({r / f:.3g}×–{r * f:.3g}×); contradicted otherwise")
        if self.rule == "order":
            word = "below" if self.order == "increasing" else "above"
            return f"consistent if, in every check, each median is {word} the next one's; contradicted otherwise"
        return ""


# --- loading --------------------------------------------------------------------------------


class _Fields:
    def __init__(self, path: Path, table: Mapping[str, Any], where: str) -> None:
        self.path, self.table, self.where = path, table, where

    def fail(self, key: str, need: str) -> UserError:
        return UserError(f"{self.path}: {self.where}: field '{key}' {need}")

    def text(self, key: str, *, required: bool = True) -> str:
        v = self.table.get(key, "" if not required else None)
        if not isinstance(v, str) or (required and not v.strip()):
            raise self.fail(key, "must be a non-empty string")
        return v

    def number(self, key: str, default: float | None = None) -> float | None:
        v = self.table.get(key, default)
        if v is default:
            return v
        if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
            raise self.fail(key, "must be a number > 0")
        return float(v)

    def choice(self, key: str, choices: Sequence[str], default: str) -> str:
        v = self.table.get(key, default)
        if v not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}")
        return v


def _source(f: _Fields, table: Mapping[str, Any], where: str) -> Source:
    s = _Fields(f.path, table, where)
    return Source(s.text("document"), s.text("section"), s.text("quote"))


def _subject(f: _Fields, raw: Any, where: str, impl: str | None = None) -> Subject:
    if not isinstance(raw, dict):
        raise f.fail(where, "must hold inline tables like { impl = \"go/goroutines\", params = { workers = 4 } }")
    unknown = set(raw) - {"impl", "params"}
    if unknown:
        raise f.fail(where, f"has unknown key '{sorted(unknown)[0]}' (a subject has impl and params)")
    name = impl or raw.get("impl")
    if not isinstance(name, str) or "/" not in name:
        raise f.fail(where, "needs impl = \"language/model\" (or \"language/model:variant\"), or each_impl")
    base, _, variant = name.partition(":")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise f.fail(where, "params must be a table of parameter values")
    return Subject(base, variant or "default", {str(k): str(v) for k, v in params.items()})


def _checks(f: _Fields) -> tuple[tuple[Subject, ...], ...]:
    t = f.table
    if "checks" in t:
        if "subjects" in t or "each_impl" in t:
            raise f.fail("checks", "excludes subjects and each_impl: use one way to name the subjects")
        raw = t["checks"]
        if not isinstance(raw, list) or not raw or not all(isinstance(c, list) and c for c in raw):
            raise f.fail("checks", "must be a list of lists of subjects")
        return tuple(tuple(_subject(f, s, f"checks[{i}][{j}]") for j, s in enumerate(c)) for i, c in enumerate(raw))
    raw = t.get("subjects")
    if not isinstance(raw, list) or not raw:
        raise f.fail("subjects", "must list at least one subject (or use checks)")
    each = t.get("each_impl")
    if each is None:
        return (tuple(_subject(f, s, f"subjects[{j}]") for j, s in enumerate(raw)),)
    if not isinstance(each, list) or not each or not all(isinstance(i, str) for i in each):
        raise f.fail("each_impl", "must be a list of implementation ids")
    return tuple(tuple(_subject(f, s, f"subjects[{j}]", impl) for j, s in enumerate(raw)) for impl in each)


def _claim(path: Path, table: Any, index: int) -> Claim:
    if not isinstance(table, dict):
        raise UserError(f"{path}: claims[{index}] must be a table ([[claims]])")
    f = _Fields(path, table, f"claims[{index}]")
    cid = f.text("id")
    f.where = f"claim '{cid}'"
    also = table.get("also", [])
    if not isinstance(also, list):
        raise f.fail("also", "must be a list of { document, section, quote }")
    common = dict(
        id=cid, source=_source(f, table, f.where), zh=f.text("zh"), en=f.text("en"), claimed=f.text("claimed"),
        needs=f.text("needs"), note=f.text("note", required=False),
        also=tuple(_source(f, a if isinstance(a, dict) else {}, f"{f.where} also[{i}]") for i, a in enumerate(also)),
    )
    if "workload" not in table:
        return Claim(**common)
    rule = f.choice("rule", RULES, "")
    checks = _checks(f)
    low, high, ratio = f.number("low"), f.number("high"), f.number("ratio")
    if rule == "range" and low is None and high is None:
        raise f.fail("low", "or 'high' is needed by rule = \"range\"")
    if rule == "ratio" and (ratio is None or any(len(c) != 2 for c in checks)):
        raise f.fail("ratio", "is needed by rule = \"ratio\", with two subjects per check (numerator, denominator)")
    if rule == "order" and any(len(c) < 2 for c in checks):
        raise f.fail("subjects", "needs at least two subjects per check for rule = \"order\"")
    cpus = table.get("cpus")
    if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1):
        raise f.fail("cpus", "must be a whole number >= 1")
    invert = table.get("invert", False)
    if not isinstance(invert, bool):
        raise f.fail("invert", "must be true or false")
    return Claim(
        **common, workload=f.text("workload"), metric=f.text("metric"), scale=f.number("scale", 1.0),
        invert=invert, unit=f.text("unit", required=False), label=f.text("label", required=False),
        checks=checks, across_cases=f.choice("across_cases", ACROSS, "pool"), cpus=cpus, rule=rule,
        low=low, high=high, factor=f.number("factor", 1.0), ratio=ratio,
        order=f.choice("order", ("increasing", "decreasing"), "increasing"),
    )


@dataclass(frozen=True)
class OutOfScope:
    document: str
    section: str
    figure: str
    reason: str


@dataclass(frozen=True)
class Ledger:
    claims: tuple[Claim, ...]
    out_of_scope: tuple[OutOfScope, ...]


def load_ledger(path: Path = CLAIMS_FILE) -> Ledger:
    data = read_toml(path)
    schema = data.get("schema")
    if not isinstance(schema, int) or schema > SCHEMA:
        raise UserError(f"{path}: schema {schema!r} is not one this code reads ({SCHEMA}); update cmbench")
    raw = data.get("claims", [])
    if not isinstance(raw, list):
        raise UserError(f"{path}: 'claims' must be an array of tables ([[claims]])")
    claims = tuple(_claim(path, t, i) for i, t in enumerate(raw))
    seen: set[str] = set()
    for c in claims:
        if c.id in seen:
            raise UserError(f"{path}: claim id '{c.id}' is used twice; ids must be unique")
        seen.add(c.id)
    oos = []
    for i, t in enumerate(data.get("out_of_scope", [])):
        f = _Fields(path, t if isinstance(t, dict) else {}, f"out_of_scope[{i}]")
        oos.append(OutOfScope(f.text("document"), f.text("section"), f.text("figure"), f.text("reason")))
    return Ledger(claims, tuple(oos))


# --- verdicts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    subject: Subject
    summary: Summary
    cases: tuple[str, ...]


@dataclass(frozen=True)
class CheckResult:
    subjects: tuple[Subject, ...]
    passed: bool | None  # None: not measured
    text: str  # the figures, or why there are none
    run_id: str = ""
    measured: tuple[Measured, ...] = ()
    value: float | None = None  # the ratio, for rule = "ratio"


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    verdict: str
    checks: tuple[CheckResult, ...]
    reason: str = ""  # for "not measured"


def _matching(samples: pd.DataFrame, claim: Claim, s: Subject) -> pd.DataFrame:
    rows = samples[(samples["workload"] == claim.workload) & (samples["metric"] == claim.metric)
                   & (samples["impl"] == s.impl) & (samples["variant"] == s.variant)]
    if s.params and len(rows):
        wanted = s.params.items()
        keep = [all(p.get(k) == v for k, v in wanted) for p in (parse_params(t) for t in rows["params"])]
        rows = rows[keep]
    return rows


def _transform(values: pd.Series, claim: Claim) -> list[float]:
    vals = values.astype(float)
    if claim.invert:
        vals = vals[vals > 0]
        return (claim.scale / vals).tolist()
    return (vals * claim.scale).tolist()


def _measure(rows: pd.DataFrame, claim: Claim, s: Subject) -> Measured | None:
    per_case = {case: _transform(g["value"], claim) for case, g in rows.groupby("case", sort=False)}
    per_case = {k: v for k, v in per_case.items() if v}
    if not per_case:
        return None
    if claim.across_cases == "pool" or len(per_case) == 1:
        values = [v for vs in per_case.values() for v in vs]
        return Measured(s, summarize(values), tuple(per_case))
    summaries = {k: summarize(v) for k, v in per_case.items()}
    pick = (max if claim.across_cases == "max" else min)(summaries, key=lambda k: summaries[k].median)
    return Measured(s, summaries[pick], (pick,))


def _run_cpus(results: Results, run_id: str, rows: pd.DataFrame) -> int | None:
    for text in rows["params"]:
        cpus = parse_params(text).get("cpus")
        if cpus and cpus.isdigit():
            return int(cpus)
    meta_cpus = results.run(run_id).meta.get("cpus")
    return len(meta_cpus) if isinstance(meta_cpus, list) else None


def _describe(m: Measured, unit: str, across: str = "pool") -> str:
    s = m.summary
    where = f" at {m.cases[0]}" if across != "pool" else ""
    spread = f"IQR {fmt_value(s.q1, unit)} – {fmt_value(s.q3, unit)}, " if s.n > 1 else ""
    return f"{m.subject.label}{where}: {fmt_value(s.median, unit)} ({spread}n={s.n})"


def _apply(claim: Claim, measured: list[Measured], unit: str) -> tuple[bool, str, float | None]:
    medians = [m.summary.median for m in measured]
    if claim.rule == "range":
        lo = -float("inf") if claim.low is None else claim.low / claim.factor
        hi = float("inf") if claim.high is None else claim.high * claim.factor
        ok = all(lo <= v <= hi for v in medians)
        return ok, "; ".join(_describe(m, unit, claim.across_cases) for m in measured), None
    if claim.rule == "ratio":
        num, den = medians
        if den == 0:
            return False, "the denominator's median is 0", None
        r = num / den
        same_side = (r > 1) == (claim.ratio > 1) and r != 1
        ok = same_side and claim.ratio / claim.factor <= r <= claim.ratio * claim.factor
        text = (f"{measured[0].subject.label} / {measured[1].subject.label} = {r:.3g}× "
                f"({'; '.join(_describe(m, unit, claim.across_cases) for m in measured)})")
        return ok, text, r
    pairs = list(zip(medians, medians[1:]))
    ok = all(a < b for a, b in pairs) if claim.order == "increasing" else all(a > b for a, b in pairs)
    sign = " < " if claim.order == "increasing" else " > "
    overlap = any(x.summary.q3 >= y.summary.q1 and y.summary.q3 >= x.summary.q1
                  for x, y in zip(measured, measured[1:]))
    described = [_describe(m, unit, claim.across_cases) for m in measured]
    text = (sign if ok else "; ").join(described)
    if overlap:
        text += " — the interquartile ranges overlap"
    return ok, text, None


def _check(claim: Claim, subjects: tuple[Subject, ...], results: Results, samples: pd.DataFrame) -> CheckResult:
    by_subject = [_matching(samples, claim, s) for s in subjects]
    absent = [s.label for s, rows in zip(subjects, by_subject) if rows.empty]
    if absent:
        return CheckResult(subjects, None, f"no {claim.workload} {claim.metric} results for {', '.join(absent)}")
    run_order = [r.run_id for r in results.runs]
    common = set(run_order)
    for rows in by_subject:
        common &= set(rows["run_id"])
    if not common:
        return CheckResult(subjects, None, "the subjects were never measured in the same run")
    run_id = max(common, key=run_order.index)
    in_run = [rows[rows["run_id"] == run_id] for rows in by_subject]
    if claim.cpus is not None:
        cpus = _run_cpus(results, run_id, pd.concat(in_run))
        if cpus != claim.cpus:
            cores = f"{cpus} CPU{'' if cpus == 1 else 's'}"
            return CheckResult(subjects, None, f"measured on {cores} (run {run_id}), the claim is for "
                               f"{claim.cpus} cores: absolute figures do not transfer; compare ratios instead",
                               run_id)
    measured = [_measure(rows, claim, s) for rows, s in zip(in_run, subjects)]
    if any(m is None for m in measured):
        return CheckResult(subjects, None, "no usable samples (all zero)", run_id)
    unit = claim.unit or str(in_run[0]["unit"].iloc[0]) or claim.value_unit
    ok, text, value = _apply(claim, measured, unit)
    return CheckResult(subjects, ok, text, run_id, tuple(measured), value)


def evaluate(claim: Claim, results: Results) -> Verdict:
    """The claim's verdict from `results` (only ok cases have samples, so failures never count)."""
    if not claim.workload:
        return Verdict(claim, NOT_MEASURED, (), claim.needs)
    samples = results.samples
    checks = tuple(_check(claim, subjects, results, samples) for subjects in claim.checks)
    judged = [c for c in checks if c.passed is not None]
    if not judged:
        reasons = "; ".join(dict.fromkeys(c.text for c in checks))
        return Verdict(claim, NOT_MEASURED, checks, f"{reasons}. Needs {claim.needs}.")
    verdict = CONSISTENT if all(c.passed for c in judged) else CONTRADICTED
    return Verdict(claim, verdict, checks)


def evaluate_all(ledger: Ledger, results: Results) -> list[Verdict]:
    return [evaluate(c, results) for c in ledger.claims]
