"""Reading what the store wrote: run.json and results.csv of one or more runs, into pandas.

`load_results` validates every file once and returns a `Results`: the runs (metadata and case
outcomes, oldest first) and one tidy sample table. A damaged file is a UserError naming it; given
a `damaged` list, it is noted there instead and the rest is read (a folder whose run.json is
damaged is left out, one whose results.csv is damaged keeps its case outcomes without figures),
which is how `cmbench report` still renders every run it can. `summarize` (reports/samples.py) turns samples
into one row per (run, workload, case, implementation, metric) with the median, the interquartile
range and the instability flag of harness/measure/stats.py, so the site, the terminal and the history
store agree on all three.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import UserError
from harness.kinds.server.bound import is_bound
from harness.store.run import load_run
from harness.vocab import PLACEMENT_PARAMS, params_text, parse_params
from harness.vocab import impl_label as implementation_label

# Re-exported: the reports' names for the one sample reader and summary, which live in the harness.
from reports.samples import DIRECTIONS as DIRECTIONS
from reports.samples import KEY as KEY
from reports.samples import SUMMARY_COLUMNS as SUMMARY_COLUMNS
from reports.samples import empty_samples, read_samples, summarize_samples

OK = "ok"
summarize = summarize_samples


def label_parts(label: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """`closed,connections=64` -> (("closed",), {"connections": "64"}): bare words and parameters."""
    words = tuple(p.strip() for p in str(label).split(",") if p.strip() and "=" not in p)
    return words, parse_params(label)


@dataclass(frozen=True, eq=False)
class Run:
    """One run folder: its metadata (run.json without the cases) and its case outcomes."""

    path: Path
    meta: Mapping[str, Any]
    cases: pd.DataFrame  # one row per case outcome, failures included

    @property
    def run_id(self) -> str:
        return str(self.meta["run_id"])

    @property
    def started(self) -> str:
        return str(self.meta.get("started") or "")

    @property
    def host(self) -> Mapping[str, Any]:
        return self.meta.get("host") or {}


@dataclass(frozen=True, eq=False)
class Results:
    """Runs (oldest first) and all their samples in one tidy table."""

    runs: tuple[Run, ...]
    samples: pd.DataFrame

    @property
    def latest(self) -> Run:
        return self.runs[-1]

    def run(self, run_id: str) -> Run:
        for r in self.runs:
            if r.run_id == run_id:
                return r
        raise KeyError(run_id)

    def samples_of(self, run_id: str) -> pd.DataFrame:
        return self.samples[self.samples["run_id"] == run_id]


CASE_COLUMNS = ["run_id", "workload", "case", "impl", "variant", "implementation", "language", "model",
                "status", "error", "flags", "flag_list", "bound", "params", "extra", "host", "layout",
                "loadgen_host"]


def _cases_frame(run_id: str, cases: Sequence[Mapping[str, Any]], path: Path) -> pd.DataFrame:
    rows = []
    for i, c in enumerate(cases):
        if not isinstance(c, dict):
            raise UserError(f"{path}: cases[{i}] is not an object; the file is damaged, run the case again")
        missing = [k for k in ("workload", "case", "impl", "status") if k not in c]
        if missing:
            raise UserError(f"{path}: cases[{i}] has no '{missing[0]}'; the file is damaged, run the case again")
        variant = str(c.get("variant") or "default")
        params = c.get("params") or {}
        extra = c.get("extra") if isinstance(c.get("extra"), dict) else {}
        rows.append({
            "run_id": run_id, "workload": str(c["workload"]), "case": str(c["case"]), "impl": str(c["impl"]),
            "variant": variant, "implementation": implementation_label(str(c["impl"]), variant),
            "language": str(c.get("language", "")), "model": str(c.get("model", "")),
            "status": str(c["status"]), "error": str(c.get("error") or ""),
            "flags": "; ".join(str(f) for f in c.get("flags") or ()),
            "flag_list": tuple(str(f) for f in c.get("flags") or ()),  # each flag whole (a flag may hold "; ")
            "bound": c.get("status") == OK and is_bound([str(f) for f in c.get("flags") or ()]),
            "params": params_text(params) if isinstance(params, dict) else str(params), "extra": extra,
            "host": str(c.get("host") or ""), "layout": str(extra.get("layout") or ""),
            "loadgen_host": str(extra.get("loadgen_host") or ""),
        })
    return pd.DataFrame(rows, columns=CASE_COLUMNS)


def load_run_folder(folder: Path, *, samples: bool = True, damaged: list[str] | None = None,
                    ) -> tuple[Run, pd.DataFrame]:
    """A run's metadata and case outcomes, and its samples (an empty table when `samples` is false).

    A damaged results.csv is noted in `damaged` (when given) and read as no samples."""
    meta = load_run(folder)
    if "run_id" not in meta:
        raise UserError(f"{folder / 'run.json'}: has no run_id; the file is damaged")
    run_id = str(meta["run_id"])
    cases = meta.get("cases") or []
    if not isinstance(cases, list):
        raise UserError(f"{folder / 'run.json'}: 'cases' is not a list; the file is damaged")
    run = Run(folder, {k: v for k, v in meta.items() if k != "cases"},
              _cases_frame(run_id, cases, folder / "run.json"))
    return run, _run_samples(run, damaged) if samples else empty_samples()


def _run_samples(run: Run, damaged: list[str] | None = None) -> pd.DataFrame:
    path = run.path / "results.csv"
    try:
        if path.exists():
            return _listed_only(read_samples(path, run.run_id), run.cases, path, damaged)
        if (run.cases["status"] == OK).any():
            raise UserError(f"{path}: not found, but run.json lists finished cases; copy the whole run folder")
    except UserError as e:
        if damaged is None:
            raise
        damaged.append(f"{e}; showing the run's case outcomes without figures")
    return empty_samples()


def _listed_only(samples: pd.DataFrame, cases: pd.DataFrame, path: Path, notes: list[str] | None) -> pd.DataFrame:
    """The rows of cases run.json lists; others (a write cut short between the two files) are dropped."""
    if samples.empty:
        return samples
    listed = pd.MultiIndex.from_frame(cases[["workload", "case", "impl", "variant"]])
    keys = pd.MultiIndex.from_frame(samples[["workload", "case", "impl", "variant"]])
    stray = ~keys.isin(listed)
    if stray.any():
        first = samples[stray].iloc[0]
        if notes is not None:
            notes.append(f"{path}: {int(stray.sum())} row(s) of cases run.json does not list (the first: "
                         f"{first['workload']}[{first['case']}] {first['implementation']}); left out")
        samples = samples[~stray]
    return samples


def find_runs(results_dir: Path) -> list[Path]:
    """Every run folder (one holding run.json) directly under `results_dir`."""
    if not results_dir.is_dir():
        return []
    return sorted(p for p in results_dir.iterdir() if (p / "run.json").is_file())


def resolve_run_paths(args: Iterable[str], results_dir: Path, flag: str = "RUN_DIR") -> list[Path]:
    """Each argument is a run folder, or the id of a run under results/."""
    out = []
    for arg in args:
        path = Path(arg)
        if not (path / "run.json").is_file() and (results_dir / arg / "run.json").is_file():
            path = results_dir / arg
        if not path.is_dir():
            raise UserError(f"{flag} {arg}: no such folder (nor a run id under {results_dir})")
        if not (path / "run.json").is_file():
            raise UserError(f"{flag} {arg}: holds no run.json; pass a folder written by `cmbench run`")
        out.append(path)
    return out


def load_results(folders: Sequence[Path], damaged: list[str] | None = None, *,
                 sample_runs: int | None = None) -> Results:
    """Load and validate runs; they are ordered by start time (then id).

    A damaged file is a UserError; with a `damaged` list, it is noted there and the rest is read.
    `sample_runs`: read the samples (results.csv) of only the newest so many runs; the others
    contribute their metadata and case outcomes (the history store holds their summaries).
    """
    if not folders:
        raise UserError("no runs to read: run `cmbench run` first, or name run folders")
    loaded = []
    for f in folders:
        try:
            loaded.append(load_run_folder(Path(f), samples=sample_runs is None, damaged=damaged))
        except UserError as e:
            if damaged is None:
                raise
            damaged.append(f"{e}; this run is left out")
    if not loaded:
        raise UserError(f"no run could be read: {damaged[0] if damaged else 'none given'}")
    seen: dict[str, Path] = {}
    for run, _ in loaded:
        if run.run_id in seen:
            raise UserError(f"run {run.run_id} appears twice ({seen[run.run_id]} and {run.path}); pass it once")
        seen[run.run_id] = run.path
    loaded.sort(key=lambda pair: (pair[0].started, pair[0].run_id))
    if sample_runs is not None:
        newest = loaded[len(loaded) - sample_runs:] if sample_runs > 0 else []
        loaded[len(loaded) - len(newest):] = [(run, _run_samples(run, damaged)) for run, _ in newest]
    frames = [s for _, s in loaded if len(s)]
    samples = pd.concat(frames, ignore_index=True) if frames else empty_samples()
    return Results(tuple(r for r, _ in loaded), samples)


def implementation_order(labels: Iterable[str]) -> list[str]:
    """Implementations sorted by id, each default before its variants."""
    def key(label: str) -> tuple[str, int, str]:
        impl, _, variant = label.partition(":")
        return impl, 1 if variant else 0, variant
    return sorted(set(labels), key=key)


def case_order(run: Run, samples: pd.DataFrame) -> list[tuple[str, str]]:
    """(workload, case) pairs in the order the run stored them, then any found only in samples."""
    seen: dict[tuple[str, str], None] = {}
    for w, c in zip(run.cases["workload"], run.cases["case"]):
        seen.setdefault((w, c), None)
    for w, c in zip(samples["workload"], samples["case"]):
        seen.setdefault((w, c), None)
    return list(seen)


def short_case_labels(cases: Sequence[str]) -> dict[str, str]:
    """Each case label cut to the parameters that differ between `cases` (all of it if none differ).

    Labels with bare words (`closed,connections=64`, the server phases) are short already and kept.
    """
    if any(label_parts(c)[0] for c in cases):
        return {c: c for c in cases}
    parsed = {c: parse_params(c) for c in cases}
    keys = [k for k in dict.fromkeys(k for p in parsed.values() for k in p)
            if len({p.get(k) for p in parsed.values()}) > 1]
    if not keys:
        return {c: c for c in cases}
    return {c: ",".join(f"{k}={p[k]}" for k in keys if k in p) or c for c, p in parsed.items()}


def ran_params(params_text: str) -> dict[str, str]:
    """The workload parameters a case ran with (without cpus and executor)."""
    return {k: v for k, v in parse_params(params_text).items() if k not in PLACEMENT_PARAMS}
