"""The `cmbench` command: the harness's commands and the reports' commands in one table.

This package is the layer above `harness` (measure and store) and `reports` (read and render):
the only place that imports both, so neither has to import the other upwards.
"""

from cmbench.cli import COMMANDS, main

__all__ = ["COMMANDS", "main"]
