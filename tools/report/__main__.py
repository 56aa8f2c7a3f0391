"""python -m report (with tools/ on PYTHONPATH): summarise the function's log lines."""

import sys

from report.cli import main

sys.exit(main())
