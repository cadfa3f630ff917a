"""The one exception type that means "the user can fix this": printed as one line, exit 1.

And `warn`: one line on stderr for what cmbench repaired or left out by itself and went on.
"""

import sys


class UserError(Exception):
    """A mistake in input (a flag, a manifest, a path) that the user can fix.

    The message is one line that names the file or flag and says how to fix it. Any other
    exception is a bug in cmbench and keeps its traceback.
    """


def warn(note: str) -> None:
    """`cmbench: warning: NOTE` on stderr, as one line (line breaks in `note` become spaces)."""
    print(f"cmbench: warning: {' '.join(note.splitlines())}", file=sys.stderr, flush=True)
