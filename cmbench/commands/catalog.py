"""`cmbench list` and `cmbench new`: what the catalog holds, and a new implementation folder from a template."""

from __future__ import annotations

import argparse
import json
from typing import Any

from cmbench.commands.base import Command, executor_arg
from harness.catalog import Catalog, split_ids
from harness.executors import make_executor
from harness.executors.base import Toolchain
from harness.manifests.model import Impl
from harness.vocab import params_text, render_table

LIST_SCHEMA = 1  # the format `list --json` prints


def cmd_list(args: argparse.Namespace, catalog: Catalog) -> int:
    """Workloads and implementations (description, variants, toolchain); `--impl` shows each one's detail.

    `--json` prints the same as data: {"schema": 1, "workloads": [...], "implementations": [...]}.
    """
    impls = catalog.select_impls(split_ids(args.impl)) if args.impl else list(catalog.impls.values())
    executor = make_executor(args.executor)
    try:
        toolchains = {impl.id: executor.toolchain(impl) for impl in impls}
    finally:
        executor.close()
    if args.impl and not args.json:
        print("\n\n".join(impl_detail(impl, toolchains[impl.id]) for impl in impls))
        return 0
    if args.json:
        print(json.dumps({"schema": LIST_SCHEMA, "workloads": [
            {"name": w.name, "kind": w.kind, "summary": w.summary, "placements": list(w.placements)}
            for w in catalog.workloads.values()], "implementations": [impl_data(i, toolchains[i.id]) for i in impls]},
            indent=1))
        return 0
    rows = [[w.name, w.kind, w.summary] for w in catalog.workloads.values()]
    print(render_table(["workload", "kind", "summary"], rows))
    print()
    rows = []
    for impl in impls:
        tc = toolchains[impl.id]
        variants = ",".join(v.name for v in impl.variants[1:]) or "-"
        rows.append([impl.id, toolchain_text(impl, tc), variants, impl.description or "-"])
    print(render_table(["implementation", "toolchain", "variants", "description"], rows))
    print("\nknobs, variants and workloads of one: cmbench list --impl <language/model>")
    return 0


def impl_data(impl: Impl, toolchain: Toolchain) -> dict[str, Any]:
    """One implementation as `list --json` prints it."""
    return {"id": impl.id, "language": impl.language, "model": impl.model, "description": impl.description,
            "workloads": list(impl.workloads), "toolchain": {"present": toolchain.present, "version": toolchain.version,
                                                             "hint": impl.toolchain_hint},
            "variants": [{"name": v.name, "help": v.help, "workloads": list(v.workloads), "profiles": list(v.profiles)}
                         for v in impl.variants],
            "knobs": dict(impl.knobs), "placement": list(impl.placement),
            "unsupported": [{"workload": u.workload, "params": dict(u.params), "reason": u.reason}
                            for u in impl.unsupported],
            "readme": str(impl.path / "README.md")}


def toolchain_text(impl: Impl, toolchain: Toolchain) -> str:
    return "yes: " + toolchain.version if toolchain.present else "MISSING: " + impl.toolchain_hint


def impl_detail(impl: Impl, toolchain: Toolchain) -> str:
    """One implementation as its impl.toml states it, with its toolchain's state, for reading in a terminal."""
    placed = ("the program pins its threads (it is passed --placement spread)" if "spread" in impl.placement
              else "its runtime and the kernel place its threads (placed_by runtime)")
    lines = [impl.id, f"  description  {impl.description or '-'}", f"  toolchain    {toolchain_text(impl, toolchain)}",
             f"  workloads    {', '.join(impl.workloads)}", f"  spread       {placed}",
             f"  run          {' '.join(impl.run)}", f"  readme       {impl.path / 'README.md'}"]
    if impl.knobs:
        lines.append("  knobs")
        width = max(len(k) for k in impl.knobs)
        lines += [f"    {k:{width}}  {v}" for k, v in impl.knobs.items()]
    lines.append("  variants")
    for v in impl.variants:
        limits = [", ".join(v.workloads)] if v.workloads else []
        if v.profiles:
            limits.append(f"{', '.join(v.profiles)} runs")
        only = f" (only {'; '.join(limits)})" if limits else ""
        how = " ".join([*(f"{k}={x}" for k, x in v.env.items()), *v.args])
        lines.append(f"    {v.name}: {v.help or '-'}{only}" + (f" [{how}]" if how else ""))
    if impl.unsupported:
        lines.append("  unsupported")
        lines += [f"    {u.workload} {params_text(u.params)}: {u.reason}" for u in impl.unsupported]
    return "\n".join(lines)


def list_args(p: argparse.ArgumentParser) -> None:
    executor_arg(p)
    p.add_argument("--impl", help="comma-separated language/model ids: show their knobs, variants and workloads")
    p.add_argument("--json", action="store_true", help="print workloads and implementations as JSON")


def cmd_new(args: argparse.Namespace, catalog: Catalog) -> int:
    """Create impls/LANGUAGE/MODEL/ from a template; it serves ping_pong as it is."""
    from harness.scaffold import new_impl

    folder = new_impl(catalog.root, args.id, args.template, catalog.workloads)
    print(f"created {folder}")
    print(f"next: cmbench build --impl {args.id} && cmbench verify --impl {args.id}; "
          f"then follow {folder / 'README.md'}")
    return 0


def new_args(p: argparse.ArgumentParser) -> None:
    from harness.scaffold import TEMPLATES

    p.add_argument("id", metavar="LANGUAGE/MODEL", help="the new implementation's id, e.g. zig/threads")
    p.add_argument("--template", required=True, choices=list(TEMPLATES),
                   help="; ".join(f"{t.name}: {t.help}" for t in TEMPLATES.values()))


COMMANDS = {
    "list": Command(cmd_list, "list workloads and implementations, with toolchain status", list_args),
    "new": Command(cmd_new, "create impls/LANGUAGE/MODEL/ from a template that serves ping_pong (it builds "
                            "nothing: run build, then verify)", new_args),
}
