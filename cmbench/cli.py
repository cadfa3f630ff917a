"""The command table of `cmbench`: the harness's commands, those of the reports, then the nightly's."""

from __future__ import annotations

from collections.abc import Sequence

import harness.cli
import reports.commands

from . import commands

COMMANDS: dict[str, harness.cli.Command] = {**harness.cli.COMMANDS, **reports.commands.COMMANDS,
                                            **commands.COMMANDS}


def main(argv: Sequence[str] | None = None) -> int:
    return harness.cli.main(argv, COMMANDS)
