"""Reading results.csv into a tidy pandas table, and summarising its samples per case and metric.

The one reader and the one summary of stored samples: the history store (reports/history/store.py)
and the reports (reports/data.py) both call these, so a median, a quartile or an instability
flag is computed the same way everywhere, by harness/measure/stats.py.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import UserError
from harness.measure.stats import Summary, summarize
from harness.store.run import RESULTS_COLUMNS
from harness.vocab import impl_label

DIRECTIONS = ("lower", "higher", "info")
# Columns that identify what a sample measures (everything but process, iteration and value).
KEY = ["run_id", "workload", "case", "impl", "variant", "metric"]
SUMMARY_COLUMNS = [
    "run_id", "workload", "case", "impl", "variant", "implementation", "language", "model", "params",
    "metric", "unit", "direction", "n", "median", "q1", "q3", "low", "high", "spread", "unstable",
]


def empty_samples() -> pd.DataFrame:
    return pd.DataFrame(columns=[*RESULTS_COLUMNS, "implementation"])


def damaged(path: Path, why: str) -> UserError:
    return UserError(f"{path}: damaged ({why}); run the cases again, or leave this run out")


def read_samples(path: Path, run_id: str) -> pd.DataFrame:
    """results.csv of run `run_id`, validated: UTF-8, whole (the store ends it with a newline), every row
    with its cells, typed values, known directions, one run only. A damaged file is a UserError naming it."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            header = next(csv.reader(f), [])
    except FileNotFoundError:
        raise UserError(f"{path}: not found; pass a folder written by `cmbench run`") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise damaged(path, f"not UTF-8 CSV: {e}") from None
    with path.open("rb") as f:  # the store ends the file with a newline: without one, it was cut short
        if f.seek(0, os.SEEK_END):
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                raise damaged(path, "cut short: its last line has no end")
    missing = [c for c in RESULTS_COLUMNS if c not in header]
    if missing:
        raise UserError(f"{path}: column '{missing[0]}' is missing; expected the header "
                        f"{','.join(RESULTS_COLUMNS)} (a results.csv written by `cmbench run`)")
    try:
        # every column read, so that a row with a cell too many is an error rather than shifted values
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")[list(RESULTS_COLUMNS)]
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as e:
        raise damaged(path, str(e).strip().split("\n")[-1][:200]) from None
    short = frame["value"].eq("")
    if short.any():
        i = int(short.to_numpy().nonzero()[0][0])
        raise damaged(path, f"line {i + 2} is cut short")
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
    labels = {(i, v): impl_label(i, v) for i, v in set(zip(frame["impl"], frame["variant"]))}
    frame["implementation"] = [labels[k] for k in zip(frame["impl"], frame["variant"])]
    return frame


def summarize_rows(rows: pd.DataFrame) -> Summary:
    """`summarize` of rows of results.csv (one case's, one metric's), each process weighing 1."""
    return summarize(rows["value"].tolist(), rows["process"].tolist())


def summarize_samples(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, workload, case, implementation, metric): n, median, quartiles, flag.

    The quartiles, the spread and the instability rule are harness/measure/stats.py's `summarize`, called
    once per group with each sample's process (every process weighs 1 in a median and quartiles), so a case
    the terminal flagged is flagged here too.
    """
    if samples.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    first = ["implementation", "language", "model", "params", "unit", "direction"]
    values = samples["value"].to_numpy(dtype=float)
    processes = samples["process"].to_numpy(dtype=object)
    heads = samples[first].to_numpy(dtype=object)
    rows = []
    # Group positions only (no sub-frames): the cost is one summarize per group.
    for key, positions in samples.groupby(KEY, sort=False).indices.items():
        s = summarize(values[positions].tolist(), processes[positions].tolist())
        rows.append((*key, *heads[positions[0]], s.n, s.median, s.q1, s.q3, s.low, s.high, s.spread, s.unstable))
    order = [*KEY, *first, "n", "median", "q1", "q3", "low", "high", "spread", "unstable"]
    frame = pd.DataFrame(rows, columns=order)[SUMMARY_COLUMNS]
    frame["n"] = frame["n"].astype(np.int64)
    frame["unstable"] = frame["unstable"].astype(bool)
    return frame
