"""The exceptions that mean "the user can fix this": printed as one line, and the exit status says which.

Exit statuses of every command (README, "Exit status"): 0 done; 1 a case failed, or something the
command reads or writes (a manifest, a plan file, a run folder, the host) is unusable; 2 the
command line itself is wrong (`UsageError`: a flag's value, or flags that do not go together, as
argparse's own errors); 5 the flags are valid but select nothing (`NothingSelected`).

And `warn`: one line on stderr for what cmbench repaired or left out by itself and went on.
"""

import sys


class UserError(Exception):
    """A mistake in input (a flag, a manifest, a path) that the user can fix.

    The message is one line that names the file or flag and says how to fix it. Any other
    exception is a bug in cmbench and keeps its traceback.
    """


class UsageError(UserError):
    """The command line is wrong: a flag's value is unknown or malformed, or flags do not go together.

    Exit status 2, as argparse gives for what it checks itself, so a script tells "I called it
    wrongly" (2) from "a case failed" (1).
    """


EXIT_USAGE = 2


class NothingSelected(UserError):
    """The flags are valid but select no case: one line, and its own exit status (`EXIT_NOTHING_SELECTED`)."""


EXIT_NOTHING_SELECTED = 5  # as pytest's "no tests collected": the selection ran nothing


def warn(note: str) -> None:
    """`cmbench: warning: NOTE` on stderr, as one line (line breaks in `note` become spaces)."""
    print(f"cmbench: warning: {' '.join(note.splitlines())}", file=sys.stderr, flush=True)
