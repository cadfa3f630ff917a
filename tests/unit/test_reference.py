import numpy as np

from harness.kinds.batch.answers import MASK64, check, expected, splitmix64


def _scalar_worker_pool(tasks: int, rounds: int) -> int:
    total = 0
    for i in range(tasks):
        v = i
        for _ in range(rounds):
            v = splitmix64(v)
        total = (total + v) & MASK64
    return total


def test_splitmix64_known_values():
    assert splitmix64(0) == 16294208416658607535
    assert splitmix64(1) == 10451216379200822465


def test_worker_pool_vectorised_matches_scalar():
    for tasks, rounds in ((1, 1), (10, 1), (257, 3), (1000, 8)):
        assert expected("worker_pool", {"tasks": tasks, "rounds": rounds})["checksum"] == _scalar_worker_pool(
            tasks, rounds)


def test_worker_pool_documented_check_values():
    assert expected("worker_pool", {"tasks": 1000, "rounds": 8}) == {"count": 1000,
                                                                      "checksum": 10457493594269603627}


def test_pipeline_matches_a_direct_fold():
    items, stages = 50, 3
    total, order = 0, 14695981039346656037
    for x in range(1, items + 1):
        for j in range(1, stages + 1):
            x = (x * 6364136223846793005 + j) & MASK64
        total = (total + x) & MASK64
        order = ((order ^ x) * 1099511628211) & MASK64
    assert expected("pipeline", {"items": items, "stages": stages}) == {"count": items, "sum": total, "ord": order}


def test_simple_models():
    assert expected("mutex_counter", {"threads": 4, "increments": 7, "mode": "atomic"}) == {"final": 28}
    assert expected("ping_pong", {"roundtrips": 5}) == {"roundtrips": 5, "token": 10}
    assert expected("spawn_idle", {"tasks": 9, "sleep_ms": 1}) == {"done": 9}


def test_racy_mode_accepts_any_count_up_to_t_times_i():
    want = expected("mutex_counter", {"threads": 2, "increments": 100, "mode": "racy"})["final"]
    assert want == 200 and want == 1 and want == 137
    assert want != 201 and want != 0 and want != True and want != "137"  # noqa: E712
    assert str(want) == "an integer in [1, 200]"
    # the harness compares `got != expected`: an int on the left defers to Within
    assert not (137 != want) and (0 != want)


def test_check_names_what_is_wrong():
    racy = {"threads": 2, "increments": 100, "mode": "racy"}
    assert check("mutex_counter", racy, {"final": 150, "lost_updates": 50}) is None
    assert check("mutex_counter", racy, {"final": 150}) is None  # lost_updates is optional
    assert "lost_updates is 3" in check("mutex_counter", racy, {"final": 150, "lost_updates": 3})
    assert "wrong final" in check("mutex_counter", racy, {"final": 201, "lost_updates": -1})
    assert check("mutex_counter", {"threads": 2, "increments": 100, "mode": "mutex"}, {"final": 200}) is None
    assert "wrong final: got 199, expected 200" in check(
        "mutex_counter", {"threads": 2, "increments": 100, "mode": "mutex"}, {"final": 199})
    assert "roundtrips is missing" in check("ping_pong", {"roundtrips": 5}, {"token": 10})
    assert "wrong token" in check("ping_pong", {"roundtrips": 1}, {"roundtrips": 1, "token": True})
    assert check("preemption", {"sleeps": 20}, {"sleeps": 20, "timer_late_p50": 5}) is None


def test_folds_kept_in_chunks_give_every_size_the_whole_fold():
    from harness.kinds.batch import answers as reference

    for n in (0, 1, reference.CHUNK - 1, reference.CHUNK, reference.CHUNK + 1, 3 * reference.CHUNK + 5):
        values = np.arange(1, n + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for stage in (1, 2):
                values = values * np.uint64(reference.PIPELINE_MUL) + np.uint64(stage)
        order = reference.FNV_OFFSET
        for x in values.tolist():
            order = ((order ^ x) * reference.FNV_PRIME) & MASK64
        assert expected("pipeline", {"items": n, "stages": 2}) == {
            "count": n, "sum": int(values.sum(dtype=np.uint64)), "ord": order}
        pool = np.arange(n, dtype=np.uint64)
        pool = reference._splitmix64_array(reference._splitmix64_array(pool))
        assert expected("worker_pool", {"tasks": n, "rounds": 2})["checksum"] == int(pool.sum(dtype=np.uint64))
