"""The exception that means "the user can fix this": printed as one line, exit 1 (5 when nothing was selected).

And `warn`: one line on stderr for what cmbench repaired or left out by itself and went on.
"""

import sys


class UserError(Exception):
    """A mistake in input (a flag, a manifest, a path) that the user can fix.

    The message is one line that names the file or flag and says how to fix it. Any other
    exception is a bug in cmbench and keeps its traceback.
    """


class NothingSelected(UserError):
    """The flags are valid but select no case: one line, and its own exit status (`EXIT_NOTHING_SELECTED`)."""


EXIT_NOTHING_SELECTED = 5  # as pytest's "no tests collected": the selection ran nothing


def warn(note: str) -> None:
    """`cmbench: warning: NOTE` on stderr, as one line (line breaks in `note` become spaces)."""
    print(f"cmbench: warning: {' '.join(note.splitlines())}", file=sys.stderr, flush=True)
