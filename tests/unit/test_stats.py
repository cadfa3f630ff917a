import math
import statistics

import numpy as np
import pytest

from harness.measure.stats import (
    _weighted_medians,
    median_ci,
    process_median,
    process_weights,
    summarize,
    weighted_quantiles,
)


def test_median_and_quartiles():
    s = summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (s.n, s.median, s.q1, s.q3, s.low, s.high) == (5, 3.0, 2.0, 4.0, 1.0, 5.0)
    assert s.spread == pytest.approx(1 / 3)
    assert s.unstable


def test_tight_samples_are_stable():
    s = summarize([100.0, 101.0, 99.0, 100.5, 100.2])
    assert not s.unstable


def test_single_sample():
    s = summarize([2.0])
    assert s.q1 == s.q3 == 2.0 and not s.unstable


def test_no_samples():
    with pytest.raises(ValueError):
        summarize([])


# --- every process weighs 1 -------------------------------------------------------------------------

LONG_ALONE = [[0.28] * 20, [1.7, 1.72, 1.69, 1.71, 1.7, 1.73], [1.9, 1.91, 1.88, 1.9, 1.92], [2.1] * 7]


def owners(groups):
    return [i for i, g in enumerate(groups) for _ in g]


def test_one_long_process_on_its_own_level_does_not_outvote_the_others():
    pooled = [v for g in LONG_ALONE for v in g]
    assert statistics.median(pooled) == 0.28  # the plain median of all iterations: that one process's level
    s = summarize(pooled, owners(LONG_ALONE))
    assert 1.7 < s.median < 2.1 and s.median == process_median(LONG_ALONE)
    ci = median_ci(LONG_ALONE)
    assert ci.median == s.median and ci.low <= ci.median <= ci.high


def test_equal_counts_give_the_plain_median_and_quartiles():
    groups = [[1.0, 4.0, 2.5], [3.0, 9.0, 0.5], [7.0, 2.0, 6.0]]
    values = [v for g in groups for v in g]
    assert summarize(values, owners(groups)) == summarize(values)
    assert median_ci(groups, seed=3) == median_ci(groups, seed=3)
    assert weighted_quantiles(values, np.ones(len(values)), (0.25, 0.5, 0.75)) == pytest.approx(
        np.quantile(values, [0.25, 0.5, 0.75]).tolist())


def test_weights_are_one_over_the_process_count_and_a_missing_process_weighs_one():
    assert process_weights([0, 0, 1]).tolist() == [0.5, 0.5, 1.0]
    assert process_weights([None, math.nan, 1, 1]).tolist() == [1.0, 1.0, 0.5, 0.5]
    assert process_weights([None, math.nan]) is None and process_weights([3, 3]) is None
    # two values weigh like one: the weighted median of 1, 1 (one process) and 4 (another) is halfway
    assert summarize([1.0, 1.0, 4.0], [0, 0, 1]).median == pytest.approx(2.5)


def test_the_bootstrap_weighs_each_drawn_process_once():
    rng = np.random.default_rng(5)
    for _ in range(300):
        counts = rng.integers(1, 7, size=rng.integers(1, 5))
        groups = [rng.random(c).tolist() for c in counts]
        table = np.full((1, len(groups), counts.max()), np.inf)
        for i, g in enumerate(groups):
            table[0, i, :len(g)] = g
        values = [v for g in groups for v in g]
        assert _weighted_medians(table, counts[None, :])[0] == pytest.approx(
            summarize(values, owners(groups)).median if len(values) > 1 else values[0])
