"""The claims ledger as data: claims.toml validated into frozen dataclasses, errors naming the file and field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.manifests.toml import read_toml
from harness.vocab import params_text
from reports.claims_evidence import Ask
from reports.claims_rules import (
    ALPHA,
    AT_LEAST,
    LEVEL_TEXT,
    MIN_ORDER_STATISTICS,
)
from reports.data import implementation_label
from reports.fmt import fmt_value
from reports.metric_names import unit_of

SCHEMA = 1
CLAIMS_FILE = Path(__file__).with_name("claims.toml")
RULES = ("range", "ratio", "order")
ACROSS = ("each", "max", "min")


@dataclass(frozen=True)
class Source:
    document: str  # the seed's file name
    section: str
    quote: str
    title: str = ""  # the article's title (claims.toml [documents]); the file name when none is given

    @property
    def name(self) -> str:
        """The article as a reader knows it: its title, else its file name."""
        return self.title or self.document


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
    gap: tuple[float, ...] = ()  # order claims: the claimed ratio of each subject to the one before it
    partial: str = ""  # the part of the claim the figure covers, when it covers only part of it

    @property
    def covers(self) -> str:
        """What part of the claim a figure covers ("" when the whole): stated, or the projection."""
        parts = [self.partial] if self.partial else []
        if self.extrapolate:
            x = self.extrapolate
            parts.append(f"the figure is projected from the measured {x.size} to {x.to:,g}, not measured there")
        return "; ".join(parts)

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
            how = f"{_plain(self.scale)} / ({how})" if " " in how else f"{_plain(self.scale)} / {how}"
        elif self.scale != 1:
            how = f"({how}) × {_plain(self.scale)}" if " " in how else f"{how} × {_plain(self.scale)}"
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
            return (f"consistent if the median lies {span}{widen}, each end shown by a one-sided {LEVEL_TEXT} "
                    f"confidence bound of the median (order statistics; below {MIN_ORDER_STATISTICS} values Student's "
                    f"t bounds of the mean at {LEVEL_TEXT}; values all equal are that value), contradicted if a bound "
                    f"shows it wholly outside, inconclusive if the bounds straddle an end")
        if self.rule == "ratio":
            r, f = self.ratio, self.factor
            side = "above" if r > 1 else "below" if r < 1 else "at"
            return (f"consistent if the first subject's values lie above {max(r / f, 1) if r > 1 else r / f:.3g}× "
                    f"and below {min(r * f, 1) if r < 1 else r * f:.3g}× the second's, each by a one-sided "
                    f"Mann-Whitney U test at α = {ALPHA} ({LEVEL_TEXT}): the claimed {r:.3g}× within a factor "
                    f"{f:g}, on the claimed side of 1 ({side} it); contradicted if either reverse is shown; "
                    f"inconclusive otherwise")
        if self.rule == "order":
            word = "below" if self.order == "increasing" else "above"
            gap = ""
            if self.gap:
                gaps = ", ".join(f"{g:.3g}×" for g in self.gap)
                gap = (f"; the claimed gap ({gaps}, each subject against the one before) is judged as a ratio within "
                       f"a factor {self.factor:g}, and a gap shown outside it contradicts the claim")
            return (f"consistent if, in every check, each subject's values lie {word} the next one's by a one-sided "
                    f"Mann-Whitney U test at α = {ALPHA} ({LEVEL_TEXT}); contradicted if the reverse holds at "
                    f"α = {ALPHA}; inconclusive (a tie) otherwise{gap}")
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


def _source(f: _Fields, table: Mapping[str, Any], where: str, titles: Mapping[str, str] | None = None) -> Source:
    s = _Fields(f.path, table, where)
    document = s.text("document")
    return Source(document, s.text("section"), s.text("quote"), (titles or {}).get(document, ""))


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


def _claim(path: Path, table: Any, index: int, titles: Mapping[str, str] | None = None) -> Claim:
    if not isinstance(table, dict):
        raise UserError(f"{path}: claims[{index}] must be a table ([[claims]])")
    f = _Fields(path, table, f"claims[{index}]")
    cid = f.text("id")
    f.where = f"claim '{cid}'"
    also = table.get("also", [])
    if not isinstance(also, list):
        raise f.fail("also", "must be a list of { document, section, quote }")
    common = dict(
        id=cid, source=_source(f, table, f.where, titles), zh=f.text("zh"), en=f.text("en"), claimed=f.text("claimed"),
        needs=f.text("needs"), note=f.text("note", required=False),
        also=tuple(_source(f, a if isinstance(a, dict) else {}, f"{f.where} also[{i}]", titles)
                   for i, a in enumerate(also)),
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
    gap = table.get("gap", [])
    if not isinstance(gap, list) or not all(isinstance(g, int | float) and not isinstance(g, bool) and g > 0
                                            for g in gap):
        raise f.fail("gap", "must be a list of numbers > 0 (the claimed ratio of each subject to the one before)")
    if gap and (rule != "order" or any(len(c) - 1 != len(gap) for c in checks)):
        raise f.fail("gap", "needs rule = \"order\" and one ratio per neighbouring pair of subjects")
    return Claim(
        **common, workload=f.text("workload"), metric=f.text("metric"), scale=f.number("scale", 1.0),
        invert=f.flag("invert", False), unit=f.text("unit", required=False), label=f.text("label", required=False),
        checks=checks, across_cases=f.choice("across_cases", ACROSS, "each"), cpus=f.whole("cpus"),
        min_cpus=f.whole("min_cpus"), per=f.text("per", required=False), per_param=f.text("per_param", required=False),
        positive=f.flag("positive", True), extrapolate=_extrapolation(f), rule=rule,
        low=low, high=high, factor=f.number("factor", 1.0), ratio=ratio,
        order=f.choice("order", ("increasing", "decreasing"), "increasing"),
        gap=tuple(float(g) for g in gap), partial=f.text("partial", required=False),
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
    titles: Mapping[str, str] = field(default_factory=dict)  # seed file name -> the article's title

    def title(self, document: str) -> str:
        return self.titles.get(document, document)


def load_ledger(path: Path = CLAIMS_FILE) -> Ledger:
    data = read_toml(path)
    schema = data.get("schema")
    if not isinstance(schema, int) or schema > SCHEMA:
        raise UserError(f"{path}: schema {schema!r} is not one this code reads ({SCHEMA}); update cmbench")
    raw = data.get("claims", [])
    if not isinstance(raw, list):
        raise UserError(f"{path}: 'claims' must be an array of tables ([[claims]])")
    titles = data.get("documents", {})
    if not isinstance(titles, dict) or not all(isinstance(v, str) and v.strip() for v in titles.values()):
        raise UserError(f"{path}: [documents] must map each seed file name to its article's title (a string)")
    claims = tuple(_claim(path, t, i, titles) for i, t in enumerate(raw))
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
    return Ledger(claims, tuple(oos), tuple(conflicts), dict(titles))


def _plain(x: float) -> str:
    """`x` written out for a reader (1,000,000,000 or 0.000001), never in e-notation."""
    return f"{x:,.0f}" if x == int(x) else f"{x:,.12f}".rstrip("0")
