"""Deliberately broken implementations for the fault-injection suite: one fault per behaviour.

Usage: faulty.py BEHAVIOUR <workload> --param value ... --warmups W --iterations N --cpus P
       faulty.py BEHAVIOUR http_server --port P --cpus C

A batch behaviour prints the contract's lines with one thing wrong (or does something else
wrong); a server behaviour breaks the http_server contract. Behaviours that are fine in the
start-up baseline (zero iterations) misbehave only when asked for iterations, so the fault
shows in a measured process. Every behaviour is listed in BATCH or SERVER below.
"""

import json
import os
import signal
import sys
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures" / "root"))

from fake_impl import Plaintext, elapsed_ns, serve, unknown_flags  # noqa: E402  (shared with tests/fixtures)

from harness.kinds.batch.answers import expected  # noqa: E402


def lines(workload: str, params: dict, warmups: int, iterations: int, **change) -> list[dict]:
    """The contract's lines, with the fields in `change` replaced (a callable gets the iteration)."""
    want = expected(workload, params)
    out = []
    for k in range(warmups + iterations):
        line = {"workload": workload, "iteration": k, "warmup": k < warmups, "elapsed_ns": elapsed_ns(params, k),
                **want}
        for name, value in change.items():
            line[name] = value(k) if callable(value) else value
        out.append(line)
    return out


def emit(objs: list[dict], ensure_ascii: bool = True) -> None:
    for obj in objs:
        print(json.dumps(obj, ensure_ascii=ensure_ascii), flush=True)


def good(w, p, warmups, iterations):
    emit(lines(w, p, warmups, iterations))


def bigint(w, p, warmups, iterations):
    """A result field with 5000 digits: past CPython's integer-parsing limit (4300)."""
    first = next(iter(expected(w, p)))
    for obj in lines(w, p, warmups, iterations):
        text = json.dumps(obj).replace(f'"{first}": {obj[first]}', f'"{first}": {"9" * 5000}')
        print(text, flush=True)


def deep(w, p, warmups, iterations):
    """The first line nested 100000 arrays deep (the JSON parser recurses)."""
    if iterations:
        print("[" * 100_000 + "]" * 100_000, flush=True)
    emit(lines(w, p, warmups, iterations)[1:])


def exit_nonzero(w, p, warmups, iterations):
    if iterations:
        print("faulty: deliberate crash", file=sys.stderr)
        sys.exit(3)


def hang(w, p, warmups, iterations):
    if iterations:
        time.sleep(3600)


def wrong(w, p, warmups, iterations):
    first = next(iter(expected(w, p)))
    emit(lines(w, p, warmups, iterations, **{first: expected(w, p)[first] + 1}))


def garbage(w, p, warmups, iterations):
    for _ in range(warmups + iterations):
        print("this is not json", flush=True)


def huge_elapsed(w, p, warmups, iterations):
    emit(lines(w, p, warmups, iterations, elapsed_ns=10**30))


def warmup_int(w, p, warmups, iterations):
    emit(lines(w, p, warmups, iterations, warmup=lambda k: int(k < warmups)))


def iteration_float(w, p, warmups, iterations):
    emit(lines(w, p, warmups, iterations, iteration=lambda k: float(k)))


def iteration_bool(w, p, warmups, iterations):
    """`true` where iteration 1 is expected (true == 1 in Python)."""
    emit(lines(w, p, warmups, iterations, iteration=lambda k: True if k == 1 else k))


def field_float(w, p, warmups, iterations):
    first = next(iter(expected(w, p)))
    emit(lines(w, p, warmups, iterations, **{first: float(expected(w, p)[first])}))


def line_separator(w, p, warmups, iterations):
    """Correct lines that carry a raw U+2028 inside a string: not a line break in JSON Lines."""
    emit(lines(w, p, warmups, iterations, note="before\u2028after"), ensure_ascii=False)


def extra_line(w, p, warmups, iterations):
    emit(lines(w, p, warmups, iterations + 1) if iterations else [])


def cut_short(w, p, warmups, iterations):
    """The last line is cut in the middle (no newline, half an object)."""
    objs = lines(w, p, warmups, iterations)
    if not objs:
        return
    emit(objs[:-1])
    sys.stdout.write(json.dumps(objs[-1])[:20])
    sys.stdout.flush()


def flood_stdout(w, p, warmups, iterations):
    """200 MB of lines, as fast as it can."""
    chunk = (json.dumps(lines(w, p, 0, 1)[0]) + "\n").encode() * 1000
    for _ in range(200_000_000 // len(chunk)):
        os.write(1, chunk)


def endless(w, p, warmups, iterations):
    """An endless stream without a newline."""
    chunk = b"x" * 65536
    while True:
        os.write(1, chunk)


def flood_stderr(w, p, warmups, iterations):
    chunk = b"debug: " + b"y" * 65529 + b"\n"
    while True:
        os.write(2, chunk)


def segfault(w, p, warmups, iterations):
    os.kill(os.getpid(), signal.SIGSEGV)


def _spawn_stray(setsid: bool, double_fork: bool) -> None:
    """A child that outlives this process: in a new session, or re-parented by a double fork."""
    if os.fork() == 0:
        if setsid:
            os.setsid()
        if double_fork and os.fork() != 0:
            os._exit(0)
        for fd in (0, 1, 2):  # a daemon lets go of the terminal and the pipes
            os.close(fd)
        time.sleep(3600)
        os._exit(0)


def orphan(w, p, warmups, iterations):
    """Correct output, but a child in its own session (setsid) is still running when it exits."""
    if iterations:
        _spawn_stray(setsid=True, double_fork=False)
    good(w, p, warmups, iterations)


def daemon(w, p, warmups, iterations):
    """Correct output, but a double-forked daemon is still running when it exits."""
    if iterations:
        _spawn_stray(setsid=True, double_fork=True)
    good(w, p, warmups, iterations)


def hang_family(w, p, warmups, iterations):
    """Hangs, with a child that ignores SIGTERM and a grandchild in its own session."""
    if iterations:
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            _spawn_stray(setsid=True, double_fork=False)
            time.sleep(3600)
            os._exit(0)
        time.sleep(3600)
    good(w, p, warmups, iterations)


def never_newline_then_hang(w, p, warmups, iterations):
    """Half a line, then silence with the pipe held open: a timeout, not a wait on the pipe."""
    if iterations:
        sys.stdout.write('{"workload": ')
        sys.stdout.flush()
        time.sleep(3600)
    good(w, p, warmups, iterations)


BATCH = {f.__name__: f for f in (
    good, exit_nonzero, hang, wrong, garbage, bigint, deep, huge_elapsed, warmup_int, iteration_float,
    iteration_bool, field_float, line_separator, extra_line, cut_short, flood_stdout, endless, flood_stderr,
    segfault, orphan, daemon, hang_family, never_newline_then_hang,
)}


# --- http_server ----------------------------------------------------------------------------


def server_crash_at_start(port):
    print("faulty: cannot start", file=sys.stderr)
    return 1


def server_dies_under_load(port):
    """Serves a few requests (verification passes), then exits in the middle of the load."""
    served = {"n": 0}

    class Dying(Plaintext):
        def do_GET(self):
            served["n"] += 1
            if served["n"] > 200:
                os._exit(3)
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", port), Dying)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(json.dumps({"ready": True, "port": port}), flush=True)
    server.serve_forever()
    return 0


def server_daemonises(port):
    """Forks, the parent exits at once, the child serves: the program the harness started is gone."""
    if os.fork() != 0:
        os._exit(0)
    os.setsid()
    time.sleep(0.5)  # settles down before it binds, as daemons do
    return serve(port)


def server_never_ready(port):
    time.sleep(3600)
    return 0


def server_floods_stderr(port):
    """Logs without bound on stderr as it starts (it never gets to serve)."""
    chunk = b"log: " + b"z" * 65530 + b"\n"
    while True:
        os.write(2, chunk)


SERVER = {
    "crash_at_start": server_crash_at_start, "dies_under_load": server_dies_under_load,
    "daemonises": server_daemonises, "never_ready": server_never_ready, "floods_stderr": server_floods_stderr,
}


def main() -> int:
    behaviour, workload, *rest = sys.argv[1:]
    args = dict(zip(rest[::2], rest[1::2]))
    if workload != "http_server" and (unknown := unknown_flags(workload, args)):
        print(f"faulty: unknown flag {unknown[0]}", file=sys.stderr)
        return 2
    if workload == "http_server":
        port = int(args["--port"])
        return SERVER[behaviour](port) if behaviour in SERVER else serve(port)
    params = {k[2:].replace("-", "_"): (int(v) if v.lstrip("-").isdigit() else v) for k, v in args.items()}
    warmups, iterations = params.pop("warmups"), params.pop("iterations")
    params.pop("cpus")
    BATCH[behaviour](workload, params, warmups, iterations)
    return 0


if __name__ == "__main__":
    sys.exit(main())
