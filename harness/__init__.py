"""cmbench's harness: runs concurrency workloads across implementations and stores the results.

The public surface is small: the command line (`main`), the catalog loader, and the value
types a report or a test needs. Everything else is internal.
"""

from .catalog import Catalog, load_catalog
from .cli import main
from .errors import UserError
from .manifest import Case, Impl, Workload
from .outcome import CaseResult
from .reference import expected, splitmix64
from .store import RESULTS_COLUMNS, load_run

__all__ = [
    "RESULTS_COLUMNS",
    "Case",
    "CaseResult",
    "Catalog",
    "Impl",
    "UserError",
    "Workload",
    "expected",
    "load_catalog",
    "load_run",
    "main",
    "splitmix64",
]
