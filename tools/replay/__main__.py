"""python -m replay (with tools/ on PYTHONPATH): replay a dead-letter queue."""

import sys

from replay.cli import main

sys.exit(main())
