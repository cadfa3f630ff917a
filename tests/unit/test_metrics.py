from harness.measure.metrics import METRICS, case_rows, info_rows
from harness.measure.outcome import CaseKey, CaseResult, Iteration, ProcessRun
from harness.measure.process import Rusage


def result(cgroup_peak=0):
    base = Rusage(0.01, 0.0, 4 * 2**20, 10, 2)
    proc = ProcessRun((Iteration(0, True, 0.5), Iteration(1, False, 0.25)),
                      Rusage(0.5, 0.1, 24 * 2**20, 110, 12), 1.0, cgroup_peak)
    return CaseResult(CaseKey("spawn_idle", "tasks=100", "x/y", "default"), "x", "y",
                      {"tasks": 100, "sleep_ms": 1, "cpus": 1, "executor": "native"}, "ok", operations=100,
                      processes=(proc,), baseline=base, seconds=1.5)


def test_rows_and_per_op_arithmetic():
    rows = {r.metric: r.value for r in case_rows(result(), memory_per="tasks")}
    assert rows["wall_time"] == 0.25 and rows["throughput"] == 400.0
    assert rows["ctx_switches_voluntary_per_op"] == (110 - 10) / 200
    assert rows["memory_per_task"] == 20 * 2**20 / 100
    assert rows["harness_overhead"] == 0.5
    assert "container_peak_memory" not in rows
    assert all(m in METRICS for m in rows)


def test_container_peak_only_when_known():
    rows = {r.metric: r.value for r in case_rows(result(cgroup_peak=30 * 2**20))}
    assert rows["container_peak_memory"] == 30 * 2**20


def test_failed_case_has_no_rows():
    r = result()
    failed = CaseResult(r.key, r.language, r.model, r.params, "crashed", "boom")
    assert list(case_rows(failed)) == []


def test_info_fields_become_rows_per_measured_iteration():
    base = Rusage(0.01, 0.0, 4 * 2**20, 10, 2)
    its = (Iteration(0, True, 0.5, {"gc_cycles": 9}),
           Iteration(1, False, 0.25, {"gc_cycles": 2, "alloc_bytes": 4096, "unknown_field": 1, "stack_bytes": 0}))
    proc = ProcessRun(its, Rusage(0.5, 0.1, 24 * 2**20, 110, 12), 1.0)
    r = CaseResult(CaseKey("worker_pool", "tasks=1", "go/goroutines", "default"), "go", "goroutines",
                   {"tasks": 1, "cpus": 1, "executor": "native"}, "ok", operations=1, processes=(proc,),
                   baseline=base, seconds=1.0)
    rows = [(x.metric, x.process, x.iteration, x.value) for x in info_rows(r)]
    # warm-ups are not stored; unknown fields and per-case ones (stack_bytes) are not rows here
    assert rows == [("gc_cycles", 0, 1, 2), ("alloc_bytes", 0, 1, 4096)]
    assert list(info_rows(CaseResult(r.key, "go", "goroutines", r.params, "crashed", "boom"))) == []


def test_every_info_field_a_workload_declares_is_a_metric():
    from harness.catalog import load_catalog

    from ..conftest import PROJECT

    for w in load_catalog(PROJECT).workloads.values():
        for name in w.info_fields:
            assert name in METRICS and METRICS[name].direction == "info", (w.name, name)
