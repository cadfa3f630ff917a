"""How long a case should take: the duration of its last stored run, else its kind's guess."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from harness.vocab import params_text

if TYPE_CHECKING:
    pass
from harness.plan.spec import CaseSpec


def _estimate_key(spec: CaseSpec) -> tuple:
    """What makes two cases take about the same time: the same case, implementation and place.

    A calibrated size is left open (it aims at the same seconds per iteration), and so are the
    repetitions: where they adapt, the host's noise decides more of the time than the profile.
    """
    s = spec.unsized()
    return (s.workload, s.case, s.impl, s.variant, s.profile, s.executor, len(s.cpus), params_text(s.params))


@dataclass(frozen=True)
class PastCase:
    """How long a case took in a stored run, its calibration apart (that is paid once per environment)."""

    seconds: float
    calibration: float
    run_id: str


def with_estimates(specs: Iterable[CaseSpec], past: Mapping[tuple, PastCase],
                   calibration_guess: float = 0.0) -> list[CaseSpec]:
    """Each spec with the duration of its last stored run where there is one (else the kind's guess stays).

    A case calibrated at run time adds its calibration: the time it took last, else `calibration_guess`.
    """
    out = []
    for s in specs:
        found = past.get(_estimate_key(s))
        if found and not s.status:
            calibrating = (found.calibration or calibration_guess) if s.pending else 0.0
            s = replace(s, estimate=found.seconds + calibrating, estimate_from=found.run_id)
        out.append(s)
    return out
