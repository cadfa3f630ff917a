"""`cmbench system`: the checks on fake /sys and /proc trees, tune and reset under a fake root, the JSON form,
the command, the run's record of it, and the pyperf names relied on.

Nothing here writes under the real / : tune and reset only ever get a temporary root (pyperf's operations,
which act on the real host, are never driven from a test).
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from pathlib import Path

import pytest

from cmbench.cli import main
from harness.console import Console
from harness.engine.local import run_cases
from harness.errors import UserError
from harness.host import pyperf_tuning, system, tuning
from harness.host.system import CheckStatus, SystemReport, system_report

ALL = (0, 1, 2, 3)
BOOT = "0e6b9f1c-boot"


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        if text is None:  # a folder: an IRQ's handler
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return root


def cpufreq(cpus, governor: str, low: int, high: int, driver: str) -> dict[str, str]:
    out = {}
    for c in cpus:
        base = f"sys/devices/system/cpu/cpu{c}/cpufreq"
        out.update({f"{base}/scaling_governor": governor, f"{base}/scaling_min_freq": str(low),
                    f"{base}/scaling_max_freq": str(high), f"{base}/scaling_driver": driver})
    return out


def cpuidle(cpus, *states: tuple[str, int, str]) -> dict[str, str]:
    """Each CPU's idle states: (name, exit latency in us, disable)."""
    out = {}
    for c in cpus:
        for k, (name, latency, disable) in enumerate(states):
            base = f"sys/devices/system/cpu/cpu{c}/cpuidle/state{k}"
            out.update({f"{base}/name": name, f"{base}/latency": str(latency), f"{base}/disable": disable})
    return out


def damon_reclaiming() -> dict[str, str]:
    """A VM's proactive reclaim: one kdamond paging out what went unused, and DAMON_RECLAIM's module on too."""
    context = "sys/kernel/mm/damon/admin/kdamonds/0/contexts/0"
    return {"sys/kernel/mm/damon/admin/kdamonds/nr_kdamonds": "1", "sys/kernel/mm/damon/admin/kdamonds/0/state": "on",
            f"{context}/operations": "paddr", f"{context}/schemes/0/action": "pageout",
            "sys/module/damon_reclaim/parameters/enabled": "Y", "sys/module/damon_lru_sort/parameters/enabled": "N"}


def tuned_host(root: Path) -> Path:
    """4 CPUs, cases on 2-3: isolated, no tick, no IRQ there, fixed clock, no boost; the harness on 0-1."""
    return tree(root, {
        "sys/devices/system/cpu/online": "0-3",
        **cpufreq(ALL, "performance", 3000000, 3000000, "acpi-cpufreq"),
        **cpuidle(ALL, ("POLL", 0, "0"), ("C1", 2, "1"), ("C6", 170, "1")),
        "sys/devices/system/cpu/cpufreq/boost": "0",
        "sys/devices/system/cpu/isolated": "2-3",
        "sys/devices/system/cpu/nohz_full": "2-3",
        "proc/cmdline": "ro quiet isolcpus=managed_irq,domain,2-3 nohz_full=2-3 rcu_nocbs=2-3",
        "proc/irq/default_smp_affinity": "3",
        "proc/irq/24/smp_affinity": "00000000,00000003", "proc/irq/24/eth0": None,
        "proc/irq/25/smp_affinity": "f",  # no handler: left out
        "proc/1/comm": "systemd",
        "proc/sys/kernel/nmi_watchdog": "0",
        "proc/sys/kernel/randomize_va_space": "2",
        "proc/sys/kernel/perf_event_max_sample_rate": "1",
        "proc/sys/kernel/sched_autogroup_enabled": "0",
        "proc/sys/kernel/random/boot_id": BOOT,
        "sys/kernel/mm/transparent_hugepage/enabled": "always madvise [never]",
        "sys/kernel/mm/transparent_hugepage/defrag": "always defer defer+madvise [madvise] never",
        "sys/kernel/mm/damon/admin/kdamonds/nr_kdamonds": "1", "sys/kernel/mm/damon/admin/kdamonds/0/state": "off",
        "sys/class/power_supply/AC/type": "Mains", "sys/class/power_supply/AC/online": "1",
        "sys/class/power_supply/BAT0/type": "Battery",
    })


def untuned_host(root: Path) -> Path:
    """A laptop as installed: every setting at the value that disturbs, cases on CPU 0-1."""
    return tree(root, {
        "sys/devices/system/cpu/online": "0-3",
        **cpufreq(ALL, "powersave", 800000, 3400000, "intel_pstate"),
        **cpuidle(ALL, ("POLL", 0, "0"), ("C1", 2, "0"), ("C6", 170, "0")),
        "sys/devices/system/cpu/intel_pstate/no_turbo": "0",
        "sys/devices/system/cpu/cpufreq/boost": "1",
        "sys/devices/system/cpu/isolated": "",
        "sys/devices/system/cpu/nohz_full": " (null)",
        "proc/cmdline": "BOOT_IMAGE=/vmlinuz ro quiet splash",
        "proc/irq/default_smp_affinity": "f",
        "proc/irq/24/smp_affinity": "f", "proc/irq/24/eth0": None,
        "proc/irq/30/smp_affinity": "1", "proc/irq/30/nvme0q1": None,
        "proc/1/comm": "systemd", "proc/812/comm": "irqbalance",
        "proc/sys/kernel/nmi_watchdog": "1",
        "proc/sys/kernel/randomize_va_space": "0",
        "proc/sys/kernel/perf_event_max_sample_rate": "100000",
        "proc/sys/kernel/sched_autogroup_enabled": "1",
        "proc/sys/kernel/random/boot_id": BOOT,
        "sys/kernel/mm/transparent_hugepage/enabled": "[always] madvise never",
        "sys/kernel/mm/transparent_hugepage/defrag": "[always] defer defer+madvise madvise never",
        **damon_reclaiming(),
        "sys/class/power_supply/AC/type": "Mains", "sys/class/power_supply/AC/online": "0",
    })


def statuses(report: SystemReport) -> dict[str, str]:
    return {c.name: c.status.value for c in report.checks}


def test_a_tuned_host_passes_every_check(tmp_path):
    report = system_report((2, 3), root=tuned_host(tmp_path), harness=ALL)
    assert report.ok and report.cpus == (2, 3), report.table()
    assert set(statuses(report).values()) == {"ok", "info"}
    assert report.check("harness_cpus").state == "moved to CPU 0-1 while a case runs on CPU 2-3"
    assert report.check("isolcpus").state == "CPU 2-3 isolated"
    assert report.check("nohz_full").state == "CPU 2-3; rcu_nocbs CPU 2-3"
    assert report.check("irq_affinity").state.startswith("0 of 1 IRQs may run on CPU 2-3; new IRQs on CPU 0-1")
    assert report.check("governor").state == "performance on CPU 2-3"
    assert report.check("frequency").state == "3000 MHz on CPU 2-3"
    assert report.check("boost").state == "off (cpufreq boost=0)"
    assert report.check("idle_states").state == "polling only on CPU 2-3"
    assert report.check("thp").state == "never" and report.check("thp_defrag").state == "madvise"
    assert report.check("power_supply").state == "on mains"
    assert report.check("damon").state == "no monitor running"
    assert "no check warns" in report.table()


def test_an_untuned_host_warns_on_each_setting_with_advice(tmp_path):
    report = system_report((0, 1), root=untuned_host(tmp_path), harness=ALL)
    assert not report.ok
    assert statuses(report) == {
        "harness_cpus": "ok", "governor": "warn", "frequency": "warn", "boost": "warn", "idle_states": "warn",
        "isolcpus": "warn",
        "nohz_full": "warn", "irq_affinity": "warn", "nmi_watchdog": "warn", "aslr": "warn", "thp": "warn",
        "thp_defrag": "warn", "damon": "warn", "perf_sample_rate": "warn", "sched_autogroup": "info",
        "power_supply": "warn"}
    assert all(c.advice for c in report.warnings)
    assert report.check("governor").state == "powersave on CPU 0-1"
    assert report.check("frequency").state == "800-3400 MHz on CPU 0-1"
    assert report.check("boost").state == "on (intel_pstate no_turbo=0)"  # intel_pstate's file comes first
    assert report.check("idle_states").state == "may enter C1 (2 us to leave), C6 (170 us to leave) on CPU 0-1"
    assert report.check("irq_affinity").state == ("2 of 2 IRQs may run on CPU 0-1; new IRQs on CPU 0-3; "
                                                  "irqbalance running")
    assert "CPU 2-3" in report.check("irq_affinity").advice
    assert report.check("aslr").state == "off" and report.check("perf_sample_rate").state == "100000 per second"
    assert report.check("power_supply").state == "on battery"
    assert report.check("damon").state == "running: kdamond 0 (paddr; pageout); damon_reclaim"
    text = report.table()
    assert len(report.warnings) == 14 and "14 to look at:" in text
    assert "  thp: cmbench system tune sets madvise" in text


def test_the_harness_on_the_measured_cpus_warns_and_one_cpu_is_not_judged(tmp_path):
    untuned_host(tmp_path)
    shared = system_report(ALL, root=tmp_path, harness=ALL)
    assert shared.check("harness_cpus").status == CheckStatus.WARN
    assert "--cpus 3" in shared.check("harness_cpus").advice
    assert shared.check("irq_affinity").status == CheckStatus.NA  # no CPU for them to go to
    lone = system_report((0,), root=tmp_path / "nothing", harness=(0,))
    assert {c.name for c in lone.checks if c.status == CheckStatus.NA} >= {"harness_cpus", "isolcpus", "nohz_full"}


def test_a_vm_that_exposes_nothing_reports_not_exposed_and_never_fails(tmp_path):
    (tmp_path / "proc/sys/kernel/nmi_watchdog").mkdir(parents=True)  # unreadable as a file
    (tmp_path / "proc/irq").mkdir()
    report = system_report((0, 1), root=tmp_path, harness=(0, 1))
    assert statuses(report) == {
        "harness_cpus": "warn", "governor": "n/a", "frequency": "n/a", "boost": "n/a", "idle_states": "n/a",
        "isolcpus": "warn",
        "nohz_full": "n/a", "irq_affinity": "n/a", "nmi_watchdog": "n/a", "aslr": "n/a", "thp": "n/a",
        "thp_defrag": "n/a", "damon": "n/a", "perf_sample_rate": "n/a", "sched_autogroup": "n/a",
        "power_supply": "n/a"}
    assert report.check("governor").state.startswith("not exposed")


def test_isolated_cpus_come_from_the_kernel_command_line_when_sysfs_has_none(tmp_path):
    tree(tmp_path, {"proc/cmdline": "quiet isolcpus=nohz,domain,2-3 nohz_full=2,3",
                    "sys/devices/system/cpu/online": "0-3"})
    report = system_report((2, 3), root=tmp_path, harness=ALL)
    assert report.check("isolcpus").status == CheckStatus.OK
    assert report.check("nohz_full").state == "CPU 2-3"
    other = system_report((0, 1), root=tmp_path, harness=ALL)
    assert other.check("isolcpus").state == "CPU 2-3 isolated; the cases run on CPU 0-1"


def test_the_json_form_round_trips(tmp_path):
    report = system_report((0, 1), root=untuned_host(tmp_path), harness=ALL)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["schema"] == 1 and data["ok"] is False and data["cpus"] == [0, 1]
    assert data["checks"][0] == {"name": "harness_cpus", "status": "ok", "advice": "",
                                 "state": "moved to CPU 2-3 while a case runs on CPU 0-1"}
    assert SystemReport.from_dict(data) == report
    with pytest.raises(ValueError, match="not a system report"):
        SystemReport.from_dict({"cpus": [0], "checks": [{"name": "x", "status": "bad", "state": ""}], "schema": 1})


@pytest.mark.parametrize("action", ["tune", "reset"])
def test_tune_and_reset_refuse_without_root(action, monkeypatch, tmp_path, fixture_root, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(pyperf_tuning, "write", lambda *a, **k: pytest.fail("pyperf must not be driven"))
    call = functools.partial(tuning.tune, (0,)) if action == "tune" else tuning.reset
    with pytest.raises(UserError, match=f"needs root; run: sudo cmbench system {action}"):
        call(root=untuned_host(tmp_path))
    assert main(["--root", str(fixture_root), "system", action]) == 1
    err = capsys.readouterr().err
    assert err == f"cmbench: error: system {action}: changing kernel settings needs root; run: sudo cmbench system " \
                  f"{action}\n"


def test_tune_writes_what_pyperf_leaves_and_reset_puts_it_back(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(pyperf_tuning, "write", lambda *a, **k: pytest.fail("pyperf only acts on the real root"))
    root = untuned_host(tmp_path)
    thp = root / "sys/kernel/mm/transparent_hugepage"
    changes = tuning.tune((0, 1), root=root)
    assert not changes.failed
    assert [line.split(":")[0] for line in changes.changed] == [
        "thp", "thp_defrag", "nmi_watchdog", "boost", "idle state C1 of CPU 0", "idle state C6 of CPU 0",
        "idle state C1 of CPU 1", "idle state C6 of CPU 1", "DAMON kdamond 0", "DAMON damon_reclaim"]
    damon = root / "sys/kernel/mm/damon/admin/kdamonds/0/state"
    reclaim = root / "sys/module/damon_reclaim/parameters/enabled"
    assert damon.read_text() == "off" and reclaim.read_text() == "N"
    idle = root / "sys/devices/system/cpu/cpu1/cpuidle"
    assert [(idle / f"state{k}/disable").read_text() for k in range(3)] == ["0\n", "1", "1"]  # polling stays
    assert (root / "sys/devices/system/cpu/cpu2/cpuidle/state1/disable").read_text() == "0\n"  # not measured
    assert (thp / "enabled").read_text() == "madvise" and (root / "proc/sys/kernel/nmi_watchdog").read_text() == "0"
    report = system_report((0, 1), root=root, harness=ALL)
    assert {"thp", "thp_defrag", "nmi_watchdog", "idle_states", "damon"}.isdisjoint(c.name for c in report.warnings)
    saved = json.loads((root / tuning.SAVED).read_text())
    assert saved["idle_states"] == {"0/state1": "0", "0/state2": "0", "1/state1": "0", "1/state2": "0"}
    assert saved["settings"] == {"thp": "always", "thp_defrag": "always", "nmi_watchdog": "1", "boost": "1"}
    assert saved["governors"] == {"0": "powersave", "1": "powersave"} and saved["boot_id"] == BOOT
    assert saved["damon"] == {"sys/kernel/mm/damon/admin/kdamonds/0/state": "on",
                              "sys/module/damon_reclaim/parameters/enabled": "Y"}
    again = tuning.tune((0, 1), root=root)  # tuning twice keeps what was there before the first
    assert again.changed == [] and json.loads((root / tuning.SAVED).read_text())["settings"] == saved["settings"]

    (root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").write_text("performance")  # as pyperf sets it
    undone = tuning.reset(root=root)
    assert not undone.failed and not undone.notes
    assert (thp / "enabled").read_text() == "always" and (thp / "defrag").read_text() == "always"
    assert (root / "proc/sys/kernel/nmi_watchdog").read_text() == "1"
    assert [(idle / f"state{k}/disable").read_text().strip() for k in range(3)] == ["0", "0", "0"]
    assert (root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").read_text() == "powersave"
    assert "governor of CPU 0: powersave" in undone.changed[0]
    assert damon.read_text() == "on" and reclaim.read_text() == "Y"
    assert (root / "sys/module/damon_lru_sort/parameters/enabled").read_text() == "N\n"  # never on: left alone
    assert not (root / tuning.SAVED).exists()
    assert tuning.reset(root=root).notes[0].startswith("nothing saved by `cmbench system tune` since boot")


def test_a_save_from_another_boot_is_not_restored(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    root = untuned_host(tmp_path)
    tuning.tune((0, 1), root=root)
    (root / "proc/sys/kernel/random/boot_id").write_text("another-boot")
    assert tuning.reset(root=root).changed == []
    assert (root / "sys/kernel/mm/transparent_hugepage/enabled").read_text() == "madvise"


def test_reset_switches_back_only_the_damon_monitors_tune_stopped(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    root = untuned_host(tmp_path)
    tuning.tune((0, 1), root=root)
    saved = json.loads((root / tuning.SAVED).read_text())
    saved["damon"]["etc/hostname"] = "on"  # a save edited by hand: not a DAMON switch
    (root / tuning.SAVED).write_text(json.dumps(saved))
    (root / "etc").mkdir()
    (root / "etc/hostname").write_text("off")
    (root / "sys/module/damon_reclaim/parameters/enabled").write_text("Y")  # switched on again meanwhile
    undone = tuning.reset(root=root)
    assert [line for line in undone.changed if "DAMON" in line] == [
        "DAMON kdamond 0: on (/sys/kernel/mm/damon/admin/kdamonds/0/state)"]
    assert (root / "etc/hostname").read_text() == "off"


def test_a_governor_that_ignores_disabled_states_is_recorded_and_left_alone(monkeypatch, tmp_path):
    """A KVM guest: the haltpoll governor halts a vCPU whatever its halt state's `disable` says."""
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    root = tree(tmp_path, {
        "sys/devices/system/cpu/online": "0-1", "proc/sys/kernel/random/boot_id": BOOT,
        **cpuidle((0, 1), ("POLL", 0, "0"), ("haltpoll idle", 1, "0")),
        "sys/devices/system/cpu/cpu1/cpuidle/state1/disable": "1",  # disabled by hand on CPU 1: halts all the same
        "sys/devices/system/cpu/cpuidle/current_governor": "haltpoll",
    })
    check = system_report((0, 1), root=root, harness=(0, 1)).check("idle_states")
    assert check.status.value == "info" and not check.advice
    assert check.state.startswith("may enter haltpoll idle (1 us to leave) on CPU 0-1 (governor haltpoll: a KVM "
                                  "guest's, which enters them even where disabled; tune leaves them")
    assert not [line for line in tuning.tune((0, 1), root=root).changed if "idle" in line]
    assert [(root / f"sys/devices/system/cpu/cpu{c}/cpuidle/state1/disable").read_text().strip()
            for c in (0, 1)] == ["0", "1"]
    (root / "sys/devices/system/cpu/cpuidle/current_governor").write_text("menu")  # one that reads `disable`
    assert system_report((0, 1), root=root, harness=(0, 1)).check("idle_states").state == (
        "may enter haltpoll idle (1 us to leave) on CPU 0")
    assert tuning.tune((0, 1), root=root).changed == ["idle state haltpoll idle of CPU 0: 1 "
                                                      "(/sys/devices/system/cpu/cpu0/cpuidle/state1/disable)"]


def test_pyperf_is_driven_through_its_operations_with_the_measured_cpus():
    class CPUGovernor:
        def __init__(self, s):
            self.s = s

        def write(self, tune):
            self.s.actions.append(f"governor tune={tune} cpus={self.s.cpus}")

    class ASLR(CPUGovernor):
        def write(self, tune):
            self.s.errors.append("ASLR: Failed to write")

    class Stub:
        def __init__(self):
            self.actions, self.errors, self.warnings = [], [], ["a warning"]
            self.operations = [CPUGovernor(self), ASLR(self)]

    done = pyperf_tuning.write((3, 1), True, system=Stub)
    assert done.actions == ["governor tune=True cpus=(1, 3)"]
    assert done.errors == ["ASLR: Failed to write", "a warning"]
    assert pyperf_tuning.write((1,), False, skip=(pyperf_tuning.GOVERNOR,), system=Stub).actions == []


def test_the_pyperf_names_cmbench_relies_on_are_there():
    """pyperf's `_system` and `_cpu_utils` are private: this pins what harness/host/pyperf_tuning.py uses."""
    from pyperf import _cpu_utils, _system

    assert _cpu_utils.parse_cpu_list("0-2,5") == [0, 1, 2, 5] and _cpu_utils.parse_cpu_list(" (null)") is None
    assert _cpu_utils.format_cpu_list([0, 1, 2, 5]) == "0-2,5"
    assert _cpu_utils.parse_cpu_mask("00000000,00000005") == 5
    names = {op.__name__ for op in _system.OPERATIONS}
    assert {pyperf_tuning.GOVERNOR, pyperf_tuning.TURBO_MSR, "CPUFrequency", "IRQAffinity", "ASLR",
            "PerfEvent", "TurboBoostIntelPstate"} <= names
    assert list(inspect.signature(_system.Operation.write).parameters) == ["self", "tune"]
    s = _system.System()  # reads which operations this host has; writes nothing
    assert (s.actions, s.errors, s.warnings) == ([], [], []) and isinstance(s.operations, list)
    assert hasattr(s, "cpus") and hasattr(s, "logical_cpu_count")
    assert pyperf_tuning.parse_cpu_list("0-1,x") == () and pyperf_tuning.parse_cpu_mask("zz") == frozenset()
    assert pyperf_tuning.parse_cpu_mask("00000000,00000005") == {0, 2}


def test_system_show_prints_the_table_and_json(monkeypatch, tmp_path, fixture_root, capsys):
    root = untuned_host(tmp_path)
    monkeypatch.setattr(system, "system_report", lambda cpus=None: system_report((0, 1), root=root, harness=ALL))
    assert main(["--root", str(fixture_root), "system", "show"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["check", "status", "state"]
    assert "governor          warn    powersave on CPU 0-1" in out and "to look at:" in out
    assert main(["--root", str(fixture_root), "system", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert SystemReport.from_dict(data) == system_report((0, 1), root=root, harness=ALL)


def test_every_run_records_its_hosts_system_report(fixture_catalog, fake_executor, tmp_path):
    with open(tmp_path / "console.txt", "a") as stream:
        run_cases(fixture_catalog, fake_executor, fixture_catalog.select_impls(["fake/good"]),
                  fixture_catalog.select_workloads(["ping_pong"]), profile="smoke", cpus=(0,),
                  out=tmp_path / "run", console=Console(stream=stream))
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    recorded = SystemReport.from_dict(meta["host"]["system"])
    assert recorded.cpus == (0,) and recorded.check("aslr") is not None
    assert all(h["system"]["cpus"] == [0] for h in meta["hosts"].values())


def test_results_readme_lists_every_check_in_order(project_root, tmp_path):
    text = " ".join((project_root / "results" / "README.md").read_text().split())
    listed = text.split("one entry per check, in order ", 1)[1].split(": its `state`", 1)[0]
    names = [part.strip(" `,") for part in listed.replace(", ", ",").split(",")]
    assert names == [c.name for c in system_report((0,), root=tmp_path, harness=(0, 1)).checks]
