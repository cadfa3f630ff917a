"""pyperf's system tuning, called as a library: the one module that imports pyperf's private modules.

`python -m pyperf system tune|reset` changes the settings that disturb a benchmark on Linux (the
CPU governor and minimum frequency, Turbo Boost through intel_pstate or the MSR, the IRQ
affinities and the irqbalance service, the perf sampling rate, ASLR). cmbench uses the same code
rather than writing those steps again, and drives its operation classes directly instead of
running the command in a subprocess: the command prints a report meant for reading, whose
sentences and section titles a parser would depend on, whereas each operation appends what it
did and what failed to plain lists (`System.actions`, `.errors`, `.warnings`).

What cmbench does not take from pyperf is *reading* the state (harness/host/system.py does):
pyperf's paths are fixed to /sys and /proc when it is imported, so its checks cannot be pointed
at another tree, which a test of a tuned, an untuned and a bare host needs; and it does not check
transparent huge pages, the NMI watchdog or where the harness runs. Its CPU-list helpers are used
as they are.

`_system` and `_cpu_utils` are private to pyperf: a release may rename what is used here. Every
name this module touches is pinned by tests/unit/test_system.py, and pyproject.toml bounds pyperf
below 3, so a change shows as a failing test rather than as a tune that silently does less.
pyperf's operations only ever act on the real host: call `write` with the real root only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pyperf import _cpu_utils, _system

# pyperf's reset writes `powersave`, right for intel_pstate but the slowest setting under
# acpi-cpufreq; when cmbench saved the governor before tuning it restores that one instead.
GOVERNOR = "CPUGovernor"
TURBO_MSR = "TurboBoostMSR"


def parse_cpu_list(text: str) -> tuple[int, ...]:
    """`0-3,6` -> (0, 1, 2, 3, 6); () for an empty list, `(null)` or text that is not a CPU list."""
    try:
        return tuple(_cpu_utils.parse_cpu_list(text) or ())
    except ValueError:
        return ()


def format_cpu_list(cpus: Sequence[int]) -> str:
    """(0, 1, 2, 3, 6) -> `0-3,6`; `none` for no CPU."""
    return _cpu_utils.format_cpu_list(cpus) if cpus else "none"


def parse_cpu_mask(text: str) -> frozenset[int]:
    """A hexadecimal CPU mask as /proc/irq writes it (`00000000,00000003`) -> {0, 1}; {} when it is not one."""
    try:
        mask = _cpu_utils.parse_cpu_mask(text.strip())
    except ValueError:
        return frozenset()
    return frozenset(i for i in range(mask.bit_length()) if mask >> i & 1)


@dataclass
class Changes:
    """What a tune or reset did: each change as a line, and what failed (both pyperf's wording)."""

    actions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _usable(op: Any, cpus: Sequence[int]) -> bool:
    """Turbo Boost through the MSR only where the msr device exists and no cpufreq `boost` file does
    (that file is written by cmbench itself): on a VM or an AMD host the MSR step only reports errors."""
    if type(op).__name__ != TURBO_MSR:
        return True
    return os.path.exists(f"/dev/cpu/{min(cpus)}/msr") and not os.path.exists("/sys/devices/system/cpu/cpufreq/boost")


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """The programs pyperf asks (`systemctl status irqbalance`, `service`) print to the terminal's stderr
    when there is no systemd (a container, a VM's init): their answer is in their exit status, not there."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def write(cpus: Sequence[int], tune: bool, *, skip: Sequence[str] = (),
          system: Callable[[], Any] = _system.System) -> Changes:
    """pyperf's tune (`tune`) or reset of this host for measuring on `cpus`: governor, minimum frequency and
    Turbo Boost on those CPUs, every IRQ onto the other CPUs (none are moved when `cpus` is every CPU), the
    perf sampling rate, ASLR. `skip` names operation classes to leave out. Acts on the real /sys and /proc.
    """
    s = system()
    s.logical_cpu_count = os.cpu_count() or 1
    s.cpus = tuple(sorted(cpus))
    with _quiet_stderr():
        for op in s.operations:
            if type(op).__name__ not in skip and _usable(op, s.cpus):
                op.write(tune)
    return Changes(list(s.actions), [*s.errors, *s.warnings])
