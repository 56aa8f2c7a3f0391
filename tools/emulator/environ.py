"""Copy the process environment safely while other threads change it.

Iterating ``os.environ`` (``items()``, ``dict(os.environ)``, ``{**os.environ}``) lists the keys
first and reads each one after, so a key removed in between raises ``KeyError``. In the test
session that happens: pytest sets and removes ``PYTEST_CURRENT_TEST`` in the main thread around
every test phase while the apply fleet stages Terraform runs in worker threads, and the in-process
Lambda runner swaps ``AWS_*`` keys. A copy here skips a key that disappears instead of failing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def environ_copy(
    without_prefixes: tuple[str, ...] = (), environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment's current keys and values, minus keys starting with `without_prefixes`.

    A key removed by another thread while the copy is made is left out, never a ``KeyError``.
    """
    source = os.environ if environ is None else environ
    copy: dict[str, str] = {}
    for key in list(source):
        if key.startswith(without_prefixes):  # () matches nothing
            continue
        value = source.get(key)
        if value is not None:
            copy[key] = value
    return copy
