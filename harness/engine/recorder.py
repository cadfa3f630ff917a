"""The controller's part of a run: one run folder, each finished case stored as it comes, progress and tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.catalog import Catalog
from harness.console import Console
from harness.engine.host import HostReport, Measured, status_result
from harness.host.info import environment_fingerprint
from harness.kinds import by_kind, kind_of
from harness.measure.interrupts import signals_deferred
from harness.measure.metrics import Row
from harness.measure.outcome import CaseKey, CaseResult
from harness.plan.spec import CaseSpec, Plan
from harness.store.run import RunStore, new_run_id
from harness.vocab import Status, fmt_duration


@dataclass
class RunOutcome:
    results: list[CaseResult] = field(default_factory=list)
    rows: dict[CaseKey, list[Row]] = field(default_factory=dict)
    interrupted: bool = False
    out: Path | None = None
    stopped: str = ""  # why an interrupted run stopped when it was not the user (the scheduler went away, ...)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if r.failed]


@dataclass
class _Progress:
    """Cases done, and the time left: the plan's estimates, scaled by how the finished ones compared."""

    plan: Plan
    done: int = 0
    estimated_done: float = 0.0
    taken: float = 0.0
    # seconds until the run's time limit passes (kinds/batch/bank.py), which ends the rounds beyond the minimum
    until_limit: Callable[[], float | None] = lambda: None

    def eta(self, spec: CaseSpec, seconds: float) -> str:
        self.estimated_done += spec.estimate
        self.taken += seconds
        left = self.plan.estimate - self.estimated_done
        if left <= 0 or self.estimated_done <= 0:
            return ""
        prior = self.plan.estimate / 10
        pace = (self.taken + prior) / (self.estimated_done + prior)
        until = self.until_limit()
        if until is not None and 0 < until < left * pace:
            return f"about {fmt_duration(until)} left to the time limit"
        return f"about {fmt_duration(left * pace)} left"


class Recorder:
    """Stores every finished case of a plan through one RunStore and prints its progress line.

    Hosts are noted as they report (`hosts` in run.json); the first one's toolchains, builds and
    run-level measurements are also the run's (every host of a run has the same toolchains).
    """

    def __init__(self, plan: Plan, catalog: Catalog, store: RunStore, console: Console) -> None:
        self.plan = plan
        self.catalog = catalog
        self.store = store
        self.console = console
        self.specs = {s.key: s for s in plan.cases}
        self.outcome = RunOutcome(out=store.out)
        self.progress = _Progress(plan)
        store.meta.setdefault("hosts", {})

    @classmethod
    def start(cls, plan: Plan, catalog: Catalog, *, out: Path | None, console: Console,
              meta: Mapping[str, Any]) -> Recorder:
        """A new run folder (default results/<run-id>) whose run.json says what the run is."""
        run_id = new_run_id()
        out = out or catalog.root / "results" / run_id
        store = RunStore.create(out, run_id, {"profile": plan.profile, "executor": plan.executor,
                                              "cpus": list(plan.cpus), **meta, "plan": plan.summary()},
                                say=console.say)
        return cls(plan, catalog, store, console)

    @property
    def recorded(self) -> set[CaseKey]:
        return set(self.outcome.rows)

    def note_host(self, report: HostReport) -> None:
        meta = self.store.meta
        builds = {k: {"status": v.status, "seconds": round(v.build_seconds, 2), "error": v.message}
                  for k, v in report.ready.items()}
        if not meta["hosts"]:
            meta.setdefault("host", dict(report.metadata))
            # a cluster run's environment is its hosts' (a local run set it from this host already)
            meta.setdefault("environment_fingerprint", environment_fingerprint({**meta, "host": report.metadata}))
            meta["toolchains"] = {k: v.version for k, v in report.ready.items()}
            meta["builds"] = builds
            meta.update(report.measured)
        meta["hosts"][report.name] = {**report.metadata, "builds": builds, "measured": dict(report.measured)}
        self.store.flush()

    def record(self, measured: Measured, host: str = "") -> None:
        result = measured.result
        planned = self.specs[result.key]
        spec = measured.spec or planned  # with the size it ran at, where calibrated
        rows = list(kind_of(result.kind).rows(result, self.catalog.workloads[spec.workload]))
        self.store.add(result, rows, spec, {**measured.provenance, "host": host})  # "": no host measured it
        self.outcome.results.append(result)
        self.outcome.rows[result.key] = rows
        self.progress.done += 1
        figures = kind_of(result.kind).progress(result) if result.status == Status.OK else ""
        eta = self.progress.eta(planned, result.seconds)
        self.console.case_done(self.progress.done, len(self.plan.cases), result, figures, eta,
                               host=host if len(self.store.meta["hosts"]) > 1 else "")

    def not_run(self, why: str) -> int:
        """Store every planned case that has no result yet as `not_run` (why: the run stopped first); how many.

        They go to run.json only: the terminal's tables and the run's failures are the cases that ran."""
        left = [s for s in self.plan.cases if s.key not in self.outcome.rows]
        for spec in left:
            result = status_result(spec, Status.NOT_RUN.value, why)
            self.store.add(result, [], spec, {"host": ""}, flush=False)
            self.outcome.rows[result.key] = []
        if left:
            self.store.flush()
            self.console.say(f"{len(left)} case(s) not run: {why}")
        return len(left)

    def finish(self, status: str, stopped: str = "") -> RunOutcome:
        """Close the run (`complete` or `interrupted`), print each kind's table and where the results are."""
        self.outcome.interrupted = status != "complete"
        self.outcome.stopped = stopped
        if stopped:
            self.store.meta["stopped"] = stopped
        with signals_deferred():  # a signal now waits until run.json says how the run ended
            self.store.finish(status)
        results = self.outcome.results
        tables = [kind_of(kind).table(rs, self.outcome.rows) for kind, rs in by_kind(results).items()]
        text = "\n\n".join(t for t in tables if t)
        if text:
            print(text)
        self.console.say(f"results: {self.store.out}")
        return self.outcome
