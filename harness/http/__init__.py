"""The http_server workload: verification, closed- and open-loop load, idle connections, headroom.

The runner calls `iter_server_cases` (or `run_server_cases`) per implementation variant and
turns each result into rows with `server_rows`; `cmbench verify` calls `verify_case` only.
"""

from .cases import (
    Phase,
    Setup,
    iter_server_cases,
    make_setup,
    phases_for,
    run_server_cases,
    split_cpus,
    status_cases,
    verify_case,
)
from .check import verify_http
from .headroom import Headroom, headroom_table, measure_headroom
from .rows import server_rows
from .table import server_table

__all__ = [
    "Headroom",
    "headroom_table",
    "Phase",
    "Setup",
    "iter_server_cases",
    "make_setup",
    "measure_headroom",
    "phases_for",
    "run_server_cases",
    "server_rows",
    "server_table",
    "split_cpus",
    "status_cases",
    "verify_case",
    "verify_http",
]
