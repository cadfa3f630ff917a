"""The catalog: every workload under workloads/ and every implementation under impls/.

Workloads and implementations are data folders found by their manifest files; selecting them
by id is the one place that turns a user's `--impl` or `--workload` into manifests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import UsageError, UserError
from harness.kinds import KINDS
from harness.manifests.load import load_impl, read_workload
from harness.manifests.model import Impl, Variant, Workload

if TYPE_CHECKING:
    from harness.plan.spec import CaseSpec


@dataclass(frozen=True)
class Catalog:
    root: Path
    workloads: dict[str, Workload]
    impls: dict[str, Impl]

    def select_impls(self, ids: Iterable[str] | None, flag: str = "--impl") -> list[Impl]:
        """The implementations `ids` name, each as `language/model`, `language/model:variant` (the ids
        `cmbench plan` prints; only that variant is run, in any profile) or `language` (every model of the
        language)."""
        if ids is None:
            return list(self.impls.values())
        chosen: dict[str, Impl] = {}
        variants: dict[str, list[str]] = {}
        named: dict[str, list[str]] = {}  # variants named with `:`, run whatever profiles their impl.toml lists
        for word in ids:
            name, _, variant = word.partition(":")
            if name in self.impls:
                found = [name]
            elif "/" not in name and any(i.language == name for i in self.impls.values()):
                found = [i.id for i in self.impls.values() if i.language == name]
            else:
                found = [x.id for x in _select(self.impls, [name], flag, "implementation")]  # its error
            for impl_id in found:
                chosen.setdefault(impl_id, self.impls[impl_id])
                if variant:
                    names = [v.name for v in self.impls[impl_id].variants]
                    if variant not in names:
                        raise UsageError(f"{flag}: {impl_id} has no variant '{variant}'; its variants: "
                                        f"{', '.join(names)}")
                    variants.setdefault(impl_id, []).append(variant)
                    named.setdefault(impl_id, []).append(variant)
                else:
                    variants[impl_id] = [v.name for v in self.impls[impl_id].variants]
        if not chosen:
            return _select(self.impls, [], flag, "implementation")  # the error for a blank list
        return [replace(impl, variants=tuple(replace(v, profiles=()) if v.name in named.get(impl.id, ()) else v
                                             for v in impl.variants if v.name in variants[impl.id]))
                for impl in chosen.values()]

    def select_workloads(self, names: Iterable[str] | None, flag: str = "--workload") -> list[Workload]:
        return _select(self.workloads, names, flag, "workload")

    def resolve(self, spec: CaseSpec) -> tuple[Workload, Impl, Variant]:
        """The manifests a case specification names; UserError when this catalog lacks one."""
        workload = self.workloads.get(spec.workload)
        impl = self.impls.get(spec.impl)
        variant = next((v for v in impl.variants if v.name == spec.variant), None) if impl else None
        if workload is None or impl is None or variant is None:
            what = (f"workload '{spec.workload}'" if workload is None else f"implementation '{spec.impl}'"
                    if impl is None else f"variant '{spec.variant}' of {spec.impl}")
            raise UserError(f"{self.root}: has no {what}, which the plan names; plan again here")
        return workload, impl, variant


def _select(known: dict, wanted: Iterable[str] | None, flag: str, what: str) -> list:
    if wanted is None:
        return list(known.values())
    wanted = list(wanted)
    if not wanted:  # `--impl ""` from a blank shell variable must not mean "all"
        raise UsageError(f"{flag}: names no {what}; leave the flag out for all, or name some: {', '.join(known)}")
    chosen = []
    for name in wanted:
        if name not in known:
            raise UsageError(f"{flag}: unknown {what} '{name}'; valid: {', '.join(known) or '(none)'}")
        if known[name] not in chosen:
            chosen.append(known[name])
    return chosen


def split_ids(value: str | None) -> list[str] | None:
    """Split a comma-separated flag value ("a/b,c/d") into ids; None when not given."""
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def find_root(start: Path | None = None) -> Path:
    """The project root: the nearest folder upwards holding workloads/ and impls/."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "workloads").is_dir() and (folder / "impls").is_dir():
            return folder
    packaged = Path(__file__).resolve().parent.parent
    if (packaged / "workloads").is_dir():
        return packaged
    raise UserError(f"{here}: no workloads/ and impls/ here or above; run cmbench inside the project (or pass --root)")


def load_workload(path: Path) -> Workload:
    """Load and validate `<dir>/workload.toml`, its kind-specific part read by its kind."""
    return read_workload(path, {name: kind.read_workload for name, kind in KINDS.items()})


def load_catalog(root: Path) -> Catalog:
    workloads = {}
    for path in sorted((root / "workloads").glob("*/workload.toml")):
        w = load_workload(path)
        workloads[w.name] = w
    impls = {}
    impls_root = root / "impls"
    for path in sorted(impls_root.glob("*/*/impl.toml")):
        impl = load_impl(path, impls_root, workloads)
        impls[impl.id] = impl
    return Catalog(root=root, workloads=workloads, impls=impls)
