"""cmbench's harness: runs concurrency workloads across implementations and stores the results.

The public surface is small: the catalog loader and the value types a report or a test needs.
The command line lives one layer up, in the package `cmbench`. Everything else is internal.
"""

from .catalog import Catalog, load_catalog
from .errors import UserError
from .manifest import Case, Impl, Workload
from .outcome import CaseResult
from .reference import expected, splitmix64
from .store import RESULTS_COLUMNS, load_run
from .vocab import Status

__all__ = [
    "RESULTS_COLUMNS",
    "Case",
    "CaseResult",
    "Catalog",
    "Impl",
    "Status",
    "UserError",
    "Workload",
    "expected",
    "load_catalog",
    "load_run",
    "splitmix64",
]
