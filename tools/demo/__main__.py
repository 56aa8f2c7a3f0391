"""python -m demo (with tools/ on PYTHONPATH): what `make demo` runs."""

import sys

if sys.version_info < (3, 11):  # noqa: UP036  (a clear message for an old python3)
    sys.exit(f"the demo needs Python 3.11 or newer, not {sys.version.split()[0]}")

from demo.run import main

sys.exit(main())
