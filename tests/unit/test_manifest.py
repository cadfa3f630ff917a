import shutil
from pathlib import Path

import pytest

from harness.catalog import load_catalog
from harness.errors import UserError
from harness.manifest import load_workload

GOOD_IMPL = """schema = 1
language = "lang"
model = "model"
workloads = ["ping_pong"]

[toolchain]
check = ["true"]
hint = "nothing to install"

[run]
command = ["./prog"]
"""


def make_root(tmp_path: Path, project_root: Path, impl_text: str) -> Path:
    shutil.copytree(project_root / "workloads", tmp_path / "workloads")
    folder = tmp_path / "impls" / "lang" / "model"
    folder.mkdir(parents=True)
    (folder / "impl.toml").write_text(impl_text)
    return tmp_path


def test_project_catalog_loads(project_root):
    catalog = load_catalog(project_root)
    assert {"worker_pool", "pipeline", "mutex_counter", "ping_pong", "spawn_idle", "http_server"} <= set(
        catalog.workloads)
    wp = catalog.workloads["worker_pool"]
    assert [c.as_dict()["workers"] for c in wp.cases_for("quick")] == [4, 4, 0]
    reduced = wp.cases_for("quick", reduced=True)
    assert all(c.as_dict()["tasks"] < wp.cases_for("quick")[0].as_dict()["tasks"] for c in reduced)
    assert wp.operations_per_iteration(wp.cases_for("quick")[0].as_dict()) == 200000


def test_good_impl_loads(tmp_path, project_root):
    catalog = load_catalog(make_root(tmp_path, project_root, GOOD_IMPL))
    impl = catalog.impls["lang/model"]
    assert impl.run == ("./prog",) and impl.variants[0].name == "default"


@pytest.mark.parametrize("edit, field", [
    (lambda t: t.replace('command = ["./prog"]', 'command = "./prog"'), "run.command"),
    (lambda t: t.replace('[run]\ncommand = ["./prog"]\n', ""), "run"),
    (lambda t: t.replace('hint = "nothing to install"\n', ""), "toolchain.hint"),
    (lambda t: t.replace('workloads = ["ping_pong"]', 'workloads = ["no_such_workload"]'), "workloads"),
    (lambda t: t.replace('model = "model"', 'model = "other"'), "language"),
    (lambda t: t.replace("schema = 1", "schema = 99"), "schema"),
    (lambda t: t + '\n[[variants]]\nname = "x"\nenv = { A = 1 }\n', "variants[0].env.A"),
    (lambda t: t + '\n[[unsupported]]\nworkload = "pipeline"\nreason = "r"\n', "unsupported[0].workload"),
])
def test_bad_impl_field_is_named(tmp_path, project_root, edit, field):
    root = make_root(tmp_path, project_root, edit(GOOD_IMPL))
    with pytest.raises(UserError) as e:
        load_catalog(root)
    message = str(e.value)
    assert "impl.toml" in message and f"'{field}'" in message
    assert "\n" not in message


def test_invalid_toml_names_file(tmp_path, project_root):
    root = make_root(tmp_path, project_root, GOOD_IMPL + "\nthis is = = not toml\n")
    with pytest.raises(UserError, match=r"impl\.toml: not valid TOML"):
        load_catalog(root)


def test_workload_case_missing_a_parameter(tmp_path, project_root):
    folder = tmp_path / "ping_pong"
    shutil.copytree(project_root / "workloads" / "ping_pong", folder)
    text = (folder / "workload.toml").read_text().replace("cases = [{ roundtrips = 1000 }]", "cases = [{ }]")
    (folder / "workload.toml").write_text(text)
    with pytest.raises(UserError, match=r"profiles\.verify\.cases\[0\]\.roundtrips' is missing"):
        load_workload(folder / "workload.toml")


def test_workload_bad_choice(tmp_path, project_root):
    folder = tmp_path / "mutex_counter"
    shutil.copytree(project_root / "workloads" / "mutex_counter", folder)
    path = folder / "workload.toml"
    path.write_text(path.read_text().replace('mode = "racy" },\n]\n\n[profiles.smoke]',
                                             'mode = "spin" },\n]\n\n[profiles.smoke]'))
    with pytest.raises(UserError, match="must be one of mutex, atomic, racy"):
        load_workload(path)


def test_profile_shape_override(project_root):
    from harness.manifest import PROFILE_SHAPES

    catalog = load_catalog(project_root)
    assert catalog.workloads["spawn_idle"].shape_for("quick").iterations == 2
    assert catalog.workloads["ping_pong"].shape_for("quick") == PROFILE_SHAPES["quick"]
