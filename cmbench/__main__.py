import sys

from cmbench.cli import entry

sys.exit(entry())
