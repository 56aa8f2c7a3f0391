"""python -m emulator (with tools/ on PYTHONPATH): the local AWS emulator for your own root."""

import sys

from emulator.cli import main

sys.exit(main())
