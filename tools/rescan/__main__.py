"""python -m rescan (with tools/ on PYTHONPATH): start on-demand GuardDuty scans of a bucket."""

import sys

from rescan.cli import main

sys.exit(main())
