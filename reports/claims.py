"""The claims ledger: claims.toml validated into frozen dataclasses, and verdicts from the data.

A claim names a workload, a metric, the implementations and parameters that measure it
(subjects, in one or more checks) and a rule. `evaluate` takes all of a claim's evidence from
one source (one run, or one series of runs on one environment fingerprint: see
claims_evidence.py), only from ok, unflagged cases with the parameters the claim names and at
least three values per subject, and decides each check with a stated confidence
(claims_rules.py). A load-generator bound throughput figure is the one flagged case that counts:
as a lower bound, shown "≥ X, load-generator bound", which can confirm "at least", contradict
only what it already exceeds, and is never ordered against another bound figure. The verdict
is one of:

- consistent: every check was measured and agrees with the claim;
- contradicted: a measured check disagrees with the claim;
- partially measured: the measured checks agree (or tie), but some were not measured;
- inconclusive: every check was measured, none disagrees, and some tie (no difference shown);
- not measured: no check was measured, with the reason.

The source is the one that judges the most checks; among those, the highest profile (full,
quick, smoke), then a single run over a series, then the newest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.manifest import read_toml
from harness.stats import summarize
from harness.vocab import params_text, parse_params

from .claims_evidence import MIN_N, Ask, EvidenceSource, LedgerData, Pooled, gather
from .claims_rules import (
    ALPHA,
    AT_LEAST,
    AT_MOST,
    FAIL,
    INCONCLUSIVE,
    PASS,
    bound_text,
    judge_order,
    judge_range,
    judge_ratio,
)
from .data import Results, implementation_label
from .fmt import fmt_value
from .metrics import unit_of

SCHEMA = 1
CLAIMS_FILE = Path(__file__).with_name("claims.toml")
RULES = ("range", "ratio", "order")
ACROSS = ("each", "max", "min")
CONSISTENT, CONTRADICTED, NOT_MEASURED = "consistent", "contradicted", "not measured"
PARTIAL, UNDECIDED = "partially measured", "inconclusive"
VERDICTS = (CONSISTENT, CONTRADICTED, PARTIAL, UNDECIDED, NOT_MEASURED)
NOT_JUDGED = "not measured"  # a check's outcome when it has no evidence


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
class Extrapolation:
    """value + (to - size) x per: a total measured at `size` carried to the claim's size `to`."""

    per: str  # the metric per unit (memory_per_connection)
    size: str  # the parameter holding the measured size (connections)
    to: float


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
    across_cases: str = "each"
    cpus: int | None = None
    min_cpus: int | None = None
    per: str = ""
    per_param: str = ""
    positive: bool = True
    extrapolate: Extrapolation | None = None
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
    def ask(self) -> Ask:
        x = self.extrapolate
        return Ask(self.workload, self.metric, per=self.per, per_param=self.per_param,
                   extra_metric=x.per if x else "", size_param=x.size if x else "", size_to=x.to if x else 0.0,
                   scale=self.scale, invert=self.invert, positive=self.positive)

    @property
    def formula(self) -> str:
        """How the compared value is computed from the stored metrics."""
        how = self.metric
        if self.per:
            how = f"{how} / {self.per}"
        if self.extrapolate:
            x = self.extrapolate
            how = f"{how} + ({x.to:,g} − {x.size}) × {x.per}"
        if self.per_param:
            how = f"{how} / {self.per_param}"
        if self.invert:
            how = f"{self.scale:g} / ({how})" if " " in how else f"{self.scale:g} / {how}"
        elif self.scale != 1:
            how = f"({how}) × {self.scale:,g}" if " " in how else f"{how} × {self.scale:,g}"
        return how

    @property
    def projection(self) -> str:
        """The projection, in words, when the figure is carried from the measured size to another."""
        x = self.extrapolate
        if not x:
            return ""
        return (f"projected from the measured {x.size} to {x.to:,g}: {self.metric} + ({x.to:,g} − {x.size}) × "
                f"{x.per}")

    @property
    def measured_by(self) -> str:
        if not self.workload:
            return ""
        what = self.label or self.metric
        how = self.formula
        return f"{self.workload}: {what}" + (f" = {how}" if how != what else "")

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
            return (f"consistent if the 95% confidence interval of the median (order statistics; [min, max] and its "
                    f"own coverage below six values) lies {span}{widen}, contradicted if it lies wholly outside, "
                    f"inconclusive if it straddles a bound")
        if self.rule == "ratio":
            r, f = self.ratio, self.factor
            side = "above" if r > 1 else "below" if r < 1 else "at"
            return (f"consistent if the 95% interval of the ratio of medians lies {side} 1 like the claimed "
                    f"{r:.3g}× and within a factor {f:g} of it ({r / f:.3g}×–{r * f:.3g}×), contradicted if it "
                    f"lies wholly outside, inconclusive otherwise")
        if self.rule == "order":
            word = "below" if self.order == "increasing" else "above"
            return (f"consistent if, in every check, each subject's values lie {word} the next one's by a one-sided "
                    f"Mann-Whitney U test at α = {ALPHA}; contradicted if the reverse holds at α = {ALPHA}; "
                    f"inconclusive (a tie) otherwise")
        return ""

    def bound_rule_text(self) -> str:
        """How a load-generator bound figure is read for this claim ("" when such figures are refused)."""
        sense = self.ask.bound_sense
        if not sense:
            return ""
        what = "a lower bound (≥ X)" if sense == AT_LEAST else "an upper bound (≤ X, the metric being inverted)"
        by_rule = {
            "range": "it is consistent only if the bound alone settles it, and contradicted only if it already lies "
                     "beyond the range on its own side",
            "ratio": "the ratio is then itself a bound (\"at least\" with a bound numerator); two bound figures have "
                     "no ratio",
            "order": "an ordering it could undo by being higher is inconclusive, never contradicted; two bound "
                     "figures are never ordered",
        }
        return (f"a load-generator bound figure (the generator, not the server, set the rate) counts as {what}: "
                f"{by_rule.get(self.rule, '')}")


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

    def whole(self, key: str) -> int | None:
        v = self.table.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise self.fail(key, "must be a whole number >= 1")
        return v

    def flag(self, key: str, default: bool) -> bool:
        v = self.table.get(key, default)
        if not isinstance(v, bool):
            raise self.fail(key, "must be true or false")
        return v

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
    return Claim(
        **common, workload=f.text("workload"), metric=f.text("metric"), scale=f.number("scale", 1.0),
        invert=f.flag("invert", False), unit=f.text("unit", required=False), label=f.text("label", required=False),
        checks=checks, across_cases=f.choice("across_cases", ACROSS, "each"), cpus=f.whole("cpus"),
        min_cpus=f.whole("min_cpus"), per=f.text("per", required=False), per_param=f.text("per_param", required=False),
        positive=f.flag("positive", True), extrapolate=_extrapolation(f), rule=rule,
        low=low, high=high, factor=f.number("factor", 1.0), ratio=ratio,
        order=f.choice("order", ("increasing", "decreasing"), "increasing"),
    )


def _extrapolation(f: _Fields) -> Extrapolation | None:
    raw = f.table.get("extrapolate")
    if raw is None:
        return None
    x = _Fields(f.path, raw if isinstance(raw, dict) else {}, f"{f.where} extrapolate")
    to = x.number("to")
    if to is None:
        raise x.fail("to", "must be a number > 0 (the size the claim is about)")
    return Extrapolation(x.text("per"), x.text("size"), to)


@dataclass(frozen=True)
class OutOfScope:
    document: str
    section: str
    figure: str
    reason: str


@dataclass(frozen=True)
class Conflict:
    """Seed claims that cannot all be true, shown side by side."""

    claims: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class Ledger:
    claims: tuple[Claim, ...]
    out_of_scope: tuple[OutOfScope, ...]
    conflicts: tuple[Conflict, ...] = ()


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
    conflicts = []
    for i, t in enumerate(data.get("conflicts", [])):
        f = _Fields(path, t if isinstance(t, dict) else {}, f"conflicts[{i}]")
        ids = t.get("claims") if isinstance(t, dict) else None
        if not isinstance(ids, list) or len(ids) < 2 or not all(isinstance(x, str) for x in ids):
            raise f.fail("claims", "must list at least two claim ids")
        unknown = [x for x in ids if x not in seen]
        if unknown:
            raise f.fail("claims", f"names '{unknown[0]}', which is not a claim id")
        conflicts.append(Conflict(tuple(ids), f.text("note")))
    return Ledger(claims, tuple(oos), tuple(conflicts))


# --- verdicts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """One case that was looked at for one subject: what it gave, or why it did not count."""

    subject: Subject
    run_id: str
    workload: str
    case: str
    impl: str
    variant: str
    n: int  # values that count (0 when excluded)
    flags: tuple[str, ...]
    status: str = "ok"
    excluded: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    bound: str = ""  # AT_LEAST: a used figure that is a lower bound (load-generator bound); AT_MOST inverted

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "workload": self.workload, "case": self.case, "impl": self.impl,
                "variant": self.variant, "n": self.n, "flags": list(self.flags), "status": self.status,
                "used": not self.excluded, "excluded": self.excluded,
                "bound": {AT_LEAST: "at least", AT_MOST: "at most"}.get(self.bound, "")}


@dataclass(frozen=True)
class Measured:
    """What one subject gave in one check: its pooled values' summary, and where they came from."""

    subject: Subject
    values: tuple[float, ...]
    where: str  # the shared parameters, e.g. "threads=4,increments=1000000"
    cases: tuple[str, ...]
    bound: str = ""  # AT_LEAST / AT_MOST: the true values are at least / at most these (load-generator bound)

    @property
    def summary(self):
        return summarize(self.values)


@dataclass(frozen=True)
class CheckResult:
    subjects: tuple[Subject, ...]
    outcome: str  # PASS, FAIL, INCONCLUSIVE or NOT_JUDGED
    text: str  # the figures and the test, or why there are none
    source: str = ""  # the run or series, in words
    measured: tuple[Measured, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    value: float | None = None  # the ratio, for rule = "ratio"
    value_sense: str = ""  # AT_LEAST / AT_MOST when the ratio is a bound (from a bound figure)

    @property
    def passed(self) -> bool | None:
        """True, False, or None when the check has no verdict (not measured or a tie)."""
        return {PASS: True, FAIL: False}.get(self.outcome)

    @property
    def run_id(self) -> str:
        return ",".join(dict.fromkeys(e.run_id for e in self.evidence if not e.excluded))


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    verdict: str
    checks: tuple[CheckResult, ...]
    reason: str = ""  # why it is not measured, or what was not
    source: EvidenceSource | None = None


def describe(m: Measured, unit: str) -> str:
    """A subject's figure: its median (as a bound when it is one), IQR and n, with the parameters it ran at."""
    s = m.summary
    where = f" [{m.where}]" if m.where else ""
    spread = f"IQR {fmt_value(s.q1, unit)} – {fmt_value(s.q3, unit)}, " if s.n > 1 else ""
    return f"{m.subject.label}{where}: {bound_text(fmt_value(s.median, unit), m.bound)} ({spread}n={s.n})"


def ratio_text(c: CheckResult) -> str:
    """A check's ratio of medians, as a bound when it is one ("" without a ratio)."""
    if c.value is None:
        return ""
    return f"ratio {c.value_sense + ' ' if c.value_sense else ''}{c.value:.3g}×"


def _evidence(subject: Subject, pooled: Pooled) -> list[Evidence]:
    return [Evidence(subject, c.run_id, c.workload, c.case, c.impl, c.variant, len(c.values) if c.usable else 0,
                     c.flags, c.status, c.excluded, c.params, c.bound if c.usable else "") for c in pooled.cases]


def _key_text(key: tuple[tuple[str, str], ...]) -> str:
    return params_text(key)


def _judge(claim: Claim, subjects: tuple[Subject, ...], pools: list[Pooled], source: EvidenceSource,
           senses: Sequence[str] | None = None) -> CheckResult:
    """The check decided on the chosen pools; `senses` overrides the pools' own bound senses (an extremum)."""
    unit = claim.value_unit
    senses = tuple(senses) if senses is not None else tuple(p.bound for p in pools)
    measured = tuple(Measured(s, p.values, _key_text(p.key), tuple(dict.fromkeys(c.case for c in p.cases if c.usable)),
                              sense) for s, p, sense in zip(subjects, pools, senses))
    evidence = tuple(e for s, p in zip(subjects, pools) for e in _evidence(s, p))
    described = [describe(m, unit) for m in measured]
    base = dict(subjects=subjects, source=source.label, measured=measured, evidence=evidence)
    if claim.rule == "range":
        lo = -math.inf if claim.low is None else claim.low / claim.factor
        hi = math.inf if claim.high is None else claim.high * claim.factor
        outcomes = [judge_range(m.values, lo, hi, lambda v: fmt_value(v, unit), m.bound) for m in measured]
        results = {o.result for o in outcomes}
        result = FAIL if FAIL in results else INCONCLUSIVE if INCONCLUSIVE in results else PASS
        text = "; ".join(f"{d} — {o.test}" for d, o in zip(described, outcomes))
        return CheckResult(outcome=result, text=text, **base)
    if claim.rule == "ratio":
        o = judge_ratio(measured[0].values, measured[1].values, claim.ratio, claim.factor,
                        (measured[0].bound, measured[1].bound))
        if o is None:
            return CheckResult(outcome=NOT_JUDGED, text=f"{'; '.join(described)} — the denominator's interval "
                               "reaches 0, so no ratio can be formed", **base)
        text = (f"{measured[0].subject.label} / {measured[1].subject.label}: {o.test} "
                f"({'; '.join(described)})")
        return CheckResult(outcome=o.result, text=text, value=o.value, value_sense=o.sense, **base)
    below = claim.order == "increasing"
    outcomes = [judge_order(a.values, b.values, below, (a.bound, b.bound)) for a, b in zip(measured, measured[1:])]
    results = {o.result for o in outcomes}
    result = FAIL if FAIL in results else INCONCLUSIVE if INCONCLUSIVE in results else PASS
    text = "; ".join(described) + " — " + "; ".join(
        f"{a.subject.label} {o.test}" for a, o in zip(measured, outcomes))
    return CheckResult(outcome=result, text=text, **base)


def _not_judged(subjects: tuple[Subject, ...], text: str, source: EvidenceSource,
                pools: Sequence[Mapping[tuple, Pooled]] = ()) -> CheckResult:
    evidence = tuple(e for s, p in zip(subjects, pools) for pooled in p.values() for e in _evidence(s, pooled))
    return CheckResult(subjects, NOT_JUDGED, text, source.label, evidence=evidence)


def _check(data: LedgerData, source: EvidenceSource, claim: Claim, subjects: tuple[Subject, ...]) -> list[CheckResult]:
    """The check's result in `source`: one per set of parameter values the subjects share."""
    ask = claim.ask
    pools = [gather(data, source, ask, s.impl, s.variant, s.params) for s in subjects]
    absent = [s.label + _ran_instead(data, source, claim, s) for s, p in zip(subjects, pools) if not p]
    if absent:
        return [_not_judged(subjects, f"no {claim.workload} {claim.metric} results for {', '.join(absent)} in "
                            f"{source.label}", source, pools)]
    if claim.across_cases != "each":
        pick = max if claim.across_cases == "max" else min
        chosen, senses = [], []
        for s, p in zip(subjects, pools):
            usable = [x for x in p.values() if x.n >= MIN_N]
            if not usable:
                why = "; ".join(x.why_not() for x in p.values())
                return [_not_judged(subjects, f"{s.label}: no case with {MIN_N} usable values ({why})", source, pools)]
            best = pick(usable, key=lambda x: summarize(x.values).median)
            sense = extremum_sense(best.bound, [x.bound for x in usable if x is not best], claim.across_cases)
            if sense is None:
                return [_not_judged(subjects, f"{s.label}: its {claim.across_cases} over the cases is bounded neither "
                                    "way (bound figures on both sides)", source, pools)]
            chosen.append(best)
            senses.append(sense)
        return [_judge(claim, subjects, chosen, source, senses)]
    shared = set(pools[0])
    for p in pools[1:]:
        shared &= set(p)
    if not shared:
        ran = "; ".join(f"{s.label} ran {', '.join(_key_text(k) or 'no other parameters' for k in p)}"
                        for s, p in zip(subjects, pools))
        return [_not_judged(subjects, f"no case has the same parameters for every subject ({ran})", source, pools)]
    out = []
    for key in sorted(shared):
        chosen = [p[key] for p in pools]
        short = [f"{s.label}: {c.why_not()}" for s, c in zip(subjects, chosen) if c.n < MIN_N]
        if short:
            where = f" [{_key_text(key)}]" if key else ""
            out.append(_not_judged(subjects, f"too little usable evidence{where}: {'; '.join(short)}", source,
                                   [{key: c} for c in chosen]))
        else:
            out.append(_judge(claim, subjects, chosen, source))
    return out


def _ran_instead(data: LedgerData, source: EvidenceSource, claim: Claim, subject: Subject) -> str:
    """The parameters the subject names that none of its cases in the source ran with, and what they ran with."""
    seen: dict[str, set[str]] = {k: set() for k in subject.params}
    for c in data.case_list(source.runs, claim.workload, subject.impl, subject.variant):
        params = parse_params(c["params"])
        for k in seen:
            if k in params:
                seen[k].add(params[k])
    other = {k: "/".join(sorted(v)) for k, v in sorted(seen.items()) if v and subject.params[k] not in v}
    return f" (its cases ran with {', '.join(f'{k}={v}' for k, v in other.items())})" if other else ""


def extremum_sense(chosen: str, others: Sequence[str], across: str) -> str | None:
    """Whether the largest (`across` = "max") or smallest figure over a subject's cases is a bound.

    A case not chosen may still hold the true extremum when its own figure is a bound pointing
    past the chosen one (a lower bound, for the max): the extremum is then at least (at most)
    the chosen figure. None when that and the chosen figure's own bound point opposite ways."""
    beyond = AT_LEAST if across == "max" else AT_MOST
    sense = beyond if beyond in others else ""
    if chosen and sense and chosen != sense:
        return None
    return chosen or sense


def _sources_for(claim: Claim, data: LedgerData) -> tuple[list[EvidenceSource], str]:
    """The sources whose CPU count suits the claim, and why there are none if so."""
    sources = list(data.sources)
    if claim.cpus is not None:
        sources = [s for s in sources if s.fingerprint.cpus == claim.cpus]
    if claim.min_cpus is not None:
        sources = [s for s in sources if (s.fingerprint.cpus or 0) >= claim.min_cpus]
    if sources or not data.sources:
        return sources, "" if sources else "no runs"
    counts = sorted({s.fingerprint.cpus for s in data.sources if s.fingerprint.cpus})
    seen = ", ".join(f"{c} CPU{'' if c == 1 else 's'}" for c in counts) or "an unknown number of CPUs"
    if claim.cpus is not None:
        return [], (f"measured only on {seen}, the claim is for {claim.cpus} CPU{'' if claim.cpus == 1 else 's'}: "
                    f"run with --cpus {claim.cpus}" + ("" if claim.cpus == 1 else
                                                       "; absolute figures do not transfer, compare ratios instead"))
    return [], f"measured only on {seen}; the claim needs at least {claim.min_cpus} CPUs (--cpus {claim.min_cpus})"


def _combine(checks: Sequence[CheckResult]) -> str:
    outcomes = [c.outcome for c in checks]
    judged = [o for o in outcomes if o != NOT_JUDGED]
    if not judged:
        return NOT_MEASURED
    if FAIL in judged:
        return CONTRADICTED
    if len(judged) < len(outcomes):
        return PARTIAL
    if INCONCLUSIVE in judged:
        return UNDECIDED
    return CONSISTENT


def evaluate(claim: Claim, results: Results | LedgerData) -> Verdict:
    """The claim's verdict, all its checks from one source (see the module docstring)."""
    if not claim.workload:
        return Verdict(claim, NOT_MEASURED, (), claim.needs)
    data = results if isinstance(results, LedgerData) else LedgerData.build(results)
    sources, why = _sources_for(claim, data)
    if not sources:
        return Verdict(claim, NOT_MEASURED, (), f"{why}. Needs {claim.needs}.")
    best: tuple | None = None
    for source in sources:
        checks = tuple(r for subjects in claim.checks for r in _check(data, source, claim, subjects))
        score = sum(c.outcome != NOT_JUDGED for c in checks)
        key = (score, source.rank())
        if best is None or key > best[0]:
            best = (key, source, checks)
    _, source, checks = best
    verdict = _combine(checks)
    missing = list(dict.fromkeys(c.text for c in checks if c.outcome == NOT_JUDGED))
    if verdict == NOT_MEASURED:
        return Verdict(claim, verdict, checks, f"{'; '.join(missing)}. Needs {claim.needs}.", source)
    return Verdict(claim, verdict, checks, "; ".join(missing), source)


def evaluate_all(ledger: Ledger, results: Results) -> list[Verdict]:
    data = LedgerData.build(results)
    return [evaluate(c, data) for c in ledger.claims]


def claims_document(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """claims.json: every claim's verdict and, per subject, the evidence looked at (versioned)."""
    claims = []
    for v in verdicts:
        claims.append({
            "id": v.claim.id, "verdict": v.verdict, "claimed": v.claim.claimed,
            "source": v.source.label if v.source else "",
            "fingerprint": v.source.fingerprint.text() if v.source else "",
            "reason": v.reason,
            "checks": [{"outcome": c.outcome, "text": c.text} for c in v.checks],
            "evidence": [e.as_dict() for c in v.checks for e in c.evidence],
        })
    return {"schema": SCHEMA, "verdicts": list(VERDICTS), "claims": claims}
