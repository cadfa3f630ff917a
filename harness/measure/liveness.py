"""Whether the process that started something (a run, a container) is still there.

A pid alone is not enough: pids are reused, and a host reboots. `identity` records the pid
with its start time (clock ticks since boot, /proc/PID/stat), the host name and the boot id;
`gone` says, for an identity recorded on this host, whether that very process has ended.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_start(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot), or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def identity() -> dict[str, Any]:
    """This process: pid, its start time, host, boot."""
    pid = os.getpid()
    return {"pid": pid, "pid_started": process_start(pid), "host": socket.gethostname(), "boot_id": boot_id()}


def gone(who: Any) -> str:
    """Why the process `who` (an `identity()`) is gone, or "" when it may still be running.

    Only an identity recorded on this host is judged; anything else (another host's, or one
    without the fields) may be running as far as this host can tell.
    """
    if not isinstance(who, dict) or who.get("host") != socket.gethostname():
        return ""
    if who.get("boot_id") and who.get("boot_id") != boot_id():
        return f"host {who['host']} has rebooted since"
    pid = who.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool):
        return ""
    started = process_start(pid)
    if started is None or started != who.get("pid_started"):
        return f"its harness, pid {pid} on {who['host']}, is gone"
    return ""
