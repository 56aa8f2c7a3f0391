"""The order of the test tiers in one session (tests/conftest.py applies it).

Cheapest-to-wait-for first: the unit, static and bench tiers need the CPU, while the apply tiers'
deployments (started in the background when collection finished, tests/background.py) mostly wait
on the AWS provider; so the apply tests come after them, their destroy tests after every other
apply test (a destroy test destroys every deployment), and the demo, which also started in the
background, last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "static", "bench", "apply", "demo")


def tier(item: Any) -> tuple[int, bool]:
    """Sort key of a collected test: (its tier, whether it destroys deployments)."""
    try:
        folder = Path(str(item.path)).resolve().relative_to(TESTS).parts[0]
    except (ValueError, IndexError):
        folder = ""
    index = TIERS.index(folder) if folder in TIERS else TIERS.index("static")
    return index, item.name.startswith("test_destroy")
