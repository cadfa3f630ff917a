"""The batch part of a workload.toml: parameters, cases per profile, reduced sizes, calibration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.manifests.model import (
    PLACEMENT_PARAM,
    PLACEMENTS,
    PROFILE_SHAPES,
    Case,
    Param,
    ParamValue,
    ProfileShape,
    Scaling,
    Workload,
)
from harness.manifests.toml import TableReader, param_value, profile_tables


def _read_workload(r: TableReader, common: Mapping[str, Any]) -> Workload:
    name = common["name"]
    params_table = r.table_of("params", "one table per parameter", required=True)
    params = []
    for pname in params_table.table:
        p = params_table.table_of(pname, "the parameter's help and choices")
        params.append(Param(pname, p.str("help", "what the parameter means"),
                            p.strings("choices", "allowed words", required=False)))
        p.reject_unknown()
    params_table.allow(*params_table.table)
    by_name = {p.name: p for p in params}
    operations = r.strings("operations", "parameters whose product is the operations per iteration")
    for op in operations:
        if op not in by_name:
            raise r.fail("operations", f"names '{op}', which is not under [params]")
    memory_per = r.str("memory_per", "parameter counting live tasks", required=False)
    if memory_per and memory_per not in by_name:
        raise r.fail("memory_per", f"names '{memory_per}', which is not under [params]")
    scaling = _read_scaling(r, operations, by_name)

    cases: dict[str, tuple[Case, ...]] = {}
    reduced: dict[str, dict[str, ParamValue]] = {}
    shapes: dict[str, ProfileShape] = {}
    for prof, p in profile_tables(r, "the cases of this profile").items():
        default = PROFILE_SHAPES[prof]
        shape = ProfileShape(
            processes=p.int("processes", "processes per case (adaptive profiles: the minimum)", required=False,
                            default=default.processes),
            warmups=p.int("warmups", "warm-up iterations per process", required=False, default=default.warmups),
            iterations=p.int("iterations", "measured iterations per process (adaptive profiles: the minimum)",
                             required=False, default=default.iterations),
            timeout=p.number("timeout", "seconds per process", required=False, default=default.timeout),
            max_processes=p.int("max_processes", "the most processes an adaptive case runs", required=False,
                                default=default.max_processes),
            max_iterations=p.int("max_iterations", "the most measured iterations a process of an adaptive case runs",
                                 required=False, default=default.max_iterations),
            budget=p.number("budget", "seconds of measurement per case before it stops unconverged",
                            required=False, default=default.budget),
            precision=default.precision, reach=default.reach, iteration_seconds=default.iteration_seconds,
            time_limit=default.time_limit)  # the run's, not a workload's (kinds/batch/bank.py)
        if shape.processes < 1 or shape.iterations < 1:
            raise p.fail("processes", "and 'iterations' must be at least 1")
        if shape != default:
            shapes[prof] = shape
        raw_cases = p.tables("cases", "one inline table of parameter values per case")
        if not raw_cases:
            raise p.fail("cases", "must list at least one case")
        built = []
        for i, c in enumerate(raw_cases):
            values = {k: param_value(c, k, v, by_name.get(k)) for k, v in c.table.items()}
            absent = [n for n in by_name if n not in values]
            if absent:
                raise c.fail(absent[0], "is missing: every case sets every parameter")
            built.append(Case(name, i, tuple((n, values[n]) for n in by_name)))
        cases[prof] = tuple(built)
        red = p.table_of("reduced", "smaller sizes for implementations with reduced_sizes = true")
        reduced[prof] = {k: param_value(red, k, v, by_name.get(k)) for k, v in red.table.items()}
        p.reject_unknown()

    return Workload(
        **common, operations=operations,
        result_fields=r.strings("result_fields", "the fields every iteration prints and the harness checks"),
        info_fields=r.strings("info_fields", "fields recorded but not checked", required=False),
        memory_per=memory_per, params=tuple(params), cases=cases, reduced=reduced, shapes=shapes, calibrate=scaling,
        placements=_read_placements(r, by_name),
    )


def _read_placements(r: TableReader, by_name: Mapping[str, Param]) -> tuple[str, ...]:
    """`placements`: where the threads of each case run, one case per placement (workloads/README.md)."""
    placements = r.strings("placements", f"thread placements each case is measured in, of {', '.join(PLACEMENTS)}",
                           required=False)
    for p in placements:
        if p not in PLACEMENTS:
            raise r.fail("placements", f"names '{p}'; a placement is one of {', '.join(PLACEMENTS)}")
    if len(set(placements)) < len(placements):
        raise r.fail("placements", "names a placement twice")
    if placements and PLACEMENT_PARAM in by_name:
        raise r.fail("placements", f"goes with no parameter named '{PLACEMENT_PARAM}' under [params]")
    return placements


def _read_scaling(r: TableReader, operations: Sequence[str], by_name: Mapping[str, Param]) -> Scaling | None:
    """The optional `[calibrate]` table: `param` (one of `operations`) and the cases to `keep` as written."""
    t = r.table_of("calibrate", "the parameter that scales an iteration's work, calibrated per implementation")
    if not t.table:
        return None
    param = t.str("param", "the parameter whose size is calibrated, one of 'operations'")
    if param not in operations:
        raise t.fail("param", f"names '{param}', which is not one of operations ({', '.join(operations)}): only a "
                     "size that the figures are divided by can be calibrated")
    keep = tuple({k: param_value(c, k, v, by_name.get(k)) for k, v in c.table.items()}
                 for c in t.tables("keep", "parameter values of cases whose size is the point (kept as written)"))
    t.reject_unknown()
    return Scaling(param, keep)
