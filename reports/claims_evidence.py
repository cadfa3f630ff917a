"""Which measurements may judge a claim, and the values they give.

Evidence comes from one **source**: one run, or one **series**, every run of the reports
sharing one environment fingerprint (CPU model and count, kernel, executor, --cpus, profile),
pooled, for figures a run takes once (requests/s of a phase, memory per connection). A source
never mixes hosts, kernels, CPU counts, executors or profiles.

Within a source a subject's values come only from cases that

- ended `ok` and carry no flag that says the figure is not the quantity (rate short of target,
  not settled, a failed read), with three exceptions. Flags about precision (`unconverged`: the
  interval is wider than the profile asked; `host busy`: other processes used CPU meanwhile,
  `PRECISION_FLAGS`) do not refuse the values: the verdict's own interval or test at the ledger's
  one level decides, and a wide spread leaves the check inconclusive rather than wrong. A
  throughput figure (`BOUND_METRICS`) flagged only load-generator bound
  (harness/kinds/server/bound.py `is_bound`) counts as the lower bound it is, marked so (`bound`); the
  rules of claims_rules.py then read it as "at least X". Any other metric of such a case, and
  a case with any other flag besides, is refused. And a case whose processes fell into modes
  (its `modes:` flag, or, in runs written before the flag, modes harness/measure/modes.py finds
  in its wall times), read for a timing the modes are found in (reports/figures.py
  `MODAL_METRICS`: a memory figure or a counter of the same processes is judged whole, as the
  tables show it), keeps its values, marked with its modes (`modes`), and each mode's own
  values (`by_mode`, cut to the processes of each mode modes.py finds in its wall times):
  claims.py then judges a check that rests on it in each mode, and a verdict stands only where
  every mode gives it (inconclusive otherwise, saying which case and its modes);
- ran with the parameters the subject names, and, in a comparison, with the same values of
  every other parameter that defines the operation (threads, mode, placement) as the other
  subjects: cases are never pooled across sizes. A size the run calibrated (the case's
  `calibration` param) does not define the operation of a per-operation figure
  (`PER_OPERATION`: throughput, time or CPU per operation), which calibration makes comparable
  whatever the size: mutex and atomic at T = 4 compare at their own calibrated I. A size written
  in the profile still does (pool and spawn at the same number of tasks), as does any size for a
  figure that grows with it (peak memory, GC counts);
- read their figures (a memory reading of 0 is a failed read, not a figure);
- give at least MIN_N values.

Run metadata also holds reference measurements of the host (harness/host/oscosts.py); they
are read here as the workload `reference`, implementation `host/os`, metric `time_per_op`,
parameter `op` (process_switch, thread_switch, process_create, thread_create, cross_cpu_switch).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from harness.errors import UserError
from harness.host.gate import BUSY_FLAG
from harness.host.oscosts import ReferenceMeasurements
from harness.kinds.server.bound import is_bound
from harness.measure.modes import MODES_PREFIX, find_modes, has_modes
from harness.vocab import PLACEMENT_PARAMS, params_text, parse_params
from reports.claims_rules import AT_LEAST, AT_MOST
from reports.data import Results, Run
from reports.figures import MODAL_METRICS

MIN_N = 3
NO_SAMPLES = "no samples of the metric"  # the case does not measure what the claim reads
PROFILE_RANK = {"full": 3, "quick": 2, "smoke": 1}
REFERENCE_WORKLOAD, REFERENCE_IMPL, REFERENCE_METRIC = "reference", "host/os", "time_per_op"
PRECISION_FLAGS = ("unconverged", BUSY_FLAG)  # flags that do not refuse the values: the verdict's test decides
PER_OPERATION = ("throughput", "time_per_op", "cpu_time_per_op")  # figures a calibrated size does not change
BOUND_METRICS = ("qps",)  # what a load-generator bound phase gives a lower bound of (its other figures are refused)


@dataclass(frozen=True)
class Fingerprint:
    cpu_model: str
    cpu_count: int | None
    kernel: str
    executor: str
    cpus: int | None  # --cpus: how many CPUs the run's cases were pinned to
    profile: str

    def text(self) -> str:
        cores = f"{self.cpus} of {self.cpu_count} CPUs" if self.cpus else "? CPUs"
        return f"{self.cpu_model or '?'}, {cores}, {self.kernel or '?'}, {self.executor or '?'}, {self.profile or '?'}"


def fingerprint(run: Run) -> Fingerprint:
    host = run.host
    cpus = run.meta.get("cpus")
    count = host.get("cpu_count")
    return Fingerprint(str(host.get("cpu_model") or ""), count if isinstance(count, int) else None,
                       str(host.get("kernel") or ""), str(run.meta.get("executor") or ""),
                       len(cpus) if isinstance(cpus, list) else None, str(run.meta.get("profile") or ""))


@dataclass(frozen=True)
class EvidenceSource:
    runs: tuple[str, ...]  # oldest first
    fingerprint: Fingerprint
    started: str  # of the newest run

    @property
    def series(self) -> bool:
        return len(self.runs) > 1

    @property
    def label(self) -> str:
        if not self.series:
            return f"run {self.runs[0]}"
        return f"series of {len(self.runs)} runs ({self.runs[0]} … {self.runs[-1]})"

    def rank(self) -> tuple:
        """Higher is preferred: the highest profile, then one run over a series, then the newest."""
        return PROFILE_RANK.get(self.fingerprint.profile, 0), not self.series, self.started


def evidence_sources(results: Results) -> tuple[EvidenceSource, ...]:
    """Every run, and every fingerprint shared by two or more runs (a series)."""
    out, groups = [], defaultdict(list)
    for run in results.runs:
        fp = fingerprint(run)
        out.append(EvidenceSource((run.run_id,), fp, run.started))
        groups[fp].append(run)
    for fp, runs in groups.items():
        if len(runs) > 1:
            out.append(EvidenceSource(tuple(r.run_id for r in runs), fp, runs[-1].started))
    return tuple(out)


@dataclass(frozen=True)
class CaseValues:
    """One case of one run as evidence for a subject: its values, or why it has none that count."""

    run_id: str
    workload: str
    case: str
    impl: str
    variant: str
    params: Mapping[str, str]
    status: str
    flags: tuple[str, ...]
    values: tuple[float, ...] = ()
    excluded: str = ""  # why this case's values do not count ("" when they do)
    bound: str = ""  # AT_LEAST / AT_MOST: the values are bounds of the true ones (load-generator bound)
    modes: str = ""  # the case's processes fell into modes: how many, each's share and location ("" when not)
    by_mode: tuple[tuple[float, ...], ...] = ()  # with modes: the values of each mode's processes, lowest first

    @property
    def usable(self) -> bool:
        return not self.excluded and bool(self.values)


@dataclass(frozen=True)
class Pooled:
    """A subject's evidence for one set of shared parameter values: its cases, pooled."""

    key: tuple[tuple[str, str], ...]  # the parameters besides the subject's own (shared in a comparison)
    cases: tuple[CaseValues, ...]

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(v for c in self.cases if c.usable for v in c.values)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def bound(self) -> str:
        """AT_LEAST (AT_MOST) when a usable case's values are lower (upper) bounds: then so is the pool's median."""
        return next((c.bound for c in self.cases if c.usable and c.bound), "")

    @property
    def modes(self) -> str:
        """The usable cases whose processes fell into modes, each with its modes ("" when none did)."""
        return "; ".join(f"{c.case} in run {c.run_id}: {c.modes}" for c in self.cases if c.usable and c.modes)

    def per_mode(self) -> list[tuple[str, Pooled]] | None:
        """The pool once per mode of its one case with modes, that case's values cut to the mode's processes
        (labelled by the mode); the pool itself when no case has modes; None when the modes cannot be told
        apart (several cases with modes, or processes not found)."""
        modal = [c for c in self.cases if c.usable and c.modes]
        if not modal:
            return [("", self)]
        if len(modal) > 1 or not modal[0].by_mode:
            return None
        case = modal[0]
        out = []
        for i, values in enumerate(case.by_mode):
            cut = replace(case, values=values, modes="", by_mode=())
            out.append((f"{case.case}, mode {i + 1} of {len(case.by_mode)}",
                        Pooled(self.key, tuple(cut if c is case else c for c in self.cases))))
        return out

    def why_not(self) -> str:
        """Why these cases do not give MIN_N usable values ("" when they do)."""
        if self.n >= MIN_N:
            return ""
        reasons = [f"{c.case} in run {c.run_id}: {c.excluded}" for c in self.cases if c.excluded]
        used = [c for c in self.cases if c.usable]
        if used:
            where = ", ".join(f"{c.case} in run {c.run_id}" for c in used)
            reasons.append(f"{where} gave n = {self.n} < {MIN_N} values")
        return "; ".join(reasons)


@dataclass(frozen=True)
class Ask:
    """What a claim reads: the workload and metric, and how values are derived."""

    workload: str
    metric: str
    per: str = ""  # divide by this metric of the same process and iteration
    per_param: str = ""  # divide by this parameter of the case
    extra_metric: str = ""  # extrapolation: value + (to - size) * extra_metric
    size_param: str = ""
    size_to: float = 0.0
    scale: float = 1.0
    invert: bool = False
    positive: bool = True  # values <= 0 are failed readings

    @property
    def bound_sense(self) -> str:
        """What a load-generator bound case's value is of the true one: AT_LEAST (a lower bound), AT_MOST
        (inverted), or "" when such a case is refused (another metric, or a projection added to it)."""
        if self.metric not in BOUND_METRICS or self.extra_metric:
            return ""
        return AT_MOST if self.invert else AT_LEAST


@dataclass
class LedgerData:
    """The reports' runs, prepared once for every claim."""

    results: Results
    samples: pd.DataFrame
    cases: pd.DataFrame
    sources: tuple[EvidenceSource, ...]
    _by_case: dict = field(default_factory=dict)
    _modes: dict = field(default_factory=dict)

    @classmethod
    def build(cls, results: Results) -> LedgerData:
        samples, cases = _with_references(results)
        data = cls(results, samples, cases, evidence_sources(results))
        if len(samples):
            for key, group in samples.groupby(["run_id", "workload", "case", "impl", "variant"], sort=False):
                data._by_case[key] = group
        return data

    def case_list(self, runs: Sequence[str], workload: str, impl: str, variant: str) -> list[dict[str, Any]]:
        """Every case of the runs for this implementation variant: outcomes, plus any found only in samples."""
        c = self.cases
        rows = c[c["run_id"].isin(runs) & (c["workload"] == workload) & (c["impl"] == impl)
                 & (c["variant"] == variant)]
        out = {(r["run_id"], r["case"]): dict(r) for _, r in rows.iterrows()}
        for (run_id, w, case, i, v), group in self._by_case.items():
            if run_id in runs and w == workload and i == impl and v == variant and (run_id, case) not in out:
                out[(run_id, case)] = {"run_id": run_id, "case": case, "status": "ok", "flags": (), "extra": {},
                                       "params": str(group["params"].iloc[0])}
        return list(out.values())

    def modes(self, run_id: str, workload: str, case: str, impl: str, variant: str) -> str:
        """The modes harness/measure/modes.py finds in the case's per-process median wall times ("" for none)."""
        key = (run_id, workload, case, impl, variant)
        if key not in self._modes:
            rows = self._by_case.get(key)
            walls = rows[(rows["metric"] == "wall_time") & rows["process"].notna()] if rows is not None else None
            medians = walls.groupby("process")["value"].median().to_numpy() if walls is not None else ()
            found = find_modes(medians) if len(medians) else None
            self._modes[key] = found.text() if found is not None and found.multimodal else ""
        return self._modes[key]

    def mode_processes(self, run_id: str, workload: str, case: str, impl: str, variant: str
                       ) -> tuple[tuple[int, ...], ...]:
        """The processes of each mode harness/measure/modes.py finds in the case's per-process median wall
        times, lowest first (() when it finds none)."""
        rows = self._by_case.get((run_id, workload, case, impl, variant))
        if rows is None:
            return ()
        walls = rows[(rows["metric"] == "wall_time") & rows["process"].notna()]
        medians = walls.groupby("process")["value"].median()
        if not len(medians):
            return ()
        found = find_modes(medians.to_numpy())
        ids = [int(p) for p in medians.index]
        return tuple(tuple(ids[i] for i in m.processes) for m in found.modes) if found.multimodal else ()

    def values(self, run_id: str, workload: str, case: str, impl: str, variant: str, ask: Ask,
               params: Mapping[str, str], processes: Sequence[int] | None = None) -> tuple[tuple[float, ...], str]:
        """The case's values of what `ask` reads (of `processes` only, when given), and why none count if so."""
        rows = self._by_case.get((run_id, workload, case, impl, variant))
        main = rows[rows["metric"] == ask.metric] if rows is not None else None
        if main is not None and processes is not None:
            main = main[main["process"].isin(list(processes))]
        if main is None or main.empty:
            return (), NO_SAMPLES
        values = main["value"].astype(float).to_numpy()
        keys = list(zip(main["process"], main["iteration"]))
        for other in (ask.per, ask.extra_metric):
            if not other:
                continue
            joined = _align(rows[rows["metric"] == other], keys)
            if joined is None:
                return (), f"no {other} samples to go with {ask.metric}"
            if other == ask.per:
                if (joined <= 0).any():
                    return (), f"{other} is 0 or below"
                values = values / joined
            else:
                size = _number(params, ask.size_param)
                if size is None:
                    return (), f"no {ask.size_param} parameter to extrapolate from"
                values = values + (ask.size_to - size) * joined
        if ask.positive:
            bad = int((values <= 0).sum())
            if bad:
                return (), f"{bad} of {len(values)} {ask.metric} readings are 0 or below (a failed read)"
        if ask.per_param:
            divisor = _number(params, ask.per_param)
            if not divisor:
                return (), f"no {ask.per_param} parameter to divide by"
            values = values / divisor
        if ask.invert:
            values = ask.scale / values
        else:
            values = values * ask.scale
        if not all(math.isfinite(v) for v in values):
            return (), "a value is not finite"
        return tuple(float(v) for v in values), ""


def _number(params: Mapping[str, str], name: str) -> float | None:
    try:
        return float(params[name])
    except (KeyError, ValueError):
        return None


def _align(other: pd.DataFrame, keys: list[tuple]) -> Any:
    """`other`'s values lined up with `keys` (process, iteration); a per-case value serves every key."""
    if other.empty:
        return None
    lookup = {}
    for p, i, v in zip(other["process"], other["iteration"], other["value"]):
        lookup[(_nan_none(p), _nan_none(i))] = float(v)
    out = []
    for p, i in keys:
        p, i = _nan_none(p), _nan_none(i)
        for k in ((p, i), (p, None), (None, None)):
            if k in lookup:
                out.append(lookup[k])
                break
        else:
            return None
    return pd.Series(out).to_numpy()


def _nan_none(x: Any) -> Any:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else int(x)


def idle_read_failed(extra: Mapping[str, Any]) -> str:
    """A server idle phase whose memory reading failed (0) has no per-connection figure."""
    idle = extra.get("idle") if isinstance(extra, Mapping) else None
    if isinstance(idle, Mapping):
        for key in ("rss_before", "rss_with"):
            v = idle.get(key)
            if isinstance(v, int | float) and v <= 0:
                return f"the memory reading {key} is {v} (a failed read)"
    return ""


def _with_references(results: Results) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Samples and case outcomes of every run, with the runs' reference measurements added."""
    samples = results.samples
    frames = [r.cases for r in results.runs if len(r.cases)]
    cases = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["run_id", "workload", "case", "impl", "variant", "status", "flags", "extra", "params"])
    extra_rows, extra_cases = [], []
    for run in results.runs:
        raw = run.meta.get("reference_measurements")
        if raw is None:
            continue
        try:
            refs = ReferenceMeasurements.from_dict(raw, f"{run.path / 'run.json'}: reference_measurements")
        except UserError:
            continue  # a damaged reference block costs its claims, not the report
        cpus = run.meta.get("cpus")
        placement = {"cpus": len(cpus) if isinstance(cpus, list) else "", "executor": run.meta.get("executor", "")}
        for ref in refs.measured:
            params = params_text({"op": ref.name, **placement})
            case = f"op={ref.name}"
            extra_cases.append({"run_id": run.run_id, "workload": REFERENCE_WORKLOAD, "case": case,
                                "impl": REFERENCE_IMPL, "variant": "default", "status": "ok",
                                "flags": "; ".join(refs.flags), "flag_list": tuple(refs.flags),
                                "extra": {"method": ref.method}, "params": params})
            for i, v in enumerate(ref.values):
                extra_rows.append({"run_id": run.run_id, "workload": REFERENCE_WORKLOAD, "case": case,
                                   "impl": REFERENCE_IMPL, "variant": "default", "params": params,
                                   "metric": REFERENCE_METRIC, "unit": ref.unit, "direction": "lower",
                                   "process": i, "iteration": 0, "value": v})
    if extra_rows:
        samples = pd.concat([samples, pd.DataFrame(extra_rows)], ignore_index=True)
        cases = pd.concat([cases, pd.DataFrame(extra_cases)], ignore_index=True)
    return samples, cases


def free_key(params: Mapping[str, str], named: Mapping[str, str], calibrated: str = "") -> tuple[tuple[str, str], ...]:
    """The workload parameters a subject does not name (where it ran aside, and the `calibrated` size):
    what the subjects of a comparison must share."""
    return tuple(sorted((k, v) for k, v in params.items()
                        if k not in named and k not in PLACEMENT_PARAMS and k != calibrated))


def calibrated_param(extra: Mapping[str, Any], ask: Ask) -> str:
    """The parameter whose size this run calibrated, when `ask` reads a per-operation figure ("" otherwise)."""
    if ask.metric not in PER_OPERATION or ask.per or ask.extra_metric:
        return ""
    calibration = extra.get("calibration") if isinstance(extra, Mapping) else None
    if extra.get("calibrated") not in ("run", "stored") or not isinstance(calibration, Mapping):
        return ""
    return str(calibration.get("param") or "")


def precision_flag(flag: str) -> bool:
    """A flag about a figure's precision only (PRECISION_FLAGS): its values still count."""
    return any(flag.startswith(p) for p in PRECISION_FLAGS)


def _flags(case: Mapping[str, Any]) -> tuple[str, ...]:
    """A case's flags, each whole: the frame's `flag_list`, else its "; "-joined text (or a list) split."""
    whole = case.get("flag_list")
    if isinstance(whole, tuple | list):
        return tuple(str(f) for f in whole)
    value = case.get("flags")
    if isinstance(value, str):
        return tuple(f.strip() for f in value.split("; ") if f.strip())
    return tuple(str(f) for f in value or ())


def gather(data: LedgerData, source: EvidenceSource, ask: Ask, impl: str, variant: str,
           named: Mapping[str, str]) -> dict[tuple, Pooled]:
    """A subject's cases in the source, grouped by their other parameters, with their values."""
    groups: dict[tuple, list[CaseValues]] = defaultdict(list)
    for c in data.case_list(source.runs, ask.workload, impl, variant):
        params = parse_params(c["params"])
        if any(params.get(k) != v for k, v in named.items()):
            continue
        flags = _flags(c)
        status = str(c.get("status") or "ok")
        extra = c.get("extra") if isinstance(c.get("extra"), Mapping) else {}
        key = free_key(params, named, calibrated_param(extra, ask))
        base = dict(run_id=c["run_id"], workload=ask.workload, case=c["case"], impl=impl, variant=variant,
                    params=params, status=status, flags=flags)
        if status != "ok":
            why = f"status {status}" + (f" ({str(c.get('error') or '')[:120]})" if c.get("error") else "")
            groups[key].append(CaseValues(**base, excluded=why))
            continue
        values, why = data.values(c["run_id"], ask.workload, c["case"], impl, variant, ask, params)
        if why == NO_SAMPLES:
            continue  # another phase or mode of the workload (an idle phase has no requests/s)
        others = tuple(f for f in flags if not has_modes([f]))
        refused, bound = _flagged(others, ask) if others else ("", "")
        modes = ""
        if ask.metric in MODAL_METRICS:  # the timings modes are found in; memory and counters are judged whole
            modes = next((f[len(MODES_PREFIX):].strip() for f in flags if has_modes([f])), "") or data.modes(
                c["run_id"], ask.workload, c["case"], impl, variant)
        if refused:
            why, values = refused, ()
        elif idle_read_failed(extra):
            why, values = idle_read_failed(extra), ()
        by_mode: tuple[tuple[float, ...], ...] = ()
        if modes and values:  # each mode's own values, for a check judged in each mode
            groups_of = data.mode_processes(c["run_id"], ask.workload, c["case"], impl, variant)
            by_mode = tuple(data.values(c["run_id"], ask.workload, c["case"], impl, variant, ask, params, g)[0]
                            for g in groups_of)
        groups[key].append(CaseValues(**base, values=values, excluded=why, bound=bound, modes=modes,
                                      by_mode=by_mode))
    return {k: Pooled(k, tuple(v)) for k, v in groups.items()}


def _flagged(flags: Sequence[str], ask: Ask) -> tuple[str, str]:
    """(why a flagged case's values do not count, or "" when they count; their bound sense).

    Precision flags never refuse (PRECISION_FLAGS); a load-generator bound flag makes the values bounds."""
    hard = [f for f in flags if not precision_flag(f)]
    if not hard:
        return "", ""
    if ask.bound_sense and all(is_bound([f]) for f in hard):
        return "", ask.bound_sense
    return "flagged: " + "; ".join(hard), ""
