"""Reading what the store wrote: run.json and results.csv of one or more runs, into pandas.

`load_results` validates every file once and returns a `Results`: the runs (metadata and case
outcomes, oldest first) and one tidy sample table. `summarize` turns samples into one row per
(run, workload, case, implementation, metric) with the median, the interquartile range and the
instability flag of harness/stats.py, so the site and the terminal agree on both.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import UserError
from harness.http.bound import is_bound
from harness.stats import summarize as summarize_values
from harness.store import RESULTS_COLUMNS, load_run
from harness.vocab import PLACEMENT_PARAMS, params_text, parse_params
from harness.vocab import impl_label as implementation_label

DIRECTIONS = ("lower", "higher", "info")
OK = "ok"
# Columns that identify what a sample measures (everything but process, iteration and value).
KEY = ["run_id", "workload", "case", "impl", "variant", "metric"]
SUMMARY_COLUMNS = [
    "run_id", "workload", "case", "impl", "variant", "implementation", "language", "model", "params",
    "metric", "unit", "direction", "n", "median", "q1", "q3", "low", "high", "spread", "unstable",
]


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
                "status", "error", "flags", "bound", "params"]


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
        rows.append({
            "run_id": run_id, "workload": str(c["workload"]), "case": str(c["case"]), "impl": str(c["impl"]),
            "variant": variant, "implementation": implementation_label(str(c["impl"]), variant),
            "language": str(c.get("language", "")), "model": str(c.get("model", "")),
            "status": str(c["status"]), "error": str(c.get("error") or ""),
            "flags": "; ".join(str(f) for f in c.get("flags") or ()),
            "bound": c.get("status") == OK and is_bound([str(f) for f in c.get("flags") or ()]),
            "params": params_text(params) if isinstance(params, dict) else str(params),
        })
    return pd.DataFrame(rows, columns=CASE_COLUMNS)


def _read_samples(path: Path, run_id: str) -> pd.DataFrame:
    try:
        with path.open(encoding="utf-8", newline="") as f:
            header = next(csv.reader(f), [])
    except FileNotFoundError:
        raise UserError(f"{path}: not found; pass a folder written by `cmbench run`") from None
    missing = [c for c in RESULTS_COLUMNS if c not in header]
    if missing:
        raise UserError(f"{path}: column '{missing[0]}' is missing; expected the header "
                        f"{','.join(RESULTS_COLUMNS)} (a results.csv written by `cmbench run`)")
    text_columns = [c for c in RESULTS_COLUMNS if c not in ("process", "iteration", "value")]
    frame = pd.read_csv(path, dtype={c: str for c in text_columns + ["process", "iteration", "value"]},
                        keep_default_na=False, usecols=list(RESULTS_COLUMNS))
    values = pd.to_numeric(frame["value"], errors="coerce")
    bad = values.isna()
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise UserError(f"{path}: line {i + 2}: value {frame['value'].iloc[i]!r} is not a number; "
                        "the file is damaged, run the case again")
    frame["value"] = values.astype(float)
    for col in ("process", "iteration"):
        frame[col] = pd.to_numeric(frame[col].replace("", None), errors="coerce")
    bad_dir = ~frame["direction"].isin(DIRECTIONS)
    if bad_dir.any():
        i = int(bad_dir.to_numpy().nonzero()[0][0])
        raise UserError(f"{path}: line {i + 2}: direction {frame['direction'].iloc[i]!r} is not one of "
                        f"{', '.join(DIRECTIONS)}")
    other = frame.loc[frame["run_id"] != run_id, "run_id"]
    if len(other):
        raise UserError(f"{path}: holds rows of run {other.iloc[0]!r}, but run.json says {run_id!r}; "
                        "keep each run in its own folder")
    frame["variant"] = frame["variant"].replace("", "default")
    frame["implementation"] = [implementation_label(i, v) for i, v in zip(frame["impl"], frame["variant"])]
    return frame


def load_run_folder(folder: Path) -> tuple[Run, pd.DataFrame]:
    meta = load_run(folder)
    if "run_id" not in meta:
        raise UserError(f"{folder / 'run.json'}: has no run_id; the file is damaged")
    run_id = str(meta["run_id"])
    cases = meta.get("cases") or []
    if not isinstance(cases, list):
        raise UserError(f"{folder / 'run.json'}: 'cases' is not a list; the file is damaged")
    run = Run(folder, {k: v for k, v in meta.items() if k != "cases"},
              _cases_frame(run_id, cases, folder / "run.json"))
    samples_path = folder / "results.csv"
    if samples_path.exists():
        samples = _read_samples(samples_path, run_id)
    elif cases and any(c.get("status") == OK for c in cases):
        raise UserError(f"{samples_path}: not found, but run.json lists finished cases; copy the whole run folder")
    else:
        samples = pd.DataFrame(columns=[*RESULTS_COLUMNS, "implementation"])
    return run, samples


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


def load_results(folders: Sequence[Path]) -> Results:
    """Load and validate runs; they are ordered by start time (then id)."""
    if not folders:
        raise UserError("no runs to read: run `cmbench run` first, or name run folders")
    loaded = [load_run_folder(Path(f)) for f in folders]
    seen: dict[str, Path] = {}
    for run, _ in loaded:
        if run.run_id in seen:
            raise UserError(f"run {run.run_id} appears twice ({seen[run.run_id]} and {run.path}); pass it once")
        seen[run.run_id] = run.path
    loaded.sort(key=lambda pair: (pair[0].started, pair[0].run_id))
    frames = [s for _, s in loaded if len(s)]
    samples = (pd.concat(frames, ignore_index=True) if frames
               else pd.DataFrame(columns=[*RESULTS_COLUMNS, "implementation"]))
    return Results(tuple(r for r, _ in loaded), samples)


def summarize(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, workload, case, implementation, metric): n, median, quartiles, flag.

    The quartiles, the spread and the instability rule are harness/stats.py's, so a case the
    terminal flagged is flagged here too.
    """
    if samples.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    rows = []
    first = ["implementation", "language", "model", "params", "unit", "direction"]
    for key, group in samples.groupby(KEY, sort=False):
        s = summarize_values(group["value"].tolist())
        head = group.iloc[0]
        rows.append({**dict(zip(KEY, key)), **{c: head[c] for c in first}, "n": s.n, "median": s.median,
                     "q1": s.q1, "q3": s.q3, "low": s.low, "high": s.high, "spread": s.spread,
                     "unstable": s.unstable})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


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
