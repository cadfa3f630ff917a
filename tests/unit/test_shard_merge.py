"""Sharding a plan by units, merging the shards' runs, and the checks a cluster host makes."""

import csv
import json

import pytest

from cmbench.cli import main
from harness.cluster.identity import Expectation, differences
from harness.cluster.tls import make_security
from harness.console import Console
from harness.engine.local import make_plan, run_plan
from harness.engine.merge import merge_runs
from harness.engine.shard import assign_units, parse_shard, shard_plan
from harness.errors import UserError
from harness.kinds import plan_units
from harness.store.run import load_samples

SELECT = ("--impl", "fake/good", "--workload", "ping_pong,mutex_counter", "--profile", "smoke")


@pytest.fixture
def plan(fixture_catalog, fake_executor, tmp_path):
    impls = fixture_catalog.select_impls(["fake/good", "fake/crash", "fake/wrong"])
    return make_plan(
        fixture_catalog,
        fake_executor,
        impls,
        list(fixture_catalog.workloads.values()),
        profile="smoke",
        cpus=(0, 1),
        results=tmp_path / "none",
    )


@pytest.mark.parametrize("text", ["", "1", "0/2", "3/2", "a/b", "1/0", "-1/2"])
def test_a_bad_shard_is_one_line(text):
    with pytest.raises(UserError, match="--shard"):
        parse_shard(text)


@pytest.mark.parametrize("count", [1, 2, 3, 7, 40])
def test_shards_cover_the_plan_once_by_whole_units(plan, count):
    shards = [shard_plan(plan, i, count) for i in range(1, count + 1)]
    keys = [s.key for shard in shards for s in shard.cases]
    assert sorted(keys, key=str) == sorted((s.key for s in plan.cases), key=str)  # every case, once
    for shard in shards:
        assert shard.shard.of == plan.digest() and shard.digest() == plan.digest()
        order = [s.key for s in plan.cases if s.key in {c.key for c in shard.cases}]
        assert [s.key for s in shard.cases] == order  # in the plan's order
    for unit in plan_units(plan):  # a server's phases stay together
        owners = [i for i, shard in enumerate(shards) if unit[0].key in {s.key for s in shard.cases}]
        assert len(owners) == 1
        assert {s.key for s in unit} <= {c.key for c in shards[owners[0]].cases}


def test_shards_are_balanced_by_estimate(plan):
    units = plan_units(plan)
    loads = [0.0, 0.0]
    for unit, shard in zip(units, assign_units(plan, 2)):
        loads[shard] += sum(s.estimate for s in unit)
    assert abs(loads[0] - loads[1]) <= max(sum(s.estimate for s in u) for u in units)


def test_a_shard_cannot_be_sharded_again(plan):
    with pytest.raises(UserError, match="already shard 1/2"):
        shard_plan(shard_plan(plan, 1, 2), 1, 2)


def _run(plan, catalog, executor, out):
    with open(out.parent / f"{out.name}.log", "w") as stream:
        return run_plan(plan, catalog, executor, out=out, console=Console(stream))


def _rows(folder):
    with open(folder / "results.csv") as f:
        return sorted(
            (r["workload"], r["case"], r["impl"], r["variant"], r["metric"], r["process"], r["iteration"])
            for r in csv.DictReader(f)
            if r["metric"] != "harness_overhead"
        )


def test_merged_shards_have_the_shape_of_an_unsharded_run(plan, fixture_catalog, fake_executor, tmp_path, monkeypatch):
    import harness.kinds.server.kind as server_kind

    monkeypatch.setattr(server_kind.ServerKind, "execute", lambda self, ctx, unit: iter(()))  # no sockets here
    batch = type(plan)(plan.profile, plan.executor, plan.cpus, tuple(s for s in plan.cases if s.kind == "batch"))
    whole = _run(batch, fixture_catalog, fake_executor, tmp_path / "whole")
    for i in (1, 2, 3):
        _run(shard_plan(batch, i, 3), fixture_catalog, fake_executor, tmp_path / f"s{i}")
    merge_runs([tmp_path / "s3", tmp_path / "s1", tmp_path / "s2"], tmp_path / "merged")
    one = json.loads((tmp_path / "whole" / "run.json").read_text())
    merged = json.loads((tmp_path / "merged" / "run.json").read_text())
    assert set(one) <= set(merged) and merged["status"] == "complete"
    assert merged["plan"]["digest"] == one["plan"]["digest"] and merged["plan"]["cases"] == one["plan"]["cases"]
    key = lambda c: (c["workload"], c["case"], c["impl"])  # noqa: E731
    assert sorted((key(c), c["status"], sorted(c)) for c in merged["cases"]) == sorted(
        (key(c), c["status"], sorted(c)) for c in one["cases"]
    )
    assert len(whole.results) == len(merged["cases"])
    assert _rows(tmp_path / "merged") == _rows(tmp_path / "whole") != []
    with open(tmp_path / "merged" / "results.csv") as f:
        assert {r["run_id"] for r in csv.DictReader(f)} == {merged["run_id"]}
    names = [b.get_name() for b in load_samples(tmp_path / "merged")]
    assert sorted(names) == sorted(b.get_name() for b in load_samples(tmp_path / "whole")) != []


@pytest.fixture
def shards(plan, fixture_catalog, fake_executor, tmp_path):
    batch = type(plan)(plan.profile, plan.executor, plan.cpus, tuple(s for s in plan.cases if s.kind == "batch"))
    for i in (1, 2):
        _run(shard_plan(batch, i, 2), fixture_catalog, fake_executor, tmp_path / f"s{i}")
    return tmp_path / "s1", tmp_path / "s2"


def _edit(folder, change):
    data = json.loads((folder / "run.json").read_text())
    change(data)
    (folder / "run.json").write_text(json.dumps(data))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["plan"].update(digest="0" * 16), "ran the plan"),
        (lambda d: d["host"]["git"].update(commit="f" * 40), "ran commit"),
        (lambda d: d.update(profile="full"), "ran profile"),
        (lambda d: d["plan"].pop("shard"), "is not a shard"),
    ],
)
def test_runs_of_different_plans_commits_or_profiles_are_refused(shards, tmp_path, change, message):
    _edit(shards[1], change)
    with pytest.raises(UserError, match=message):
        merge_runs(list(shards), tmp_path / "merged")
    assert not (tmp_path / "merged" / "run.json").exists()


def test_a_missing_or_repeated_shard_is_refused(shards, tmp_path):
    with pytest.raises(UserError, match="shard 2/2 is missing"):
        merge_runs([shards[0]], tmp_path / "m1")
    with pytest.raises(UserError, match="is shard 1/2 again"):
        merge_runs([shards[0], shards[0], shards[1]], tmp_path / "m2")


def test_plan_and_run_take_a_shard_on_the_command_line(fixture_root, tmp_path, capsys):
    args = ["--root", str(fixture_root)]
    assert (
        main(
            [
                *args,
                "plan",
                *SELECT,
                "--shard",
                "2/2",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == 5 and data["shard"]["index"] == 2 and data["shard"]["count"] == 2
    for i in (1, 2):
        assert (
            main(
                [
                    *args,
                    "run",
                    *SELECT,
                    "--shard",
                    f"{i}/2",
                    "--out",
                    str(tmp_path / f"s{i}"),
                ]
            )
            == 0
        )
    assert main([*args, "merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out", str(tmp_path / "m")]) == 0
    merged = json.loads((tmp_path / "m" / "run.json").read_text())
    assert len(merged["cases"]) == 3 and all(c["host"] for c in merged["cases"])


def test_a_host_with_another_commit_or_toolchain_is_refused_with_the_reason():
    expected = Expectation("a" * 40, "native", {"go/goroutines": "go1.27", "c/pthreads": "gcc 12"}, (0, 1))
    assert differences(expected, "a" * 40, "a" * 40, {"go/goroutines": "go1.27", "c/pthreads": "gcc 12"}, [0, 1]) == []
    why = differences(expected, "b" * 40, "b" * 40, {"go/goroutines": "go1.26", "c/pthreads": "gcc 12"}, [0])
    assert why[0].startswith("runs commit bbbbbbbbbbbb, the controller runs aaaaaaaaaaaa")
    assert "go/goroutines: toolchain 'go1.26' here, 'go1.27' on the controller" in why[1]
    assert "the plan pins to CPUs [0, 1], this host allows [0]" in why[2]
    moved = differences(expected, "a" * 40, "c" * 40, expected.toolchains, [0, 1])
    assert moved and "restart `cmbench worker`" in moved[0]
    assert Expectation.from_dict(json.loads(json.dumps(expected.to_dict()))) == expected


def test_tls_flags_are_checked(tmp_path):
    assert make_security("tcp://h:8786", None, None, None) is None
    with pytest.raises(UserError, match="--tls-cert: TLS needs"):
        make_security("tls://h:8786", "ca.pem", None, None)
    with pytest.raises(UserError, match="--tls-ca-file .*: file not found"):
        make_security("tls://h:8786", str(tmp_path / "ca.pem"), "c", "k")
    for name in ("ca.pem", "c.pem", "k.pem"):
        (tmp_path / name).write_text("x")
    with pytest.raises(UserError, match="use a tls:// address"):
        make_security("tcp://h:8786", *(str(tmp_path / n) for n in ("ca.pem", "c.pem", "k.pem")))


def test_an_unreachable_scheduler_is_one_line(fixture_root, capsys, monkeypatch):
    import harness.cluster.controller as cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    assert (
        main(
            [
                "--root",
                str(fixture_root),
                "run",
                "--impl",
                "fake/good",
                "--workload",
                "ping_pong",
                "--profile",
                "smoke",
                "--cluster",
                "tcp://127.0.0.1:9",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "--cluster tcp://127.0.0.1:9: cannot reach the scheduler" in err
