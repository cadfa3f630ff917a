import json

import pytest

from harness.kinds.batch.measure import parse_output
from harness.measure.outcome import CaseFailure


def lines(name, fields, n, warmups=0, **overrides):
    out = []
    for k in range(n):
        obj = {"workload": name, "iteration": k, "warmup": k < warmups, "elapsed_ns": 500 + k, **fields}
        obj.update(overrides)
        out.append(json.dumps(obj))
    return "\n".join(out) + "\n"


@pytest.fixture
def ping_pong(project_root):
    from harness.catalog import load_catalog

    return load_catalog(project_root).workloads["ping_pong"]


def test_good_output(ping_pong):
    its = parse_output(lines("ping_pong", {"roundtrips": 3, "token": 6}, 3, warmups=1), ping_pong,
                       {"roundtrips": 3}, 1, 2)
    assert [i.warmup for i in its] == [True, False, False]
    assert its[1].elapsed == pytest.approx(501e-9)


@pytest.mark.parametrize("stdout, message", [
    (lines("ping_pong", {"roundtrips": 3, "token": 7}, 2), "wrong token"),
    (lines("ping_pong", {"roundtrips": 3}, 2), "token is missing"),
    (lines("ping_pong", {"roundtrips": 3, "token": 6}, 1),
     r"printed 1 lines, expected 2 \(one per iteration, warm-ups first: --warmups 0 --iterations 2\)"),
    ("hello\nworld\n", "not JSON"),
    ("[1]\n[2]\n", "not a JSON object"),
    (lines("ping_pong", {"roundtrips": 3, "token": 6}, 2, elapsed_ns=0), "elapsed_ns must be an integer > 0"),
    (lines("ping_pong", {"roundtrips": 3, "token": 6}, 2, workload="pipeline"),
     'workload is "pipeline", expected "ping_pong"'),
    (lines("ping_pong", {"roundtrips": 3, "token": 6}, 2, iteration=0), "iteration is 0, expected 1"),
    (lines("ping_pong", {"roundtrips": 3, "token": 6}, 2, warmups=1), "warmup is true, expected false"),
    ('{"workload": "ping_pong", "iteration": 0, "elapsed_ns": 5, "roundtrips": 3, "token": 6}\n' * 2,
     "line 1: warmup is missing, expected false"),
])
def test_bad_output_fails_the_case(ping_pong, stdout, message):
    with pytest.raises(CaseFailure, match=message) as e:
        parse_output(stdout, ping_pong, {"roundtrips": 3}, 0, 2)
    assert e.value.status == "verify_failed"
