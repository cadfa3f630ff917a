"""A plan as the terminal shows it: one line per case, the total count and the estimated time."""

from __future__ import annotations

from harness.manifests.model import PROFILE_SHAPES
from harness.plan.spec import CaseSpec, Plan
from harness.vocab import fmt_duration, render_table


def repetitions_text(s: CaseSpec) -> str:
    """`3x(2+5)`, or for an adaptive spec `3-10x(2+5-20) <=10 s`."""
    if s.status:
        return "—"
    if not s.iterations:
        return f"{s.processes} process"
    if not s.adaptive:
        return f"{s.processes}x({s.warmups}+{s.iterations})"
    most = max(s.max_iterations, s.iterations)
    its = f"{s.iterations}-{most}" if most > s.iterations else str(s.iterations)
    return (f"{s.processes}-{max(s.max_processes, s.processes)}x({s.warmups}+{its})"
            + (f" <={s.budget:g} s" if s.budget else ""))


def size_text(s: CaseSpec) -> str:
    """The calibrated size, `calibrated at run time`, or nothing for a size as written."""
    if not s.calibrate or s.status:
        return ""
    if s.pending:
        return f"{s.calibrate} calibrated at run time"
    return f"{s.calibrate}={s.params[s.calibrate]} (calibrated)"


def plan_table(plan: Plan) -> str:
    """One line per case, then the total count and estimated time."""
    rows = []
    for s in plan.cases:
        est = "—" if s.status else (("~" if s.estimate_from == "profile" else "") + fmt_duration(s.estimate))
        cpus = ",".join(map(str, s.cpus)) + (f" / load {','.join(map(str, s.load_cpus))}" if s.load_cpus else "")
        what = s.status.upper() + f": {s.reason}" if s.status else " ".join(s.command)
        rows.append([s.workload, s.case, s.label, cpus, s.executor, repetitions_text(s), size_text(s), est, what])
    table = render_table(["workload", "case", "implementation", "CPUs", "executor", "processes", "size", "estimate",
                          "command"], rows)
    measured = [s for s in plan.cases if not s.status]
    guessed = sum(1 for s in measured if s.estimate_from == "profile")
    if not guessed:
        note = "; every estimate repeats the last stored run of the same case"
    elif guessed == len(measured):
        note = "; no stored run has these cases, so every estimate (~) is a guess from the profile"
    else:
        note = f"; {guessed} estimate(s) (~) guessed from the profile, the rest repeat the last stored run"
    stopping = next((s for s in measured if s.adaptive), None)
    if stopping is not None:
        note += (f"\nprocesses: minimum-maximum x (warm-ups + iterations, minimum-maximum); more run until the "
                 f"median's 95% CI is within ±{stopping.precision:.0%} or the case's budget is spent")
        shape = PROFILE_SHAPES.get(plan.profile)
        if shape is not None and shape.time_limit:
            note += (f", and none beyond a case's minimum once the run has taken {fmt_duration(shape.time_limit)} "
                     "(the profile's time limit)")
    part = f" in shard {plan.shard.label} of plan {plan.shard.of}" if plan.shard else ""
    return (f"{table}\n\n{len(plan.cases)} cases ({len(measured)} measured){part}, profile {plan.profile}, executor "
            f"{plan.executor}: about {fmt_duration(plan.estimate)} plus builds{note if measured else ''}")
