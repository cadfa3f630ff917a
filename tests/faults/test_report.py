"""Damaged run folders: `cmbench report` names each damaged file and renders everything else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .conftest import cmbench, fault, one_line_error

pytestmark = pytest.mark.integration

GOOD_RUN = Path(__file__).resolve().parents[1] / "fixtures" / "reports" / "run-a"
GOOD_ID = "20260101T000000Z"


def _copy(dest: Path, run_id: str) -> Path:
    """The fixture run under a new run id (so that several copies can be reported together)."""
    dest.mkdir(parents=True)
    for name in ("run.json", "results.csv"):
        text = (GOOD_RUN / name).read_text(encoding="utf-8")
        (dest / name).write_text(text.replace(GOOD_ID, run_id), encoding="utf-8")
    return dest


def _truncate_csv(folder: Path) -> None:
    data = (folder / "results.csv").read_bytes()
    (folder / "results.csv").write_bytes(data[: len(data) - 40])  # in the middle of the last row


def _not_utf8(folder: Path) -> None:
    data = (folder / "results.csv").read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    (folder / "results.csv").write_bytes(data[:cut] + b"\xff\xfe\xfa garbage\n" + data[cut:])


def _extra_cell(folder: Path) -> None:
    lines = (folder / "results.csv").read_text(encoding="utf-8").split("\n")
    lines[5] += ",surplus"
    (folder / "results.csv").write_text("\n".join(lines), encoding="utf-8")


def _truncate_run_json(folder: Path) -> None:
    data = (folder / "run.json").read_bytes()
    (folder / "run.json").write_bytes(data[: len(data) // 2])


def _stray_rows(folder: Path) -> None:
    """results.csv holds rows of a case run.json does not list (a write cut short between the two)."""
    lines = (folder / "results.csv").read_text(encoding="utf-8").rstrip("\n").split("\n")
    stray = [line.replace("go/goroutines,go,goroutines", "c/ghost,c,ghost") for line in lines[1:4]]
    (folder / "results.csv").write_text("\n".join([*lines, *stray]) + "\n", encoding="utf-8")


# fault kind -> (how to damage a copy, the file the warning names, a piece of the warning)
DAMAGE = {
    "results-csv-truncated": (_truncate_csv, "results.csv", "cut short: its last line has no end"),
    "results-csv-not-utf8": (_not_utf8, "results.csv", "'utf-8' codec can't decode"),
    "results-csv-extra-cell": (_extra_cell, "results.csv", "Expected 15 fields"),
    "run-json-truncated": (_truncate_run_json, "run.json", "not valid JSON"),
    "rows-without-a-case": (_stray_rows, "results.csv", "3 row(s) of cases run.json does not list"),
}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    base = tmp_path_factory.mktemp("damaged")
    folders = {"intact": _copy(base / "intact", "20260102T000000Z")}
    for i, (kind, (damage, _, _)) in enumerate(DAMAGE.items()):
        folders[kind] = _copy(base / kind, f"2026010{3 + i}T000000Z")
        damage(folders[kind])
    site = base / "site"
    r = cmbench("report", *map(str, folders.values()), "--out", str(site), name="report")
    return r, folders, site


@fault(*DAMAGE)
@pytest.mark.parametrize("kind", list(DAMAGE))
def test_each_damaged_file_is_named_in_a_warning(report, kind):
    r, folders, _ = report
    _, name, needle = DAMAGE[kind]
    warnings = [line for line in r.stderr.split("\n") if line.startswith(f"cmbench: warning: {folders[kind] / name}")]
    assert len(warnings) == 1, r.stderr
    assert needle in warnings[0], warnings[0]


def test_the_rest_is_rendered(report):
    r, _, site = report
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "report: 5 run(s)" in r.stderr  # the one whose run.json is damaged is left out
    assert r.stdout.strip() == str(site / "index.html") and (site / "index.html").exists()


@fault("every-run-damaged")
def test_nothing_readable_is_one_line(tmp_path):
    folder = _copy(tmp_path / "only", "20260109T000000Z")
    _truncate_run_json(folder)
    r = cmbench("report", str(folder), "--out", str(tmp_path / "site"), name="report-none")
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().split("\n")[-1].startswith(f"cmbench: error: no run could be read: {folder / 'run.json'}")


@fault("run-json-not-utf8")
def test_run_json_that_is_not_utf8_is_one_line(tmp_path):
    folder = _copy(tmp_path / "latin", "20260110T000000Z")
    (folder / "run.json").write_bytes((folder / "run.json").read_bytes().replace(b'"ok"', b'"\xe9"', 1))
    r = cmbench("compare", str(folder), str(_copy(tmp_path / "b", "20260111T000000Z")), "--out",
                str(tmp_path / "cmp"), name="compare")
    one_line_error(r, f"{folder / 'run.json'}: not UTF-8 text; the file is damaged", status=2)  # compare's errors
    shutil.rmtree(tmp_path / "cmp", ignore_errors=True)
