"""Nightlies of a compiled fixture whose work per iteration is raised by an exact fraction at build time.

Used by tests/integration/test_nightly_c.py (one short sequence) and, as a script, for the long
validation a test suite cannot afford (both sequences, more nightlies):

    python -m tests.integration.nightly_c --runs 10 --step 5 --after 6 --out /tmp/nc-step
    python -m tests.integration.nightly_c --runs 10 --step 0 --out /tmp/nc-flat

The fixture root (tests/fixtures/nightly_c) is copied to `--out`, made a git repository, and
nightly `--after` onwards measures `cfix/step` built with `work_scale` 1000 + 10 x step (a commit
of its own). Each nightly is `cmbench nightly --profile quick` (`--profile`) with the default detection and A/B
confirmation. The summary (JSON on stdout) counts the candidates found, confirmed and rejected,
the A/B cost per candidate, its ratio and interval, and the minimum detectable changes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
FIXTURE = PROJECT / "tests" / "fixtures" / "nightly_c"
SCALE_FILE = Path("impls") / "cfix" / "step" / "work_scale"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=nightly", "-c", "user.email=nightly@localhost",
                           *args], check=True, capture_output=True, text=True).stdout.strip()


def prepare(out: Path) -> Path:
    root = out / "root"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("build"))
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "fixture")
    return root


def raise_work(root: Path, step_percent: float) -> str:
    scale = round(1000 * (1 + step_percent / 100))
    (root / SCALE_FILE).write_text(f"{scale}\n")
    git(root, "commit", "-q", "-am", f"cfix/step: {step_percent:g}% more work per iteration")
    return git(root, "rev-parse", "HEAD")


def nightly(root: Path, profile: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cmbench", "--root", str(root), "nightly", "--profile", profile,
                           "--results", str(root / "results"), "--quiet-wait", "0", "--fail-on", "regression",
                           *extra], capture_output=True, text=True, timeout=600, cwd=PROJECT)


def sequence(out: Path, runs: int, step: float, after: int, *extra: str, profile: str = "quick") -> dict:
    """Run the nightlies; the facts a test or a reader needs about them."""
    root = prepare(out)
    statuses, seconds, commit = [], [], None
    for i in range(runs):
        if step and i == after:
            commit = raise_work(root, step)
        began = time.perf_counter()
        r = nightly(root, profile, *extra)
        seconds.append(time.perf_counter() - began)
        if r.returncode not in (0, 3):
            raise AssertionError(f"nightly {i}: exit {r.returncode}\n{r.stderr[-3000:]}")
        statuses.append(r.returncode)
    folders = sorted(p for p in (root / "results").iterdir() if (p / "run.json").is_file())
    docs = [json.loads((f / "alerts.json").read_text()) for f in folders]
    drift = [json.loads((f / "run.json").read_text()).get("host_drift") or {} for f in folders]
    return {"root": str(root), "runs": [f.name for f in folders], "statuses": statuses, "seconds": seconds,
            "commit": commit, "alerts": docs, "records": ab_records(folders), "drift": drift}


def ab_records(folders: list[Path]) -> list[dict]:
    out = []
    for f in folders:
        for path in sorted(f.glob("confirm/*/confirmation.json")):
            out.append(json.loads(path.read_text()))
    return out


def summary(facts: dict) -> dict:
    """Candidates found / confirmed / rejected, A/B cost and intervals, sensitivity of the last nightly."""
    candidates = [(d["run_id"], a) for d in facts["alerts"] for a in d["alerts"] if a["new"] is not None]
    by = {"confirmed": 0, "unconfirmed": 0, "unavailable": 0}
    for _, a in candidates:
        by[a["confirmation"]["status"]] += 1
    last = facts["alerts"][-1]["sensitivity"] if facts["alerts"] else {}
    return {"nightlies": len(facts["runs"]), "seconds_per_nightly": facts["seconds"], "statuses": facts["statuses"],
            "host_drift": [(d.get("steady"), d.get("robust_cv")) for d in facts.get("drift", [])],
            "candidate_entries": len(candidates), "by_status": by,
            "environment_changes": sum(len(d["environment_changes"]) for d in facts["alerts"]),
            "ab": [{"run": r["run_id"], "case": f"{r['workload']}[{r['case']}] {r['impl']}", "seconds": r["seconds"],
                    "metrics": {m: v for m, v in r["metrics"].items() if m in ("wall_time", "throughput",
                                                                                "cpu_time_per_op")}}
                   for r in facts["records"]],
            "sensitivity": {k: last.get(k) for k in ("series", "tested", "median", "p90")},
            "insensitive": [s["series"] + f" {s['mdc']:.3f}" for s in last.get("insensitive", [])]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--step", type=float, default=5.0, help="percent more work from nightly --after on (0: none)")
    p.add_argument("--after", type=int, default=6)
    p.add_argument("--profile", default="quick", help="the nightlies' profile (default: quick)")
    p.add_argument("--out", type=Path, required=True, help="an empty folder for the root and its results")
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    print(json.dumps(summary(sequence(a.out, a.runs, a.step, a.after, profile=a.profile)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
