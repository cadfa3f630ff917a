"""Documented formats are checked against the code that writes them."""

import ast
import json
from pathlib import Path

import pytest

from harness.errors import UserError
from harness.measure.metrics import METRICS, Row
from harness.store.run import MIGRATIONS, RUN_SCHEMA, load_run

PROJECT = Path(__file__).resolve().parents[2]


def documented_metrics() -> set[str]:
    """First-column names of every table in results/README.md whose header starts `| metric |`."""
    names, in_table = set(), False
    for line in (PROJECT / "results" / "README.md").read_text().splitlines():
        if line.startswith("| metric |"):
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
        elif in_table and not line.startswith("|---"):
            names.add(line.split("|")[1].strip())
    return names


def emitted_metrics() -> set[str]:
    """Metric names the harness can emit: the literal first argument of every `Row(...)`, and the names
    in module-level `*_METRICS` tables that code turns into rows in a loop (the declaration table
    `METRICS` itself excluded)."""
    found = set()
    for path in (PROJECT / "harness").rglob("*.py"):
        nodes = list(ast.walk(ast.parse(path.read_text())))
        rows = [n for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "Row"
                and n.args]
        found |= {n.args[0].value for n in rows if isinstance(n.args[0], ast.Constant)}
        if not any(isinstance(n.args[0], ast.Name) for n in rows):
            continue  # no row is named from a table here
        for node in nodes:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id.endswith("_METRICS") and node.targets[0].id != "METRICS"):
                found |= {c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant)
                          and isinstance(c.value, str) and c.value in METRICS}
    return found


def test_every_metric_is_documented_once_and_nothing_else_is():
    documented = documented_metrics()
    assert documented - set(METRICS) == set(), "documented in results/README.md but not in METRICS"
    assert set(METRICS) - documented == set(), "in METRICS but missing from results/README.md"


def test_every_declared_metric_is_emitted_somewhere():
    emitted = emitted_metrics()
    assert set(METRICS) - emitted == set(), "declared (and documented) but no code emits them"
    assert emitted - set(METRICS) == set(), "emitted but not declared"


def test_an_undeclared_metric_cannot_be_emitted():
    with pytest.raises(ValueError, match="not declared"):
        Row("wall_clock", 0, 0, 1.0)


def test_run_json_of_schema_1_is_migrated(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"schema": 1, "run_id": "r", "cases": [
        {"workload": "http_server", "case": "closed,connections=16", "impl": "a/b", "status": "ok",
         "error": "host busy: x; load generator saturated: y", "extra": {"phase": "closed"}},
        {"workload": "ping_pong", "case": "c", "impl": "a/b", "status": "crashed", "error": "exit status 3"}]}))
    run = load_run(tmp_path)
    assert run["schema"] == RUN_SCHEMA
    server, batch = run["cases"]
    assert server["kind"] == "server" and server["flags"] == ["host busy: x", "load generator saturated: y"]
    assert server["error"] == ""
    assert batch["kind"] == "batch" and batch["flags"] == [] and batch["error"] == "exit status 3"


def test_a_run_json_of_schema_4_ran_each_unit_whole(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"schema": 4, "run_id": "r", "cases": []}))
    run = load_run(tmp_path)
    assert run["schema"] == RUN_SCHEMA and run["interleave"] == "unit" and "host_drift" not in run


def test_migrations_chain_up_to_a_future_schema(tmp_path, monkeypatch):
    import harness.store.run as store

    monkeypatch.setattr(store, "RUN_SCHEMA", RUN_SCHEMA + 1)
    monkeypatch.setitem(MIGRATIONS, RUN_SCHEMA, lambda d: {**d, "schema": RUN_SCHEMA + 1, "migrated": True})
    (tmp_path / "run.json").write_text(json.dumps({"schema": 1, "run_id": "r", "cases": []}))
    run = store.load_run(tmp_path)
    assert run["schema"] == RUN_SCHEMA + 1 and run["migrated"] is True


@pytest.mark.parametrize("schema", [0, "2", None, True])
def test_a_run_json_without_a_valid_schema_is_damaged(tmp_path, schema):
    (tmp_path / "run.json").write_text(json.dumps({"schema": schema}))
    with pytest.raises(UserError, match="damaged"):
        load_run(tmp_path)
