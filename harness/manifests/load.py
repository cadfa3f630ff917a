"""Loading workload.toml and impl.toml into the value types, every field validated once.

Every error names the file, the field and what the field must hold, so a researcher adding an
implementation can fix the file from the message alone. A workload's kind-specific part is read by
its kind (harness/kinds), which the caller passes in: the manifests know no kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness.manifests.model import BUILD_TIMEOUT, DEFAULT_VARIANT, PROFILES, Impl, Unsupported, Variant, Workload
from harness.manifests.toml import TableReader, check_schema, param_value, read_toml

WorkloadReader = Callable[[TableReader, Mapping[str, Any]], Workload]


def read_workload(path: Path, readers: Mapping[str, WorkloadReader]) -> Workload:
    """Load and validate `<dir>/workload.toml`: the fields every kind shares here, the rest by its kind's reader.

    `readers` maps each kind's name to the function that reads its part (harness/kinds `KINDS`).
    """
    r = TableReader(path, read_toml(path))
    check_schema(r)
    name = r.str("name", "the workload's name, the same as its folder")
    if name != path.parent.name:
        raise r.fail("name", f"must match its folder name '{path.parent.name}'")
    kind = r.str("kind", f"one of {', '.join(readers)}", required=False, default="batch")
    if kind not in readers:
        raise r.fail("kind", f"must be one of {', '.join(readers)}")
    common = {"name": name, "path": path.parent, "kind": kind,
              "summary": r.str("summary", "one line describing the work"),
              "operation": r.str("operation", "what one operation is, e.g. 'task'"),
              **_report(r.table_of("report", "how the reports rank and summarise the workload"))}
    workload = readers[kind](r, common)
    r.reject_unknown()
    return workload


def _report(r: TableReader) -> dict[str, Any]:
    """The optional [report] table: `key_metrics`, the metrics that answer the workload's question, the first
    ranking it (metric names as results.csv spells them, e.g. "memory_per_task", "timer_late_p50")."""
    metrics = r.strings("key_metrics", "metric names, the first ranks the workload", required=False)
    r.reject_unknown()
    return {"key_metrics": metrics}


def load_impl(path: Path, root: Path, known_workloads: Mapping[str, Workload]) -> Impl:
    """Load and validate `impls/<language>/<model>/impl.toml`."""
    r = TableReader(path, read_toml(path))
    check_schema(r)
    folder = path.parent
    language = r.str("language", "the language, the same as the parent folder, e.g. 'go'")
    model = r.str("model", "the concurrency model, the same as the folder, e.g. 'goroutines'")
    expected_id = folder.relative_to(root).as_posix()
    if f"{language}/{model}" != expected_id:
        raise r.fail("language", f"and 'model' must match the folder: expected '{expected_id}'")
    workloads = r.strings("workloads", "the workloads this implementation serves")
    for w in workloads:
        if w not in known_workloads:
            raise r.fail("workloads", f"names unknown workload '{w}' (known: {', '.join(sorted(known_workloads))})")
    toolchain = r.table_of("toolchain", "how to tell whether the toolchain is present", required=True)
    build = r.table_of("build", "how to build it")
    run = r.table_of("run", "how to start it", required=True)

    variants = [DEFAULT_VARIANT]
    for v in r.tables("variants", "extra settings run as their own rows"):
        vname = v.str("name", "a short name, e.g. 'uvloop'")
        if vname in {x.name for x in variants}:
            raise v.fail("name", f"'{vname}' is used twice")
        vworkloads = v.strings("workloads", "the workloads this variant applies to", required=False)
        for w in vworkloads:
            if w not in workloads:
                raise v.fail("workloads", f"names '{w}', which is not in this implementation's workloads")
        vprofiles = v.strings("profiles", "the profiles whose runs measure this variant", required=False)
        for p in vprofiles:
            if p not in PROFILES:
                raise v.fail("profiles", f"names unknown profile '{p}' (known: {', '.join(PROFILES)})")
        variants.append(Variant(name=vname, help=v.str("help", "what the variant changes", required=False),
                                env=v.string_map("env", "environment variables"),
                                args=v.strings("args", "extra arguments", required=False, nonempty=False),
                                workloads=vworkloads, profiles=vprofiles))
        v.reject_unknown()

    unsupported = [_unsupported(u, workloads, known_workloads, [x.name for x in variants])
                   for u in r.tables("unsupported", "cases without meaning in this model")]

    impl = Impl(
        id=expected_id, path=folder, language=language, model=model,
        description=r.str("description", "one line: the primitives used", required=False),
        workloads=workloads,
        toolchain_check=toolchain.strings("check", "a command that exits 0 when the toolchain is present"),
        toolchain_hint=toolchain.str("hint", "what to do when the toolchain is missing"),
        build=build.strings("command", "the build command, run in the folder", required=False),
        build_timeout=_build_timeout(build),
        run=run.strings("command", "the command that starts the program"),
        reduced_sizes=r.bool("reduced_sizes", "run the workloads' reduced sizes"),
        placement=_placement(r),
        knobs=r.string_map("knobs", "runtime settings, stated for the reader"),
        variants=tuple(variants), unsupported=tuple(unsupported),
    )
    for table in (toolchain, build, run, r):
        table.reject_unknown()
    return impl


def _unsupported(u: TableReader, workloads: tuple[str, ...], known: Mapping[str, Workload],
                 variants: list[str]) -> Unsupported:
    uw = u.str("workload", "the workload")
    if uw not in workloads:
        raise u.fail("workload", f"names '{uw}', which is not in this implementation's workloads")
    params = u.table_of("params", "parameter values that select the unsupported cases (none: every case)")
    declared = {p.name: p for p in known[uw].params}
    values = {k: param_value(params, k, v, declared.get(k)) for k, v in params.table.items()}
    names = u.strings("variants", "the variants it applies to (default: every variant)", required=False)
    for name in names:
        if name not in variants:
            raise u.fail("variants", f"names '{name}', which is not a variant of this implementation "
                                     f"(variants: {', '.join(variants)})")
    reason = u.str("reason", "why the case has no meaning here")
    u.reject_unknown()
    return Unsupported(uw, values, reason, names)


def _build_timeout(build: TableReader) -> float:
    """`[build] timeout`: the seconds the build may take before it is stopped and fails."""
    seconds = build.number("timeout", "the seconds the build may take before it is stopped", required=False,
                           default=BUILD_TIMEOUT)
    if not seconds:
        raise build.fail("timeout", "must be more than 0 seconds (leave it out for the default, "
                                    f"{BUILD_TIMEOUT:g} s)")
    return seconds


def _placement(r: TableReader) -> tuple[str, ...]:
    """`placement`: the placements the program makes itself (workloads/README.md "Placement")."""
    made = r.strings("placement", "the placements this program makes itself: [\"spread\"] when it pins its "
                     "threads one per CPU given `--placement spread`", required=False)
    for p in made:
        if p != "spread":
            raise r.fail("placement", f"names '{p}'; a program can only make 'spread' itself (the harness makes "
                                      "'one' by pinning the process)")
    return made
