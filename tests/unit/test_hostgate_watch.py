"""The busy-host flag of a measurement: other processes' CPU while it ran, never the benchmark's own."""

import os

from harness.host.gate import OthersWatch, Proc


class Samples:
    def __init__(self, *snapshots):
        self.snapshots = list(snapshots)

    def __call__(self):
        return self.snapshots.pop(0)


def procs(**cpu):
    me = os.getpid()
    table = {me: Proc(me, 1, "cmbench", cpu.get("me", 0.0)),
             900: Proc(900, me, "wrk", cpu.get("wrk", 0.0)),  # the harness's child: its own
             901: Proc(901, 900, "server", cpu.get("server", 0.0)),
             500: Proc(500, 1, "compiler", cpu.get("compiler", 0.0)),
             600: Proc(600, 1, "containerd-shim", 0.0),
             601: Proc(601, 600, "java", cpu.get("container", 0.0))}
    return table


def clock(*times):
    it = iter(times)
    return lambda: next(it)


def test_other_processes_flag_a_case_and_the_benchmark_itself_does_not():
    watch = OthersWatch(sample=Samples(procs(), procs(me=5, wrk=9, server=9, compiler=4, container=9)),
                        clock=clock(0.0, 10.0))
    flags = watch.flags()
    assert len(flags) == 1 and flags[0].startswith("host busy: other processes used 0.40 CPUs")
    assert "compiler (pid 500) 40%" in flags[0] and "wrk" not in flags[0] and "java" not in flags[0]


def test_a_quiet_host_flags_nothing_and_each_read_starts_the_next_interval():
    watch = OthersWatch(sample=Samples(procs(), procs(compiler=1.0), procs(compiler=9.0)), clock=clock(0, 10, 20))
    assert watch.flags() == []  # 0.1 CPUs over 10 s
    assert watch.flags()[0].startswith("host busy: other processes used 0.80 CPUs")  # 8 s over the next 10 s
