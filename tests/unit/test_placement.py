"""Placement: a hand-off workload's cases run with their threads on one CPU and spread over the run's CPUs."""

from dataclasses import replace

import pytest

from harness.catalog import load_catalog
from harness.errors import UserError
from harness.kinds.base import PlanContext
from harness.kinds.batch.kind import BatchKind

from .test_manifest import GOOD_IMPL, make_root


def _plan(fixture_catalog, fake_executor, cpus, pins):
    workload = replace(fixture_catalog.workloads["ping_pong"], placements=("one", "spread"))
    impl = replace(fixture_catalog.impls["fake/good"], placement=("spread",) if pins else ())
    ctx = PlanContext("smoke", cpus, fake_executor)
    return {s.params["placement"]: s for s in BatchKind().plan(ctx, impl, impl.variants[0], workload)}


def test_one_cpu_pins_the_process_and_spread_gives_every_cpu(fixture_catalog, fake_executor):
    specs = _plan(fixture_catalog, fake_executor, (0, 1), pins=False)
    one, spread = specs["one"], specs["spread"]
    assert one.cpus == (0,) and one.command[-2:] == ("--cpus", "1") and "--placement" not in one.command
    assert one.case == "roundtrips=2000,placement=one" and one.settings["placed_by"] == "harness"
    assert spread.cpus == (0, 1) and spread.command[-2:] == ("--cpus", "2")
    assert spread.settings["placed_by"] == "runtime" and "--placement" not in spread.command
    assert one.placement["placed_by"] == "harness" and spread.placement["cpus"] == 2


def test_a_program_that_pins_its_threads_is_told_to(fixture_catalog, fake_executor):
    spread = _plan(fixture_catalog, fake_executor, (0, 1), pins=True)["spread"]
    assert spread.command[-2:] == ("--placement", "spread") and spread.settings["placed_by"] == "program"
    assert spread.placement["placed_by"] == "program"


def test_a_run_on_one_cpu_has_no_spread_to_measure(fixture_catalog, fake_executor):
    assert set(_plan(fixture_catalog, fake_executor, (0,), pins=True)) == {"one"}


def test_the_project_measures_hand_offs_in_both_placements(project_root):
    catalog = load_catalog(project_root)
    for name in ("ping_pong", "pipeline", "mutex_counter", "worker_pool"):
        assert catalog.workloads[name].placements == ("one", "spread")


@pytest.mark.parametrize("line, message", [
    ('placements = ["one", "everywhere"]', "field 'placements' names 'everywhere'"),
    ('placements = ["one", "one"]', "names a placement twice"),
])
def test_a_bad_placement_in_workload_toml_names_the_field(tmp_path, fixture_root, line, message):
    root = make_root(tmp_path, fixture_root, GOOD_IMPL)
    path = root / "workloads" / "ping_pong" / "workload.toml"
    text = path.read_text()
    path.write_text(text.replace("\n[params", f"\n{line}\n\n[params", 1))
    with pytest.raises(UserError, match=message) as e:
        load_catalog(root)
    assert "workload.toml" in str(e.value)


def test_an_impl_can_only_make_spread_itself(tmp_path, fixture_root):
    root = make_root(tmp_path, fixture_root, GOOD_IMPL.replace('workloads = ["ping_pong"]',
                                                               'workloads = ["ping_pong"]\nplacement = ["one"]'))
    with pytest.raises(UserError, match="field 'placement' names 'one'"):
        load_catalog(root)
