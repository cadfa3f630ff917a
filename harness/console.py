"""The terminal: one line per finished case while a run goes on."""

from __future__ import annotations

import sys
from typing import TextIO

from harness.measure.outcome import CaseResult
from harness.vocab import impl_label


class Console:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def case_done(self, n: int, total: int, result: CaseResult, figures: str, eta: str = "", host: str = "") -> None:
        """One progress line: which case (and host, when a run has several), its figures or its status and error."""
        k = result.key
        where = f"{k.workload}[{k.case}] {impl_label(k.impl, k.variant)}" + (f" on {host}" if host else "")
        what = figures if result.status == "ok" else f"{result.status.upper()}: {result.error}"
        if result.status == "ok" and result.flags:
            what += f"  [{'; '.join(result.flags)}]"
        self.say(f"[{n}/{total}] {where}  {what}  ({result.seconds:.1f} s{', ' + eta if eta else ''})")
