"""Every `cmbench` command: its arguments and its handler, one module per family (asv's `commands/` is the model).

- catalog.py: `list`, `new`
- run.py: `build`, `verify`, `plan`, `run`, `merge`
- fleet.py: `worker`, `hosts`, `loadgen-headroom`
- report.py: `report`, `compare`, `repeatability`
- nightly.py: `nightly`, `history`, `regressions`
- publish.py: `publish`
- system.py: `system show|tune|reset`

The handlers of the reporting and nightly commands import the reporting stack when they run, so
a benchmark host without pandas or seaborn still runs, plans and serves.
"""

from cmbench.commands import catalog, fleet, nightly, publish, report, run, system
from cmbench.commands.base import Command

COMMANDS: dict[str, Command] = {**catalog.COMMANDS, **run.COMMANDS, **fleet.COMMANDS, **report.COMMANDS,
                                **nightly.COMMANDS, **publish.COMMANDS, **system.COMMANDS}

__all__ = ["COMMANDS", "Command"]
