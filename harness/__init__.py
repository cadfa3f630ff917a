"""cmbench's harness: runs concurrency workloads across implementations and stores the results.

The public surface is small: the catalog loader and the value types a report or a test needs.
The command line lives one layer up, in the package `cmbench`. Everything else is internal.

The sub-packages are floors; a module imports only from its own floor or those below it:

    cluster/    a run over a Dask fleet: host identity, worker, controller, TLS, remote generators
    engine/     a run on this host: readiness, the host's part, the recorder, local runs, shards, merges
    catalog.py  every workload (read by its kind) and implementation of the project
    kinds/      workload kinds behind one protocol (base.py): batch/, server/
    store/      the run folder, calibrated sizes, past durations
    plan/       case specifications and plans, estimates, the plan's table
    executors/  where a program is built and run: native, docker
    manifests/  workload.toml and impl.toml as frozen value types
    host/       host metadata and fingerprint, what disturbs measurements (system), the quiet-host gate,
                OS reference costs
    measure/    one process: spawn, reap, rusage, memory, outcomes, metrics, statistics, modes; where the harness runs
    errors.py, vocab.py, console.py: the ground floor

The history stack (pandas, pyarrow, change points) lives in `reports.history`, so a measuring
host imports none of it.
"""

from harness.catalog import Catalog, load_catalog
from harness.errors import UserError
from harness.kinds.batch.answers import expected, splitmix64
from harness.manifests.model import Case, Impl, Workload
from harness.measure.outcome import CaseResult
from harness.store.run import RESULTS_COLUMNS, load_run
from harness.vocab import Status

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
