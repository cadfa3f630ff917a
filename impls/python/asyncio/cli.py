"""Command line: `main.py <workload> --<param> V ... --warmups W --iterations N --cpus P`."""

import argparse
import re
from dataclasses import dataclass, field

LOOPS = ("asyncio", "uvloop")

# Batch workloads: parameter name -> smallest accepted value.
BATCH_PARAMS: dict[str, dict[str, int]] = {
    "worker_pool": {"tasks": 0, "queue": 1, "workers": 0, "rounds": 0},
    "pipeline": {"items": 0, "stages": 0, "capacity": 1},
    "mutex_counter": {"threads": 0, "increments": 0},
    "ping_pong": {"roundtrips": 0},
    "spawn_idle": {"tasks": 0, "sleep_ms": 0},
    "preemption": {"sleeps": 1, "sleep_us": 0, "spinners": 0, "spin_limit_ms": 0},
}

_DECIMAL = re.compile(r"[0-9]+")


@dataclass
class Config:
    workload: str
    params: dict[str, int | str] = field(default_factory=dict)
    warmups: int = 0
    iterations: int = 0
    cpus: int = 1
    loop: str = "asyncio"
    port: int = 0


def _integer(minimum: int, maximum: int | None = None):
    def parse(text: str) -> int:
        if not _DECIMAL.fullmatch(text):
            raise argparse.ArgumentTypeError(f"not a decimal integer: {text!r}")
        value = int(text)
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
            raise argparse.ArgumentTypeError(f"{value} is out of range (must be {bounds})")
        return value

    return parse


def _mode(text: str) -> str:
    if text in ("mutex", "racy"):
        return text
    if text == "atomic":
        raise argparse.ArgumentTypeError(
            "atomic is unsupported: asyncio runs every task on one thread and Python has no atomic integer type"
        )
    raise argparse.ArgumentTypeError(f"unknown mode {text!r} (choose from mutex, atomic, racy)")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cpus", type=_integer(1), default=1, help="CPUs pinned (default 1)")
    parser.add_argument("--loop", choices=LOOPS, default="asyncio", help="event loop")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="cmbench: Python asyncio", allow_abbrev=False)
    workloads = parser.add_subparsers(dest="workload", required=True, metavar="WORKLOAD")
    for name, params in BATCH_PARAMS.items():
        sub = workloads.add_parser(name, allow_abbrev=False)
        for param, minimum in params.items():
            flag = "--" + param.replace("_", "-")
            sub.add_argument(flag, dest=param, type=_integer(minimum), required=True)
        if name == "mutex_counter":
            sub.add_argument("--mode", type=_mode, required=True, help="mutex or racy")
        sub.add_argument("--warmups", type=_integer(0), default=0)
        sub.add_argument("--iterations", type=_integer(0), default=1)
        _common(sub)
    server = workloads.add_parser("http_server", allow_abbrev=False)
    server.add_argument("--port", type=_integer(0, 65535), required=True)
    _common(server)
    return parser


def parse(argv: list[str]) -> Config:
    """Parse the arguments; on an error argparse prints to stderr and exits with status 2."""
    args = _parser().parse_args(argv)
    config = Config(workload=args.workload, cpus=args.cpus, loop=args.loop)
    if args.workload == "http_server":
        config.port = args.port
        return config
    config.params = {p: getattr(args, p) for p in BATCH_PARAMS[args.workload]}
    if args.workload == "mutex_counter":
        config.params["mode"] = args.mode
    config.warmups = args.warmups
    config.iterations = args.iterations
    return config
