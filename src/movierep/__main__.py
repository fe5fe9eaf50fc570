"""`python -m movierep` runs the CLI (the same code path as under `torchrun -m movierep`)."""

import sys

from movierep.cli import main

sys.exit(main())
