"""The http_server workload: verification, start-up time, closed-loop (plain and pipelined) and open-loop
load, idle connections, the load generators' headroom and which figures they bound.

`ServerKind` (kind.py) is what the runner sees; `run_server_cases` and `verify_case` are the
direct entry points tests and tools use.
"""

from .cases import (
    Phase,
    Setup,
    iter_server_cases,
    make_setup,
    measure_phases,
    phases_for,
    run_server_cases,
    split_cpus,
    verify_case,
)
from .check import verify_http
from .detail import PhaseDetail
from .headroom import Headroom, headroom_table, measure_headroom
from .kind import ServerKind
from .rows import server_rows
from .table import server_table

__all__ = [
    "Headroom",
    "Phase",
    "PhaseDetail",
    "ServerKind",
    "Setup",
    "headroom_table",
    "iter_server_cases",
    "make_setup",
    "measure_headroom",
    "measure_phases",
    "phases_for",
    "run_server_cases",
    "server_rows",
    "server_table",
    "split_cpus",
    "verify_case",
    "verify_http",
]
