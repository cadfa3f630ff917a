"""Batch case results built from chosen wall times, with the detail the harness records (interval, modes and
flags), and run folders of them stored as `cmbench run` stores them: for tests of tables that rank figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.kinds.batch.repetition import CONVERGED, MODES, BatchDetail, case_ci, case_modes
from harness.measure.metrics import case_rows
from harness.measure.outcome import CaseKey, CaseResult, Iteration, ProcessRun
from harness.measure.process import Rusage
from harness.store.run import RunStore
from harness.vocab import parse_params

RUSAGE = Rusage(0.01, 0.001, 10 << 20, 10, 1)
HOST = {"hostname": "bench1", "cpu_model": "Test CPU", "cpu_count": 2, "kernel": "Linux 6.1.0", "machine": "x86_64",
        "git": {"commit": "0123456789abcdef", "dirty": False}}
CASE = "roundtrips=1000"


def steady(level: float, processes: int = 5, spread: float = 0.002, iterations: int = 5) -> list[list[float]]:
    """Wall times per process around `level`, each iteration off by at most `spread` (relative)."""
    return [[level * (1 + spread * ((p + k) % 3 - 1)) for k in range(iterations)] for p in range(processes)]


def interleave(fast: list[list[float]], slow: list[list[float]]) -> list[list[float]]:
    """The processes of two modes taking turns, as an interleaved run might meet them."""
    out = []
    for i in range(max(len(fast), len(slow))):
        out += fast[i:i + 1] + slow[i:i + 1]
    return out


def batch_result(impl: str, walls: Sequence[Sequence[float]], operations: int = 1000, workload: str = "ping_pong",
                 case: str = CASE) -> CaseResult:
    """An ok case of `walls` (seconds per measured iteration, one list per process), with its detail and flags."""
    processes = tuple(ProcessRun(tuple(Iteration(k, False, w) for k, w in enumerate(ws)), RUSAGE, sum(ws) + 0.01)
                      for ws in walls)
    modes = case_modes(processes)
    detail = BatchDetail(MODES if modes.multimodal else CONVERGED, case_ci(processes, 0), 0.02, 0, (), modes=modes)
    language, model = impl.split("/")
    params = {k: int(v) for k, v in parse_params(case).items()}
    return CaseResult(CaseKey(workload, case, impl, "default"), language, model,
                      {**params, "cpus": 2, "executor": "native"}, "ok", operations=operations,
                      processes=processes, baseline=RUSAGE, detail=detail,
                      flags=(modes.flag(),) if modes.multimodal else ())


def store_run(out: Path, run_id: str, results: Sequence[CaseResult]) -> Path:
    store = RunStore.create(out, run_id, {"argv": ["cmbench", "run"], "host": HOST, "hosts": {"bench1": HOST},
                                          "profile": "quick", "executor": "native", "cpus": [0, 1]})
    for r in results:
        store.add(r, case_rows(r), provenance={"host": "bench1"})
    store.finish("complete")
    return out
