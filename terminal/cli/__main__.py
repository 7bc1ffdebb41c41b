"""`python -m terminal.cli …` is `medpos …` (used to start child processes with this Python)."""

import sys

from terminal.cli import main

sys.exit(main())
