"""The one exception type that means "the user can fix this": printed as one line, exit 1."""


class UserError(Exception):
    """A mistake in input (a flag, a manifest, a path) that the user can fix.

    The message is one line that names the file or flag and says how to fix it. Any other
    exception is a bug in cmbench and keeps its traceback.
    """
