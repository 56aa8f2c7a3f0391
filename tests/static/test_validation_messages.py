"""Every validation of a list, set, map or object input names the bad entries in its message.

A condition that looks at the entries of its input (`for ... in var.x`, `keys(var.x)`,
`distinct(var.x)`) must interpolate them into its error_message (`not ${join(...)}`, `given more
than once: ${...}`): a bare "each item must be ..." leaves a platform engineer with 40 buckets to
guess which one. tests/apply/test_plan_validation_messages.py checks the rendered messages.
"""

from __future__ import annotations

import re

import hcl2
from tooling import REPO_ROOT

# Looks at entries; a bare length bound (at most 5, at least one) has no entry to name.
ITERATES = re.compile(r"\bfor\s+\w+(\s*,\s*\w+)?\s+in\b|\b(keys|values|distinct)\(")


def _validations() -> list[tuple[str, str, str]]:
    """(variable, condition, error_message) of every validation block of variables.tf."""
    with open(REPO_ROOT / "variables.tf") as handle:
        blocks = hcl2.load(handle)["variable"]
    found = []
    for block in blocks:
        for name, body in block.items():
            for rule in body.get("validation", []):
                found.append((name.strip('"'), str(rule["condition"]), str(rule["error_message"])))
    return found


def test_variables_have_validations():
    assert len(_validations()) > 50


def test_validations_of_entries_name_the_entries():
    bare = [
        f"{name}: {message}"
        for name, condition, message in _validations()
        if ITERATES.search(condition) and "${" not in message
    ]
    assert not bare, "validations over entries that do not name them:\n" + "\n".join(bare)
