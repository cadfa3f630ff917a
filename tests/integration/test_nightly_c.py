"""`cmbench nightly` on a real, compiled implementation: a 5% step confirmed A/B, and nothing else raised.

Ten nightlies of tests/fixtures/nightly_c with the default detection (3% floor) and confirmation:
`cfix/step` does 5% more work per iteration from the seventh on (a commit raising its build-time
WORK_SCALE). The six before are the stationary nightlies. The same sequence without the step, and
longer ones, run from the script in tests/integration/nightly_c.py (about 2 minutes per 10 nightlies).

Confirming a 5% step over a 3% floor needs an A/B whose interval is narrower than about ±2%. On a host
whose own speed moves by more than that within minutes (its drift probe spreading 7-17%), every A/B
of the step can end undecided (its interval straddles the floor) and the nightly rightly raises
nothing: the check of its power is then skipped, saying the intervals, while no false alarm is still
required; where such a host's later nightlies confirm the step, after the third, that passes. An A/B
that decides the step is short of the floor, or no A/B at all, fails it, unless one of the first
three nightlies after the step found the host unsteady (its own drift probe, run.json `host_drift`,
spread by more than 5%: more than the step): a host moving that much in spells can also misplace the
change point, so that an A/B compares two builds on one side of the step.
"""

from __future__ import annotations

import pytest

from reports.history.changes import DetectionConfig
from reports.history.confirmation import interval_decides

from .nightly_c import sequence, summary

pytestmark = pytest.mark.integration

RUNS, AFTER, STEP = 10, 6, 5.0


@pytest.fixture(scope="module")
def stepped(tmp_path_factory):
    return sequence(tmp_path_factory.mktemp("nightly_c"), RUNS, STEP, AFTER)


def raised(doc):
    return [a for a in doc["alerts"] if a["raised"]]


def undecided(alert) -> bool:
    """Whether the alert's A/B interval straddles the floor: the measurement could not tell the change either way."""
    c = alert["confirmation"]
    low, high = c.get("ci_low"), c.get("ci_high")
    return low is not None and high is not None and not interval_decides(low, high, alert["change"],
                                                                          DetectionConfig().min_change)


def test_stationary_nightlies_raise_nothing(stepped):
    """No alert is raised: every candidate the host made was measured A/B and rejected. A step of the host
    shared by most series (this shared host's speed moves by tens of percent between nightlies) may be
    reported as an environment change, which explains only series of implementations that did not change."""
    for doc in stepped["alerts"][:AFTER]:
        assert raised(doc) == [], doc
        assert all(a["confirmation"]["status"] == "unconfirmed" for a in doc["alerts"])
    assert stepped["statuses"][:AFTER] == [0] * AFTER


def test_the_step_is_one_confirmed_regression_within_three_nightlies(stepped):
    docs = stepped["alerts"][AFTER:]
    new = [(i, a) for i, d in enumerate(docs) for a in d["alerts"] if a["new"] and a["raised"]]
    seen = [[(a["impl"], a["workload"], a["metric"], round(a["change"], 3), a["confirmation"]) for a in d["alerts"]]
            for d in docs]
    for d in docs:  # whatever the host: nothing but the step is raised
        assert all(other["impl"] == "cfix/step" for other in raised(d)), raised(d)
    step = [a for d in docs[:3] for a in d["alerts"] if a["impl"] == "cfix/step" and a.get("confirmation")]
    noisy = bool(step) and all(undecided(a) for a in step)  # no A/B of the first three could tell the step
    if not new and noisy:
        pytest.skip("the host was too noisy for the A/B to decide the 5% step either way: "
                    + "; ".join(f"{a['metric']} {a['confirmation']['ci_low']:.3f}-{a['confirmation']['ci_high']:.3f}"
                                for a in step))
    unsteady = [d for d in stepped["drift"][AFTER:AFTER + 3] if d.get("steady") is False]
    if not (len(new) == 1 and (new[0][0] < 3 or noisy)) and unsteady:
        # the nightlies' own drift probe says the host moved more than the 5% step while they measured
        spreads = ", ".join(f"{d['robust_cv']:.1%}" for d in unsteady)
        pytest.skip(f"{len(unsteady)} of the first 3 nightlies after the step found the host unsteady (its drift "
                    f"probe's robust spread {spreads}, above 5%): a 5% step cannot be confirmed on it; "
                    f"nightlies {summary(stepped)['statuses']}")
    assert len(new) == 1, (new, seen, summary(stepped))
    i, a = new[0]
    assert (i < 3 or noisy) and (a["workload"], a["impl"], a["kind"]) == ("ping_pong", "cfix/step", "regression")
    conf = a["confirmation"]
    assert conf["status"] == "confirmed" and set(conf) == {"status", "ratio", "ci_low", "ci_high", "n"}
    # B / A of the metric: 5% more wall time or CPU time per operation is 1/1.05 of the throughput
    lower = a["direction"] == "lower"
    worse, bound = (conf["ratio"], conf["ci_low"]) if lower else (1 / conf["ratio"], 1 / conf["ci_high"])
    assert conf["n"] >= 8 and bound > 1.03 and worse == pytest.approx(1.05, abs=0.02)
    assert a["first_bad"]["run_id"] == stepped["runs"][AFTER] and a["last_good"]["run_id"] == stepped["runs"][AFTER - 1]
    assert [c["commit"] for c in a["commits"]] == [stepped["commit"]]
    # every other raised alert of those nightlies is the same change, in another metric of the same case
    for d in docs:
        for other in raised(d):
            assert (other["impl"], other["workload"]) == ("cfix/step", a["workload"]), other
    assert stepped["statuses"][AFTER + i] == 3
    facts = summary(stepped)
    assert facts["by_status"]["confirmed"] >= 1 and facts["ab"]
    sens = docs[-1]["sensitivity"]
    assert sens["tested"] > 0 and sens["median"] > 0 and all(s["mdc"] > sens["limit"] for s in sens["insensitive"])
