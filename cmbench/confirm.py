"""The nightly's A/B confirmation: a candidate change measured again, old build against today's.

For each case with a candidate (reports/history/alerts.py `candidates`), the build the last good run
measured (kept by harness/store/builds.py) and today's build run as two implementations of one unit,
so the harness interleaves their processes in a seeded random order on the same CPUs in the same
minutes: whatever the host does then, both sides get it. Each round is one such unit of
`AB_PROCESSES` a side (fixed repetitions, more than a profile's); rounds go on, up to `AB_ROUNDS`,
until each candidate's interval lies beyond its floor or short of it (a sequential test: looking
after each round makes a false confirmation a little likelier than 2.5%, and the floor's margin is
what keeps it rare). Its run folders are kept as `<run>/confirm/<case>-<last good run>-<first bad run>/round-<k>/`, with
`confirmation.json` beside them: the ratio B / A with its 95% interval per metric
(reports/history/confirmation.py). A later nightly that finds the same change again reuses it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from harness.catalog import Catalog
from harness.console import Console
from harness.engine.local import RunOptions, make_plan, run_plan
from harness.errors import UserError
from harness.executors.base import Executor
from harness.measure.metrics import METRICS
from harness.plan.spec import Plan
from harness.store.builds import BuildStore
from harness.store.run import load_run, write_atomic
from reports.history.alerts import Confirm
from reports.history.changes import Change, DetectionConfig, SeriesKey
from reports.history.confirmation import (
    CONFIDENCE,
    CONFIRM_DIR,
    RECORD,
    ABRecord,
    CaseKey,
    Confirmation,
    family_confidence,
    interval_decides,
    ratio_interval,
)
from reports.metric_names import alert_floor
from reports.samples import read_samples

AB_PROCESSES = 8  # processes a side per round (twice the profile's minimum, when that is more)
AB_ROUNDS = 3  # rounds at most: up to 24 processes a side (8 a round)
AB_ITERATIONS = 5  # measured iterations per process at least
OLD = "-lastgood"  # the old build's model name suffix inside the A/B run


def per_process(samples: pd.DataFrame, impl: str, metric: str) -> list[float]:
    """One value per process of `impl`: the median of its iterations, or its own figure."""
    rows = samples[(samples["impl"] == impl) & (samples["metric"] == metric)]
    if rows.empty:
        return []
    values = pd.to_numeric(rows["value"], errors="coerce")
    if METRICS.get(metric) is not None and METRICS[metric].scope == "case":
        return [float(v) for v in values.dropna()]
    return [float(v) for v in values.groupby(rows["process"]).median().dropna()]


def _toolchain_of(meta: Mapping[str, Any], impl: str) -> str:
    return str((meta.get("toolchains") or {}).get(impl, ""))


@dataclass
class Confirmer:
    """Measures candidates A/B for one nightly; `measure` is called once per case with a candidate."""

    catalog: Catalog
    executor: Executor
    results: Path
    run_id: str
    folder: Path  # today's run folder
    profile: str
    cpus: tuple[int, ...]
    console: Console
    builds: BuildStore
    seed: int = 0

    def measure(self, case: CaseKey, last_good: str, first_bad: str, metrics: Sequence[str],
                asked: Mapping[str, tuple[float, float]] | None = None, confidence: float = CONFIDENCE) -> ABRecord:
        """The A/B of `case` for `metrics`, intervals at `confidence`; `asked`: metric -> (the candidate's change,
        its floor), which decide when to stop: rounds of AB_PROCESSES a side run until every asked metric's
        interval lies beyond its floor or cannot reach it, at most AB_ROUNDS."""
        began = time.perf_counter()
        if self.executor.name != "native":
            why = f"the A/B runs kept builds natively; this nightly ran with --executor {self.executor.name}"
            return self._record(case, last_good, first_bad, began, {}, why)
        old = self.builds.lookup(last_good, case.impl)
        new = self.builds.lookup(self.run_id, case.impl)
        today = _toolchain_of(load_run(self.folder), case.impl)
        if old is None:
            return self._record(case, last_good, first_bad, began, {},
                                f"the build of run {last_good} is not kept (older than the build store, or evicted)")
        if old.toolchain != today:
            return self._record(case, last_good, first_bad, began, {},
                                f"the old build cannot be had: the toolchain changed ({old.toolchain} -> {today})",
                                (old.toolchain, today))
        if new is None:
            return self._record(case, last_good, first_bad, began, {}, f"today's build of {case.impl} was not kept")
        self.builds.touch(old.key)
        frames: list[pd.DataFrame] = []
        found: dict[str, tuple] = {}
        for k in range(AB_ROUNDS):
            try:
                frames.append(self._run(case, old.path, last_good, first_bad, k))
            except UserError as e:
                return self._record(case, last_good, first_bad, began, {}, f"the A/B could not be run: {e}")
            samples = pd.concat(frames, ignore_index=True)
            found = {}
            for m in metrics:
                a, b = per_process(samples, case.impl + OLD, m), per_process(samples, case.impl, m)
                ci = ratio_interval(a, b, confidence)
                found[m] = (*(ci if ci else (None, None, None)), min(len(a), len(b)))
            if all(_decided(found.get(m), change, floor) for m, (change, floor) in (asked or {}).items()):
                break
        return self._record(case, last_good, first_bad, began, found, "", confidence=confidence)

    def _record(self, case: CaseKey, last_good: str, first_bad: str, began: float,
                metrics: Mapping[str, tuple], why: str, toolchain: tuple[str, str] | None = None,
                confidence: float = CONFIDENCE) -> ABRecord:
        rec = ABRecord(case, last_good, first_bad, self.run_id, time.perf_counter() - began, dict(metrics), why,
                       toolchain, confidence)
        out = self.folder / CONFIRM_DIR / f"{case.slug}-{last_good}-{first_bad}"
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / RECORD, json.dumps(rec.to_dict(), indent=1) + "\n")
        return rec

    def _run(self, case: CaseKey, old_path: Path, last_good: str, first_bad: str, round_: int = 0) -> pd.DataFrame:
        """Run today's build and the kept old one as one interleaved unit; the samples of both."""
        impl = self.catalog.impls.get(case.impl)
        workload = self.catalog.workloads.get(case.workload)
        if impl is None or workload is None:
            raise UserError(f"{case.impl} or {case.workload} is no longer in the catalog")
        new_impl = replace(impl, variants=tuple(v for v in impl.variants if v.name == case.variant))
        old_impl = replace(new_impl, id=impl.id + OLD, model=impl.model + OLD, path=old_path, build=())
        plan = make_plan(self.catalog, self.executor, [new_impl], [workload], profile=self.profile, cpus=self.cpus,
                         results=self.results)
        specs = [s for s in plan.cases if s.case == case.case and s.variant == case.variant and not s.status]
        if not specs:
            raise UserError(f"{case.workload}[{case.case}] is no longer planned for {case.impl}")
        spec = specs[0]
        if spec.pending:  # the size the nightly ran at, from its run.json
            ran = next((c for c in load_run(self.folder).get("cases") or []
                        if isinstance(c, dict) and c.get("workload") == case.workload and c.get("impl") == case.impl
                        and c.get("case") == case.case), None)
            value = ((ran or {}).get("params") or {}).get(spec.calibrate)
            if not isinstance(value, int):
                raise UserError(f"{case.workload}[{case.case}]: the size today's run measured is not recorded")
            spec = spec.sized(value, spec.calibrated_for or "a/b")
        spec = replace(spec, processes=max(AB_PROCESSES, 2 * spec.processes), max_processes=0,
                       iterations=max(AB_ITERATIONS, spec.iterations), max_iterations=0, budget=0.0, precision=0.0,
                       reach=0.0)
        twin = replace(spec, impl=old_impl.id, model=old_impl.model)
        ab = Catalog(self.catalog.root, {workload.name: workload}, {new_impl.id: new_impl, old_impl.id: old_impl})
        out = self.folder / CONFIRM_DIR / f"{case.slug}-{last_good}-{first_bad}" / f"round-{round_ + 1}"
        quiet = Console(_Discard())
        outcome = run_plan(Plan(self.profile, self.executor.name, self.cpus, (spec, twin)), ab, self.executor,
                           RunOptions(out=out, seed=self.seed + round_, results=out), console=quiet)
        if outcome.interrupted:  # the runner kept the round's processes and stopped: so does the nightly
            raise KeyboardInterrupt
        bad = [r for r in outcome.results if r.status != "ok"]
        if bad:
            raise UserError(f"{bad[0].key.impl}: {bad[0].status}: {bad[0].error}")
        samples = read_samples(out / "results.csv", str(load_run(out)["run_id"]))
        return samples.assign(process=f"{round_}:" + samples["process"].astype(str))


def _decided(found: tuple | None, change: float, floor: float) -> bool:
    """Whether an interval settles a candidate: beyond its floor the way it went, or short of it."""
    if not found or found[1] is None:
        return False
    _, low, high, _ = found
    return interval_decides(low, high, change, floor)


class _Discard:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def confirm_with(confirmer: Confirmer, config: DetectionConfig, console: Console) -> Confirm:
    """The `confirm` step of reports/history/alerts.py `run_triage`: one A/B per case (and change) with candidates,
    every interval at the level that keeps the night's candidates at 95% together."""
    def confirm(candidates: Sequence[Change]) -> dict[tuple[SeriesKey, str], Confirmation]:
        level = family_confidence(len(candidates))
        groups: dict[tuple[CaseKey, str, str], list[Change]] = {}
        for c in candidates:
            groups.setdefault((CaseKey.of(c.series), c.last_good.run_id, c.first_bad.run_id), []).append(c)
        out = {}
        for (case, good, bad), found in groups.items():
            metrics = sorted({m for m in METRICS if alert_floor(m) is not None} | {c.series.metric for c in found})
            console.say(f"nightly: A/B {case.workload}[{case.case}] {case.impl}: the build of run {good} against "
                        f"today's ({len(found)} candidate(s): {', '.join(c.series.metric for c in found)})")
            asked = {c.series.metric: (c.change, max(config.min_change, alert_floor(c.series.metric) or 0.0))
                     for c in found}
            rec = confirmer.measure(case, good, bad, metrics, asked, level)
            for c in found:
                conf = rec.confirmation(c.series.metric, c.change,
                                        max(config.min_change, alert_floor(c.series.metric) or 0.0))
                out[(c.series, c.first_bad.run_id)] = conf
                console.say(f"nightly:   {c.series.metric} {c.change * 100:+.1f}%: {conf.text()}")
        return out
    return confirm


def keep_builds(store: BuildStore, catalog: Catalog, run_id: str, folder: Path, console: Console) -> None:
    """Keep the build of every implementation the run measured (native builds: the folder is what ran)."""
    meta = load_run(folder)
    ran = {str(c.get("impl")) for c in meta.get("cases") or [] if isinstance(c, dict)}
    for impl_id in sorted(ran):
        impl = catalog.impls.get(impl_id)
        if impl is None:
            continue
        kept = store.keep(run_id, impl_id, impl.path, _toolchain_of(meta, impl_id))
        if isinstance(kept, str):
            console.say(f"nightly: {kept}")
