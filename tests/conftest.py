"""Whole-suite setup: pytest-terraform must not abort the run where terraform is missing."""

from __future__ import annotations

import pytest
from tooling import terraform_binary


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # pytest-terraform ends the session in its own pytest_configure when it finds no binary, and
    # it prefers `tofu`. Point it at terraform or, with none, at replay mode, which skips that
    # check: no test uses its replay fixtures, and tooling.py skips (or, in CI, fails) the
    # Terraform tests with a clear reason.
    if not hasattr(config.option, "dest_tf_binary"):
        return
    binary = terraform_binary()
    if binary:
        config.option.dest_tf_binary = binary
    else:
        config.option.dest_tf_replay = True
