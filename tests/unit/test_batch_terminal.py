"""The batch terminal table: a best only where intervals separate, and a case with modes shown as its modes."""

from harness.kinds.batch.terminal import comparison_tables
from harness.measure.metrics import case_rows
from harness.measure.outcome import CaseResult
from tests.batch_results import batch_result, interleave, steady


def table(*results: CaseResult) -> dict[str, list[str]]:
    text = comparison_tables(results, {r.key: list(case_rows(r)) for r in results})
    return {line.split()[0]: line for line in text.splitlines() if line.startswith("impl/")}


def test_a_best_whose_interval_separates_from_the_others_is_named_with_factors():
    rows = table(batch_result("impl/fast", steady(1e-3)), batch_result("impl/slow", steady(2e-3)))
    assert rows["impl/fast"].endswith("best") and rows["impl/slow"].endswith("2.00x slower")


def test_overlapping_intervals_are_a_tie_not_a_best():
    rows = table(batch_result("impl/a", steady(1e-3, spread=0.05)),
                 batch_result("impl/b", steady(1.01e-3, spread=0.05)))
    assert rows["impl/a"].endswith("≈ best") and rows["impl/b"].endswith("≈ best")
    assert "best" not in rows["impl/a"].replace("≈ best", "")


def test_a_case_with_modes_is_shown_as_its_modes_and_not_ranked():
    modal = batch_result("impl/modal", interleave(steady(1.2e-3, 6), steady(3.4e-3, 4)))
    assert modal.detail.multimodal
    rows = table(modal, batch_result("impl/steady", steady(2e-3)))
    line = rows["impl/modal"]
    assert "modes 1.2 ms (60%) · 3.4 ms (40%)" in line and "833k/s (60%) · 294k/s (40%)" in line
    assert line.endswith("modes: not ranked") and "±" not in line.split("modes", 1)[1]
    # the steady one lies between the modes: the top of what is ranked, but not a best the modes would allow
    assert rows["impl/steady"].endswith("≈ best")
