"""The claims ledger's verdicts: each claim (claims_ledger.py) judged against the measured data.

A claim names a workload, a metric, the implementations and parameters that measure it
(subjects, in one or more checks) and a rule. `evaluate` takes all of a claim's evidence from
one source (one run, or one series of runs on one environment fingerprint: see
claims_evidence.py), only from ok cases with the parameters that define the operation and at
least three values per subject, and decides each check at the ledger's one level, 95%
(claims_rules.py). Whether evidence is precise enough is decided by that verdict, not by a flat
precision target: cases flagged only for their precision (unconverged, host busy) count, and a
spread too wide to decide leaves the check inconclusive. A load-generator bound throughput figure
counts as a lower bound, shown "≥ X, load-generator bound", which can confirm "at least",
contradict only what it already exceeds, and is never ordered against another bound figure. A
case whose processes fell into modes (harness/measure/modes.py) has no one figure: a check that
rests on such a case is judged in each mode, and stands only where every mode gives the same
verdict (inconclusive otherwise, saying which case and its modes). An ordering whose gap
the claim states (`gap`) is judged for the size of the gap too. The verdict is one of:

- consistent: every check was measured and agrees with the claim;
- contradicted: a measured check disagrees with the claim;
- partially measured: the measured checks agree (or tie), but some were not measured, or the
  figure covers only part of the claim (a projection, goroutines rather than connections);
- inconclusive: every check was measured, none disagrees, and some tie (no difference shown);
  or the verdict flips between two runs of the source's environment (both named);
- not measured: no check was measured, with the reason and its group (GROUPS): needs a bigger
  host, out of scope, or evidence not usable, each with what would get it judged.

The source is the one that judges the most checks; among those, the highest profile (full,
quick, smoke), then a single run over a series, then the newest."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.measure.stats import summarize
from harness.vocab import params_text, parse_params
from reports.claims_evidence import MIN_N, REFERENCE_WORKLOAD, EvidenceSource, LedgerData, Pooled, gather
from reports.claims_ledger import SCHEMA, Claim, Ledger, Subject
from reports.claims_rules import (
    AT_LEAST,
    AT_MOST,
    FAIL,
    INCONCLUSIVE,
    PASS,
    Outcome,
    bound_text,
    judge_order,
    judge_range,
    judge_ratio,
)
from reports.data import Results
from reports.fmt import fmt_value

CONSISTENT, CONTRADICTED, NOT_MEASURED = "consistent", "contradicted", "not measured"
PARTIAL, UNDECIDED = "partially measured", "inconclusive"
VERDICTS = (CONSISTENT, CONTRADICTED, PARTIAL, UNDECIDED, NOT_MEASURED)
# Why a claim is not judged: each unjudged claim is in exactly one group (claims.json `group`).
BIGGER_HOST, OUT_OF_SCOPE, NOT_USABLE = "needs a bigger host", "out of scope", "evidence not usable"
GROUPS = (BIGGER_HOST, OUT_OF_SCOPE, NOT_USABLE)
CLUSTER = "tcp://SCHEDULER:8786"
NOT_JUDGED = "not measured"  # a check's outcome when it has no evidence


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

    modes: str = ""  # the case's processes fell into modes: how many, each's share and location

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "workload": self.workload, "case": self.case, "impl": self.impl,
                "variant": self.variant, "n": self.n, "flags": list(self.flags), "status": self.status,
                "used": not self.excluded, "excluded": self.excluded,
                "bound": {AT_LEAST: "at least", AT_MOST: "at most"}.get(self.bound, ""), "modes": self.modes}


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
    group: str = ""  # not measured: BIGGER_HOST, OUT_OF_SCOPE or NOT_USABLE
    how: str = ""  # not measured: what would get it judged (the command to run, or the workload needed)


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
                     c.flags, c.status, c.excluded, c.params, c.bound if c.usable else "", c.modes if c.usable else "")
            for c in pooled.cases]


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
    if claim.gap:
        outcomes = [_with_gap(o, a, b, g, claim.factor) for o, a, b, g in zip(outcomes, measured, measured[1:],
                                                                             claim.gap)]
    if not claim.gap:  # the size of each gap, though the claim states none to judge it by
        outcomes = [Outcome(o.result, f"{o.test}; {_gap_text(a, b)}") for o, a, b in zip(outcomes, measured,
                                                                                      measured[1:])]
    results = {o.result for o in outcomes}
    result = FAIL if FAIL in results else INCONCLUSIVE if INCONCLUSIVE in results else PASS
    text = "; ".join(described) + " — " + "; ".join(
        f"{a.subject.label} {o.test}" for a, o in zip(measured, outcomes))
    return CheckResult(outcome=result, text=text, **base)


def _gap_text(a: Measured, b: Measured) -> str:
    """The measured gap of an ordering, b's median over a's, when the claim states no size for it."""
    lo, hi = a.summary.median, b.summary.median
    if lo <= 0:
        return "no gap can be formed (a median of 0 or below)"
    return f"gap {b.subject.label} / {a.subject.label}: {hi / lo:.3g}× (the claim states no size)"


def _with_gap(order: Outcome, a: Measured, b: Measured, gap: float, factor: float) -> Outcome:
    """An order's outcome with the claimed gap judged too: b / a (the later subject against the earlier)
    within `factor` of `gap`. A gap shown outside the band contradicts the claim even in the claimed order."""
    o = judge_ratio(b.values, a.values, gap, factor, (b.bound, a.bound))
    if o is None:
        return Outcome(order.result if order.result != PASS else INCONCLUSIVE,
                       f"{order.test}; the gap cannot be sized against ~{gap:.3g}× claimed: "
                       f"{a.subject.label}'s median is {a.summary.median:g}")
    size = f"gap {b.subject.label} / {a.subject.label}: {o.test}, against ~{gap:.3g}× claimed"
    if order.result == FAIL:
        return Outcome(FAIL, f"{order.test}; {size}")
    if o.result == FAIL:
        return Outcome(FAIL, f"{order.test}, but by another size: {size}")
    if order.result == PASS and o.result == PASS:
        return Outcome(PASS, f"{order.test}; {size}")
    return Outcome(INCONCLUSIVE, f"{order.test}; {size}")


def _not_judged(subjects: tuple[Subject, ...], text: str, source: EvidenceSource,
                pools: Sequence[Mapping[tuple, Pooled]] = ()) -> CheckResult:
    evidence = tuple(e for s, p in zip(subjects, pools) for pooled in p.values() for e in _evidence(s, pooled))
    return CheckResult(subjects, NOT_JUDGED, text, source.label, evidence=evidence)


def _modal(subjects: tuple[Subject, ...], pools: Sequence[Pooled], source: EvidenceSource) -> CheckResult | None:
    """The inconclusive check of subjects some of whose evidence fell into modes; None when none did."""
    modal = [f"{s.label} ({p.modes})" for s, p in zip(subjects, pools) if p.modes]
    if not modal:
        return None
    evidence = tuple(e for s, p in zip(subjects, pools) for e in _evidence(s, p))
    return CheckResult(subjects, INCONCLUSIVE, f"inconclusive: the processes of {'; '.join(modal)} fell into modes, "
                       "so there is no one figure to judge by", source.label, evidence=evidence)


def _judge_modes(claim: Claim, subjects: tuple[Subject, ...], pools: Sequence[Pooled],
                 source: EvidenceSource) -> CheckResult:
    """The check judged as a whole, or, where a case's processes fell into modes, in each mode: a verdict
    every mode gives alike stands; modes that disagree, or too few values in one, leave it inconclusive."""
    modal = _modal(subjects, pools, source)
    if modal is None:
        return _judge(claim, subjects, list(pools), source)
    options = [p.per_mode() for p in pools]
    if any(o is None for o in options):
        return modal
    results = []
    for combo in itertools.product(*options):  # type: ignore[arg-type]
        short = [label for label, p in combo if p.n < MIN_N]
        if short:
            return CheckResult(subjects, INCONCLUSIVE, f"{modal.text}; judged in each mode, {short[0]} has fewer "
                               f"than {MIN_N} values", source.label, evidence=modal.evidence)
        results.append((" × ".join(label for label, _ in combo if label),
                        _judge(claim, subjects, [p for _, p in combo], source)))
    outcomes = {r.outcome for _, r in results}
    each = "; ".join(f"[{label}] {r.outcome}: {r.text}" for label, r in results)
    if len(outcomes) == 1 and outcomes <= {PASS, FAIL}:
        first = results[0][1]
        which = "; ".join(f"{s.label}: {p.modes}" for s, p in zip(subjects, pools) if p.modes)
        return CheckResult(subjects, first.outcome, f"judged in each mode, alike (the processes fell into modes: "
                           f"{which}): {each}", source.label, measured=first.measured, evidence=modal.evidence,
                           value=first.value, value_sense=first.value_sense)
    return CheckResult(subjects, INCONCLUSIVE, f"{modal.text}; judged in each mode: {each}", source.label,
                       evidence=modal.evidence)


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
        modal = _modal(subjects, [Pooled((), tuple(c for x in p.values() for c in x.cases)) for p in pools], source)
        if modal is not None:  # an extremum over cases is not known while one of them has modes
            return [modal]
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
            out.append(_judge_modes(claim, subjects, chosen, source))
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


def run_command(claim: Claim, profile: str = "quick", cpus: int | None = None, cluster: bool = False) -> str:
    """The `cmbench run` that measures what the claim reads, for its implementations."""
    impls = list(dict.fromkeys(s.impl + ("" if s.variant == "default" else f":{s.variant}")
                               for subjects in claim.checks for s in subjects))
    if claim.workload == REFERENCE_WORKLOAD:  # every batch run records the host's reference measurements
        return f"cmbench run --profile {profile} --workload ping_pong --impl c/pthreads"
    parts = ["cmbench run", f"--profile {profile}", f"--workload {claim.workload}"]
    if impls and not all(i.startswith("host/") for i in impls):
        parts.append(f"--impl {','.join(impls)}")
    if cpus:
        parts.append(f"--cpus {cpus}")
    if cluster:
        parts.append(f"--cluster {CLUSTER} --loadgen-host")
    return " ".join(parts)


def _no_source(claim: Claim, data: LedgerData) -> tuple[str, str]:
    """(group, how) of a claim no source suits by its CPU count."""
    most = max((s.fingerprint.cpus or 0 for s in data.sources), default=0)
    need = claim.min_cpus or claim.cpus
    if need and need > most:
        return BIGGER_HOST, (f"a host where the run gets {need} CPUs (--cpus {need}; a server workload also needs "
                             f"CPUs for its load generator beside them), where these runs had {most or 'none'}: "
                             f"`{run_command(claim, cpus=need)}` there, or from here on such a benchmark host: "
                             f"`{run_command(claim, cluster=True)}`")
    return NOT_USABLE, f"`{run_command(claim, cpus=claim.cpus)}`"


def _unusable_how(claim: Claim, source: EvidenceSource | None, checks: Sequence[CheckResult]) -> str:
    """Which cases were refused, and why, and the run that would give usable evidence."""
    refused = list(dict.fromkeys(f"{e.impl}{'' if e.variant == 'default' else ':' + e.variant} {e.case} "
                                 f"(run {e.run_id}): {e.excluded}"
                                 for c in checks for e in c.evidence if e.excluded))
    # cases were measured but refused, or gave too few values: a longer profile; else the cases are missing
    seen = any(e.excluded or e.n < MIN_N for c in checks for e in c.evidence)
    profile = "full" if seen and source is not None and source.fingerprint.profile in ("quick", "full") else "quick"
    cases = f"refused: {'; '.join(refused)}. " if refused else ""
    note = (" (any run of a batch workload records the host's reference measurements; the switch costs need perf)"
            if claim.workload == REFERENCE_WORKLOAD else "")
    return f"{cases}Run `{run_command(claim, profile, claim.cpus)}`{note}"


def _flips(claim: Claim, chosen: EvidenceSource, judged: Sequence[tuple[EvidenceSource, tuple]]) -> str:
    """Why the verdict is inconclusive when single runs of the chosen source's environment disagree ("" if not)."""
    seen: dict[str, EvidenceSource] = {}
    for source, checks in judged:
        if source.series or source.fingerprint != chosen.fingerprint:
            continue
        verdict = _combine(checks)
        if verdict in (CONSISTENT, CONTRADICTED):
            seen.setdefault(verdict, source)
    if len(seen) < 2:
        return ""
    return (f"the verdict flips between runs of one environment: {CONSISTENT} in {seen[CONSISTENT].label}, "
            f"{CONTRADICTED} in {seen[CONTRADICTED].label}")


def evaluate(claim: Claim, results: Results | LedgerData) -> Verdict:
    """The claim's verdict, all its checks from one source (see the module docstring)."""
    if not claim.workload:
        return Verdict(claim, NOT_MEASURED, (), claim.needs, group=OUT_OF_SCOPE,
                       how=f"a workload for it: {claim.needs}")
    data = results if isinstance(results, LedgerData) else LedgerData.build(results)
    sources, why = _sources_for(claim, data)
    if not sources:
        group, how = _no_source(claim, data)
        return Verdict(claim, NOT_MEASURED, (), f"{why}. Needs {claim.needs}.", group=group, how=how)
    best: tuple | None = None
    judged = []
    for source in sources:
        checks = tuple(r for subjects in claim.checks for r in _check(data, source, claim, subjects))
        judged.append((source, checks))
        score = sum(c.outcome != NOT_JUDGED for c in checks)
        key = (score, source.rank())
        if best is None or key > best[0]:
            best = (key, source, checks)
    _, source, checks = best
    verdict = _combine(checks)
    missing = list(dict.fromkeys(c.text for c in checks if c.outcome == NOT_JUDGED))
    if verdict == NOT_MEASURED:
        return Verdict(claim, verdict, checks, f"{'; '.join(missing)}. Needs {claim.needs}.", source,
                       group=NOT_USABLE, how=_unusable_how(claim, source, checks))
    notes = missing
    flip = _flips(claim, source, judged)
    if flip:
        verdict = UNDECIDED
        notes = [flip, *notes]
    if claim.covers:
        notes = [f"the figure covers part of the claim ({claim.covers}); on that part it is {verdict}", *notes]
        verdict = PARTIAL
    return Verdict(claim, verdict, checks, "; ".join(notes), source)


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
            **({"group": v.group, "how": v.how} if v.verdict == NOT_MEASURED else {}),
            "checks": [{"outcome": c.outcome, "text": c.text} for c in v.checks],
            "evidence": [e.as_dict() for c in v.checks for e in c.evidence],
        })
    return {"schema": SCHEMA, "verdicts": list(VERDICTS), "groups": list(GROUPS), "claims": claims}
