import json

import pytest

from harness.errors import UserError
from harness.store.run import RUN_SCHEMA, load_run, write_atomic


def test_load_run_refuses_newer_schema(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"schema": RUN_SCHEMA + 1}))
    with pytest.raises(UserError, match="newer than this cmbench reads"):
        load_run(tmp_path)


def test_load_run_missing(tmp_path):
    with pytest.raises(UserError, match="run.json: not found"):
        load_run(tmp_path)


def test_write_atomic_leaves_no_temporary(tmp_path):
    write_atomic(tmp_path / "a.txt", "hello")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "hello"
