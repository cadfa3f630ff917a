import shutil
from pathlib import Path

import pytest

from harness.catalog import load_catalog, load_workload
from harness.errors import UserError

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


def make_root(tmp_path: Path, fixture_root: Path, impl_text: str) -> Path:
    shutil.copytree(fixture_root / "workloads", tmp_path / "workloads")
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


def test_good_impl_loads(tmp_path, fixture_root):
    catalog = load_catalog(make_root(tmp_path, fixture_root, GOOD_IMPL))
    impl = catalog.impls["lang/model"]
    assert impl.run == ("./prog",) and impl.variants[0].name == "default"
    assert impl.build_timeout == 1800.0
    slow = load_catalog(make_root(tmp_path / "slow", fixture_root, GOOD_IMPL + '\n[build]\ncommand = ["make"]\n'
                                  'timeout = 3600\n')).impls["lang/model"]
    assert slow.build == ("make",) and slow.build_timeout == 3600.0


@pytest.mark.parametrize("edit, field", [
    (lambda t: t.replace('command = ["./prog"]', 'command = "./prog"'), "run.command"),
    (lambda t: t.replace('[run]\ncommand = ["./prog"]\n', ""), "run"),
    (lambda t: t.replace('hint = "nothing to install"\n', ""), "toolchain.hint"),
    (lambda t: t.replace('workloads = ["ping_pong"]', 'workloads = ["no_such_workload"]'), "workloads"),
    (lambda t: t.replace('model = "model"', 'model = "other"'), "language"),
    (lambda t: t.replace("schema = 1", "schema = 99"), "schema"),
    (lambda t: t + '\n[[variants]]\nname = "x"\nenv = { A = 1 }\n', "variants[0].env.A"),
    (lambda t: t + '\n[[unsupported]]\nworkload = "pipeline"\nreason = "r"\n', "unsupported[0].workload"),
    (lambda t: t + '\n[[unsupported]]\nworkload = "ping_pong"\nparams = { rounds = 1 }\nreason = "r"\n',
     "unsupported[0].params.rounds"),
    (lambda t: t + '\n[[unsupported]]\nworkload = "ping_pong"\nvariants = ["turbo"]\nreason = "r"\n',
     "unsupported[0].variants"),
    (lambda t: t + '\n[build]\ncommand = ["make"]\ntimeout = 0\n', "build.timeout"),
    (lambda t: t + '\n[build]\ncommand = ["make"]\ntimeout = "10 min"\n', "build.timeout"),
])
def test_bad_impl_field_is_named(tmp_path, fixture_root, edit, field):
    root = make_root(tmp_path, fixture_root, edit(GOOD_IMPL))
    with pytest.raises(UserError) as e:
        load_catalog(root)
    message = str(e.value)
    assert "impl.toml" in message and f"'{field}'" in message
    assert "\n" not in message


@pytest.mark.parametrize("edit, key, allowed", [
    (lambda t: t.replace('model = "model"\n', 'model = "model"\nreduced_size = true\n'), "reduced_size",
     "reduced_sizes"),
    (lambda t: t + '[[variant]]\nname = "x"\n', "variant", "variants"),
    (lambda t: t.replace('command = ["./prog"]', 'command = ["./prog"]\ncwd = "."'), "run.cwd", "command"),
    (lambda t: t + '[[variants]]\nname = "x"\nenvs = { A = "1" }\n', "variants[0].envs", "env"),
    (lambda t: t + '[[unsupported]]\nworkload = "ping_pong"\nvariant = "x"\nreason = "r"\n',
     "unsupported[0].variant", "variants"),
])
def test_unknown_impl_key_is_refused_naming_the_allowed_ones(tmp_path, fixture_root, edit, key, allowed):
    root = make_root(tmp_path, fixture_root, edit(GOOD_IMPL))
    with pytest.raises(UserError) as e:
        load_catalog(root)
    message = str(e.value)
    assert "impl.toml" in message and f"unknown key '{key}'" in message and allowed in message
    assert "\n" not in message


def test_unknown_workload_keys_are_refused(tmp_path, fixture_root):
    folder = tmp_path / "ping_pong"
    shutil.copytree(fixture_root / "workloads" / "ping_pong", folder)
    path = folder / "workload.toml"
    original = path.read_text()
    for edit, key in [(original.replace('name = "ping_pong"', 'name = "ping_pong"\nresult_field = []'), "result_field"),
                      (original.replace("[profiles.quick]", "[profiles.quik]\ncases = []\n[profiles.quick]"),
                       "profiles.quik"),
                      (original.replace("[profiles.full]", "[profiles.full]\nprocesess = 2"),
                       "profiles.full.procesess"),
                      (original.replace('help = "number', 'hlep = "x"\nhelp = "number'), "params.roundtrips.hlep")]:
        path.write_text(edit)
        with pytest.raises(UserError, match=f"unknown key '{key}'"):
            load_workload(path)


def test_unsupported_may_name_variants(tmp_path, fixture_root):
    text = GOOD_IMPL + ('[[variants]]\nname = "fast"\nargs = ["--fast"]\n'
                        '[[unsupported]]\nworkload = "ping_pong"\nvariants = ["fast"]\nreason = "no fast path"\n')
    impl = load_catalog(make_root(tmp_path, fixture_root, text)).impls["lang/model"]
    assert impl.unsupported_reason("ping_pong", {"roundtrips": 5}, "fast") == "no fast path"
    assert impl.unsupported_reason("ping_pong", {"roundtrips": 5}, "default") is None


def test_a_variant_limited_to_some_profiles_is_planned_there_or_when_named(tmp_path, fixture_root):
    from harness.executors.native import NativeExecutor
    from harness.kinds import plan_cases
    from harness.kinds.base import PlanContext

    text = GOOD_IMPL + '[[variants]]\nname = "slow"\nargs = ["--slow"]\nprofiles = ["smoke", "full"]\n'
    catalog = load_catalog(make_root(tmp_path, fixture_root, text))

    def planned(profile: str, ids: list[str]) -> set[str]:
        ctx = PlanContext(profile, (0,), NativeExecutor(), allowed_cpus=(0,))
        return {s.variant for s in plan_cases(ctx, catalog.select_impls(ids), [catalog.workloads["ping_pong"]])}
    assert planned("smoke", ["lang/model"]) == planned("full", ["lang/model"]) == {"default", "slow"}
    assert planned("quick", ["lang/model"]) == {"default"}
    assert planned("quick", ["lang/model:slow"]) == {"slow"}  # named: measured in any profile
    with pytest.raises(UserError, match=r"variants\[0\]\.profiles.*unknown profile 'quik'"):
        load_catalog(make_root(tmp_path / "bad", fixture_root, text.replace('"smoke", "full"', '"quik"')))


def test_invalid_toml_names_file(tmp_path, fixture_root):
    root = make_root(tmp_path, fixture_root, GOOD_IMPL + "\nthis is = = not toml\n")
    with pytest.raises(UserError, match=r"impl\.toml: not valid TOML"):
        load_catalog(root)


def test_workload_case_missing_a_parameter(tmp_path, fixture_root):
    folder = tmp_path / "ping_pong"
    shutil.copytree(fixture_root / "workloads" / "ping_pong", folder)
    text = (folder / "workload.toml").read_text().replace("cases = [{ roundtrips = 100 }]", "cases = [{ }]")
    (folder / "workload.toml").write_text(text)
    with pytest.raises(UserError, match=r"profiles\.verify\.cases\[0\]\.roundtrips' is missing"):
        load_workload(folder / "workload.toml")


def test_workload_bad_choice(tmp_path, fixture_root):
    folder = tmp_path / "mutex_counter"
    shutil.copytree(fixture_root / "workloads" / "mutex_counter", folder)
    path = folder / "workload.toml"
    path.write_text(path.read_text().replace('mode = "atomic" },\n]\n\n[profiles.smoke]',
                                             'mode = "spin" },\n]\n\n[profiles.smoke]'))
    with pytest.raises(UserError, match="must be one of mutex, atomic"):
        load_workload(path)


def test_profile_shape_override(project_root):
    from harness.manifests.model import PROFILE_SHAPES

    catalog = load_catalog(project_root)
    assert catalog.workloads["spawn_idle"].shape_for("quick").iterations == 1
    assert catalog.workloads["ping_pong"].shape_for("quick") == PROFILE_SHAPES["quick"]


def test_a_workload_declares_its_key_metrics_in_a_report_table(tmp_path, fixture_root):
    folder = tmp_path / "ping_pong"
    shutil.copytree(fixture_root / "workloads" / "ping_pong", folder)
    path = folder / "workload.toml"
    original = path.read_text()
    assert load_workload(path).key_metrics == ()  # none declared: the reports' defaults
    head, _, rest = original.partition("\n[")
    path.write_text(head + '\n\n[report]\nkey_metrics = ["throughput", "cpu_time_per_op"]\n\n[' + rest)
    assert load_workload(path).key_metrics == ("throughput", "cpu_time_per_op")
    path.write_text(head + '\n\n[report]\nkey_metric = ["throughput"]\n\n[' + rest)
    with pytest.raises(UserError, match="unknown key 'report.key_metric'"):
        load_workload(path)
    path.write_text(head + '\n\n[report]\nkey_metrics = "throughput"\n\n[' + rest)
    with pytest.raises(UserError, match="report.key_metrics"):
        load_workload(path)
