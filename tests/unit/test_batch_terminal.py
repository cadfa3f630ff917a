"""The batch terminal table: a best only where intervals separate, and a case with modes shown as its modes."""

from harness.kinds.batch.repetition import CONVERGED, MODES, BatchDetail, case_ci, case_modes
from harness.kinds.batch.terminal import comparison_tables
from harness.measure.metrics import case_rows
from harness.measure.outcome import CaseKey, CaseResult, Iteration, ProcessRun
from harness.measure.process import Rusage

RUSAGE = Rusage(0.01, 0.001, 10 << 20, 10, 1)


def result(impl: str, walls: list[list[float]], operations: int = 1000) -> CaseResult:
    """An ok case of `walls` (seconds per measured iteration, one list per process), its detail as the harness
    records it."""
    processes = tuple(ProcessRun(tuple(Iteration(k, False, w) for k, w in enumerate(ws)), RUSAGE, sum(ws) + 0.01)
                      for ws in walls)
    modes = case_modes(processes)
    detail = BatchDetail(MODES if modes.multimodal else CONVERGED, case_ci(processes, 0), 0.02, 0, (), modes=modes)
    return CaseResult(CaseKey("ping_pong", "roundtrips=1000", impl, "default"), "x", "y", {"roundtrips": 1000},
                      "ok", operations=operations, processes=processes, baseline=RUSAGE, detail=detail)


def table(*results: CaseResult) -> dict[str, list[str]]:
    text = comparison_tables(results, {r.key: list(case_rows(r)) for r in results})
    return {line.split()[0]: line for line in text.splitlines() if line.startswith("impl/")}


def steady(level: float, processes: int = 5, spread: float = 0.002) -> list[list[float]]:
    return [[level * (1 + spread * ((p + k) % 3 - 1)) for k in range(5)] for p in range(processes)]


def test_a_best_whose_interval_separates_from_the_others_is_named_with_factors():
    rows = table(result("impl/fast", steady(1e-3)), result("impl/slow", steady(2e-3)))
    assert rows["impl/fast"].endswith("best") and rows["impl/slow"].endswith("2.00x slower")


def test_overlapping_intervals_are_a_tie_not_a_best():
    rows = table(result("impl/a", steady(1e-3, spread=0.05)), result("impl/b", steady(1.01e-3, spread=0.05)))
    assert rows["impl/a"].endswith("≈ best") and rows["impl/b"].endswith("≈ best")
    assert "best" not in rows["impl/a"].replace("≈ best", "")


def test_a_case_with_modes_is_shown_as_its_modes_and_not_ranked():
    fast, slow = steady(1.2e-3, 6), steady(3.4e-3, 4)
    modal = result("impl/modal", [fast[0], slow[0], fast[1], fast[2], slow[1], fast[3], slow[2], fast[4], fast[5],
                                  slow[3]])
    assert modal.detail.multimodal
    rows = table(modal, result("impl/steady", steady(2e-3)))
    line = rows["impl/modal"]
    assert "modes 1.2 ms (60%) · 3.4 ms (40%)" in line and "833k/s (60%) · 294k/s (40%)" in line
    assert line.endswith("modes: not ranked") and "±" not in line.split("modes", 1)[1]
    # the steady one lies between the modes: the top of what is ranked, but not a best the modes would allow
    assert rows["impl/steady"].endswith("≈ best")
