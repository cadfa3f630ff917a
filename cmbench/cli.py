"""The command table of `cmbench`: the harness's commands, then those of the reports and the nightly."""

from __future__ import annotations

from collections.abc import Sequence

import harness.cli


def _report_commands() -> dict[str, harness.cli.Command]:
    """The reports' and the nightly's commands; none where the reporting stack (pandas, seaborn, pyarrow)
    is not installed: a benchmark host only measures, and its image or environment can go without them."""
    try:
        import reports.commands

        from . import commands
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] in ("reports", "harness", "cmbench"):
            raise
        return {}
    return {**reports.commands.COMMANDS, **commands.COMMANDS}


COMMANDS: dict[str, harness.cli.Command] = {**harness.cli.COMMANDS, **_report_commands()}


def main(argv: Sequence[str] | None = None) -> int:
    return harness.cli.main(argv, COMMANDS)
