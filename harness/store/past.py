"""Case durations of the stored runs, read back for the plan's estimates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import UserError

if TYPE_CHECKING:
    pass
from harness.plan.estimates import PastCase, _estimate_key
from harness.plan.spec import CaseSpec


def past_durations(results: Path, limit: int = 200) -> dict[tuple, PastCase]:
    """Case durations of the newest stored runs (up to `limit`), by `_estimate_key`.

    Damaged or foreign folders are skipped: an estimate is a convenience, never a reason to fail.
    """
    from harness.store.run import load_run

    out: dict[tuple, PastCase] = {}
    try:
        folders = sorted((p for p in results.iterdir() if (p / "run.json").is_file()), reverse=True)[:limit]
    except OSError:
        return out
    for folder in folders:  # newest first: the first duration seen for a key wins
        try:
            run = load_run(folder)
        except UserError:
            continue
        for c in run.get("cases", ()):
            spec = c.get("spec")
            if c.get("status") != "ok" or not isinstance(spec, dict):
                continue
            try:
                key = _estimate_key(CaseSpec.from_dict(spec))
            except (UserError, ValueError):
                continue
            extra = c.get("extra") if isinstance(c.get("extra"), dict) else {}
            calibration = extra.get("calibration") if isinstance(extra.get("calibration"), dict) else {}
            spent = float(calibration.get("seconds", 0.0)) if extra.get("calibrated") == "run" else 0.0
            seconds = float(c.get("seconds", 0.0))
            out.setdefault(key, PastCase(max(0.0, seconds - spent), spent, str(run.get("run_id", folder.name))))
    return out
