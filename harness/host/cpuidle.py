"""The idle states of a CPU (Linux cpuidle): which it may enter, and the file that disables one.

A CPU with nothing to run enters an idle state; leaving one takes its exit latency (0 for
polling, microseconds for a C-state or a halted vCPU, which the hypervisor must wake). Each
state is a folder `stateN` of `/sys/devices/system/cpu/cpuK/cpuidle/` with its `name`, its
`latency` (microseconds) and `disable` (1: the CPU no longer enters it).

Which state an idle CPU enters is the governor's choice (`cpuidle/current_governor`), and not
every governor reads `disable`: `haltpoll`, the one KVM guests run, halts the vCPU whenever its
poll window is 0 (`/sys/module/haltpoll/parameters/guest_halt_poll_ns`, which a host may set so)
whatever `disable` says. On a 2-vCPU guest with that window at 0, two threads pinned to the two
CPUs handed a byte back and forth in 18.5 us a hand-off with its halt state disabled as without
(16 processes each), and in 2.4 us once the governor was `menu`, which skips a disabled state,
so that the vCPUs polled. Yet the figures repeated less closely polling: of the selection
`cmbench repeatability` reads (66 cases), the 33 `spread` cases moved 5.0% between runs at the
median (mean 10.5%, 16 above 5%) over six runs polling, against 3.5% (mean 5.9%, 10 above 5%)
over six halting, and in two alternated pairs 8.6% against 5.7% at the mean; the one-CPU cases
moved 2.1% and 1.8%. A vCPU that polls is always busy to its host, which preempts it when it
chooses. So `cmbench system tune` leaves a governor that ignores `disable` and its states as they
are, and harness/host/system.py records them (`info`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.host.sysfs import read_setting

CPU = "sys/devices/system/cpu"
GOVERNOR = f"{CPU}/cpuidle/current_governor"
IGNORES_DISABLE = ("haltpoll",)  # governors that may enter a state whose `disable` is 1


@dataclass(frozen=True)
class IdleState:
    folder: str  # stateN
    name: str
    latency: int  # exit latency, microseconds
    disabled: bool


def is_state(folder: str) -> bool:
    return folder.startswith("state") and folder[5:].isdigit()


def disable_file(cpu: int, folder: str) -> str:
    """The `disable` file of state `folder` of `cpu`, relative to the root."""
    return f"{CPU}/cpu{cpu}/cpuidle/{folder}/disable"


def states(root: Path, cpus: Sequence[int]) -> dict[int, list[IdleState]]:
    """The idle states of each of `cpus` that exposes them under `root`, shallowest first."""
    found: dict[int, list[IdleState]] = {}
    for cpu in cpus:
        base = root / CPU / f"cpu{cpu}" / "cpuidle"
        try:
            folders = sorted((p.name for p in base.iterdir() if is_state(p.name)), key=lambda f: int(f[5:]))
        except OSError:
            continue
        listed = []
        for folder in folders:
            latency = read_setting(base / folder / "latency")
            if latency.isdigit():
                listed.append(IdleState(folder, read_setting(base / folder / "name") or folder, int(latency),
                                        read_setting(base / folder / "disable") == "1"))
        if listed:
            found[cpu] = listed
    return found


def governor(root: Path) -> str:
    """The cpuidle governor under `root` ("" where none is exposed)."""
    return read_setting(root / GOVERNOR)


def deep(listed: Sequence[IdleState], governed_by: str = "") -> list[IdleState]:
    """The states of `listed` that take time to leave and are not disabled (under a governor that ignores
    `disable`, every one that takes time to leave)."""
    return [s for s in listed if s.latency > 0 and (governed_by in IGNORES_DISABLE or not s.disabled)]
