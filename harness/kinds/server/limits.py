"""Whether this host can hold a phase's connections, said before the phase starts.

Every connection of a phase is a descriptor in the client (the harness or the load generator)
and one in the server, and a local port on 127.0.0.1. The harness raises its own open-file
limit, which the server and the generator inherit (idle.raise_fd_limit); what it cannot change
is said in one line naming the setting to raise:

- the open-file hard limit (`ulimit -Hn`, systemd's LimitNOFILE);
- the ephemeral port range (`net.ipv4.ip_local_port_range`), which bounds the connections one
  client can open to one server port.

The listen backlog (`net.core.somaxconn`) only queues connects that arrive together; a short
one slows the opening of many connections but does not refuse them, so it is reported in the
phase's detail, not checked here. Thread limits (`kernel.threads-max`, `ulimit -u`, a
container's pids limit) bound thread-per-connection servers: such a server that cannot start
a thread refuses or drops connections, which fails its phase with the socket errors counted.
"""

from __future__ import annotations

from pathlib import Path

from harness.kinds.server.idle import FD_MARGIN, IdleError, raise_fd_limit

PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
PORT_MARGIN = 1000  # ports left for everything else the host connects to meanwhile


def ephemeral_ports(path: Path = PORT_RANGE) -> int | None:
    """How many local ports connect() may choose from; None where the kernel does not say."""
    try:
        low, high = (int(x) for x in path.read_text().split()[:2])
    except (OSError, ValueError):
        return None
    return high - low + 1


def capacity_problem(connections: int, *, ports: int | None = None) -> str | None:
    """Why this host cannot hold `connections` client connections to one server port; None when it can.

    Raises this process's open-file limit as a side effect where it may.
    """
    try:
        raise_fd_limit(connections + FD_MARGIN)
    except IdleError as e:
        return str(e)
    ports = ephemeral_ports() if ports is None else ports
    if ports is not None and ports < connections + PORT_MARGIN:
        return (f"needs {connections} local ports to one server port but {PORT_RANGE} allows {ports}: widen it "
                f"(sysctl -w net.ipv4.ip_local_port_range='1024 65535') or lower the connection count")
    return None
