"""python -m scan (with tools/ on PYTHONPATH): simulate a scan result for a deployed function."""

import sys

from scan.cli import main

sys.exit(main())
