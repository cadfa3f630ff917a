"""cmbench implementation %%{id} (made by `cmbench new --template python`).

    {python} main.py <workload> --<param> V ... --warmups W --iterations N --cpus P

One JSON line per iteration on stdout; errors on stderr with exit status 2. The contract is
workloads/README.md; each workload's own README is its spec:

%%{spec_comments}
"""

import argparse
import json
import queue
import sys
import threading
import time


def ping_pong(roundtrips: int) -> tuple[int, dict[str, int]]:
    """ping_pong: two one-slot queues; B adds 1 to each token, A adds 1 to each reply."""
    ping: queue.Queue[int] = queue.Queue(maxsize=1)
    pong: queue.Queue[int] = queue.Queue(maxsize=1)

    def side_b() -> None:
        for _ in range(roundtrips):
            pong.put(ping.get() + 1)

    began = time.perf_counter_ns()
    b = threading.Thread(target=side_b)
    b.start()
    token = 0
    for _ in range(roundtrips):
        ping.put(token)
        token = pong.get() + 1
    b.join()
    return time.perf_counter_ns() - began, {"roundtrips": roundtrips, "token": token}


# workload -> (function, its parameters). Add the others here, following their specs (above).
WORKLOADS = {
    "ping_pong": (ping_pong, ("roundtrips",)),
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="main.py", allow_abbrev=False)
    sub = parser.add_subparsers(dest="workload", required=True)
    for name, (_, params) in WORKLOADS.items():
        p = sub.add_parser(name, allow_abbrev=False)
        for param in params:
            p.add_argument("--" + param.replace("_", "-"), dest=param, type=int, required=True)
        p.add_argument("--warmups", type=int, default=0)
        p.add_argument("--iterations", type=int, default=1)
        p.add_argument("--cpus", type=int, default=1)
    return parser.parse_args(argv)  # argparse exits 2 on an unknown workload, flag or value


def main(argv: list[str]) -> int:
    args = parse(argv)
    run, params = WORKLOADS[args.workload]
    values = {p: getattr(args, p) for p in params}
    for iteration in range(args.warmups + args.iterations):
        elapsed_ns, fields = run(**values)
        line = {"workload": args.workload, "iteration": iteration, "warmup": iteration < args.warmups,
                "elapsed_ns": max(1, elapsed_ns), **fields}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
