"""The http_server workload: verification, start-up time, closed-loop (plain and pipelined) and open-loop
load, idle connections, the load generators' headroom and which figures they bound.

`ServerKind` (kind.py) is what the runner sees; `run_server_cases` and `verify_case` (cases.py) are
the direct entry points tests and tools use.
"""
