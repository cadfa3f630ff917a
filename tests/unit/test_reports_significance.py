"""The Mann-Whitney U test of reports.significance against known cases, and its verdicts."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from reports.significance import mann_whitney, verdict


def brute_force_p(a, b):
    """Two-sided exact permutation p-value of U over midranks, by enumerating every split."""
    pooled = np.array(list(a) + list(b), dtype=float)
    order = pooled.argsort(kind="mergesort")
    ranks = np.empty(len(pooled))
    sorted_vals = pooled[order]
    for v in np.unique(pooled):
        idx = np.nonzero(sorted_vals == v)[0]
        ranks[order[idx]] = idx.mean() + 1
    m, n = len(a), len(b)
    u = ranks[:m].sum() - m * (m + 1) / 2
    us = [ranks[list(c)].sum() - m * (m + 1) / 2 for c in itertools.combinations(range(m + n), m)]
    mean = m * n / 2
    return sum(abs(x - mean) >= abs(u - mean) - 1e-9 for x in us) / len(us)


@pytest.mark.parametrize("a, b, u, p", [
    ([1, 2, 3], [4, 5, 6], 0.0, 0.1),  # scipy.stats.mannwhitneyu(..., method="exact"): 0.1
    ([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 0.0, 2 / 252),  # complete separation: 2 / C(10, 5)
    ([1, 3, 5, 7], [2, 4, 6, 8], 6.0, 0.6857142857),  # scipy: 0.6857142857142857
    ([5, 6, 7], [1, 2, 3], 9.0, 0.1),
])
def test_exact_p_values_without_ties(a, b, u, p):
    r = mann_whitney(a, b)
    assert r.method == "exact"
    assert r.u == u
    assert r.p == pytest.approx(p)


def test_ties_use_an_exact_permutation_test():
    a, b = [1, 2, 2, 3, 5], [2, 3, 4, 4, 6]
    r = mann_whitney(a, b)
    assert r.method == "permutation (exact)"
    assert r.p == pytest.approx(brute_force_p(a, b))


def test_identical_samples_are_not_different():
    r = mann_whitney([1.0] * 6, [1.0] * 6)
    assert r.p == 1.0


def test_monte_carlo_permutation_is_seeded():
    rng = np.random.default_rng(7)
    a = np.round(rng.normal(0, 1, 8), 1)
    b = np.round(rng.normal(1, 1, 30), 1)
    r1, r2 = mann_whitney(a, b), mann_whitney(a, b)
    assert r1.method == "permutation (monte carlo)"
    assert r1.p == r2.p
    # the statistic is symmetric: swapping the samples gives the same two-sided p-value
    assert mann_whitney(b, a).p == pytest.approx(r1.p, abs=0.02)


def test_normal_approximation_for_large_samples_with_ties():
    a = [float(x) for x in range(40)] * 2
    b = [x + 10.0 for x in a]
    r = mann_whitney(a, b)
    assert r.method == "normal"
    # U and its tie-corrected variance by hand: z = (|U - mn/2| - 0.5) / sd
    m = n = 80
    pooled = np.array(a + b)
    _, counts = np.unique(pooled, return_counts=True)
    var = m * n / 12 * ((m + n + 1) - (counts**3 - counts).sum() / ((m + n) * (m + n - 1)))
    z = (abs(r.u - m * n / 2) - 0.5) / math.sqrt(var)
    assert r.p == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert r.p < 0.01


def test_min_p_depends_on_sample_sizes():
    assert mann_whitney([1, 2], [3, 4]).min_p == pytest.approx(1 / 3)
    assert mann_whitney([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]).min_p == pytest.approx(2 / 924)


@pytest.mark.parametrize("direction, unit, a, b, word", [
    ("lower", "s", [10, 11, 12, 13, 14, 15], [4, 5, 6, 7, 8, 9], "faster"),  # wall time went down
    ("lower", "s", [4, 5, 6, 7, 8, 9], [10, 11, 12, 13, 14, 15], "slower"),
    ("higher", "ops/s", [4, 5, 6, 7, 8, 9], [10, 11, 12, 13, 14, 15], "faster"),  # throughput went up
    ("higher", "ops/s", [10, 11, 12, 13, 14, 15], [4, 5, 6, 7, 8, 9], "slower"),
    ("lower", "B", [10, 11, 12, 13, 14, 15], [4, 5, 6, 7, 8, 9], "better"),  # memory went down
    ("higher", "req/s", [10, 11, 12, 13, 14, 15], [4, 5, 6, 7, 8, 9], "slower"),
    ("lower", "s/op", [4, 5, 6, 7, 8, 9], [10, 11, 12, 13, 14, 15], "slower"),
])
def test_verdicts_follow_the_metric_direction(direction, unit, a, b, word):
    assert verdict(a, b, direction, unit)[0] == word


def test_overlapping_samples_are_not_significant():
    assert verdict([1, 3, 5, 7, 9, 11], [2, 4, 6, 8, 10, 12], "lower", "s")[0] == "not significant"


def test_two_processes_against_two_cannot_be_significant():
    word, result = verdict([1.0, 1.1], [5.0, 5.1], "lower", "B")
    assert word == "too few samples" and result.min_p > 0.05


def test_info_metrics_are_not_compared():
    assert verdict([1, 2, 3], [4, 5, 6], "info") == ("not compared", None)
