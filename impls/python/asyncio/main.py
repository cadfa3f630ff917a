"""cmbench implementation: Python asyncio (optionally on uvloop), one event loop per process."""

import asyncio
import sys
from collections.abc import Callable

import batch
import cli
import http_server


def _loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if name != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:
        print("main.py: --loop uvloop given but uvloop is not installed", file=sys.stderr)
        sys.exit(2)
    return uvloop.new_event_loop


def main(argv: list[str]) -> int:
    config = cli.parse(argv)
    factory = _loop_factory(config.loop)
    if config.workload == "http_server":
        coro = http_server.serve(config.port)
    else:
        coro = batch.run(config.workload, config.params, config.warmups, config.iterations)
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(coro)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
