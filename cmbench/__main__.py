import sys

from cmbench.cli import main

sys.exit(main())
