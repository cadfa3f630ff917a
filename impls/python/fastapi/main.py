"""http_server: FastAPI on Uvicorn (uvloop, httptools), one worker process per CPU.

    {python} main.py http_server --port P --cpus C

Uvicorn is started as `uvicorn app:app --workers C` starts it (a supervisor process binds the
socket and spawns C workers that share it; one CPU: a single process), with two additions for the
harness's contract: the ready line goes to stdout only once every worker has finished its
start-up and serves the shared socket, and SIGTERM ends the process with status 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys

import uvicorn
from uvicorn.supervisors import Multiprocess

SERVER = "cmbench-python-fastapi"
KEEP_ALIVE_SECONDS = 3600  # the contract keeps idle connections until the client closes them; Uvicorn's default is 5
WORKER_READY_TIMEOUT = 60.0  # seconds a worker may take to import the app and start serving
log = logging.getLogger("cmbench.fastapi")


class UsageError(Exception):
    """A bad command line; exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(message)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="main.py", description="FastAPI on Uvicorn, cmbench's http_server")
    parser.add_argument("workload", choices=["http_server"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpus", type=int, default=1)
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536 or args.cpus < 1:
        raise UsageError("--port must be 1..65535 and --cpus at least 1")
    return args


def announce(port: int) -> None:
    sys.stdout.write(json.dumps({"ready": True, "port": port}) + "\n")
    sys.stdout.flush()


class SingleServer(uvicorn.Server):
    """One process: ready once the server listens (Server.started)."""

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.started:
            announce(self.config.port)


class Supervisor(Multiprocess):
    """Uvicorn's worker supervisor; ready once every worker reports its server started.

    Uvicorn's own health check (`Process.wait_until_ready`, a ping over each worker's pipe
    answered with `Server.started`) says when a worker listens on the shared socket.
    """

    failed = False

    def init_processes(self) -> None:
        super().init_processes()
        for process in self.processes:
            if not process.wait_until_ready(WORKER_READY_TIMEOUT, self.should_exit):
                log.error("worker %s did not start serving within %g s", process.pid, WORKER_READY_TIMEOUT)
                self.failed = True
                self.should_exit.set()
                return
        announce(self.config.port)


def main(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
    except UsageError as e:
        print(f"main.py: {e}", file=sys.stderr)
        return 2
    config = uvicorn.Config(
        "app:app",
        host="127.0.0.1",
        port=args.port,
        workers=args.cpus,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
        backlog=1024,
        server_header=False,
        headers=[("server", SERVER)],
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    sock = config.bind_socket()
    if config.workers > 1:
        supervisor = Supervisor(config, sockets=[sock])
        supervisor.run()  # returns after SIGTERM, once every worker has been stopped and joined
        return 1 if supervisor.failed else 0
    # Uvicorn re-raises the signal that stopped it once it has shut down; a no-op handler turns
    # that into a normal return, so SIGTERM exits with status 0 as the contract asks.
    signal.signal(signal.SIGTERM, lambda *_: None)
    server = SingleServer(config)
    server.run(sockets=[sock])
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
