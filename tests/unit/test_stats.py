import pytest

from harness.measure.stats import summarize


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
