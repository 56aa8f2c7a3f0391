"""Which text may leave the function: valid Unicode only (pure).

Python strings can hold lone surrogates (U+D800-U+DFFF without a partner): ``json.loads`` turns
the escape ``"\\ud800"`` in a message into one. They cannot be encoded as UTF-8, so a string
holding one breaks every AWS call, size count and notification body it reaches (boto3, SNS and
EventBridge speak UTF-8), and a JSON log line that escapes it as ``\\ud800`` is refused by strict
JSON readers. Everything the function writes therefore goes through ``repaired`` /
``repaired_data`` first: each lone surrogate becomes U+FFFD (the replacement character), every
valid character, paired surrogates included, stays as it was.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
# Any surrogate code point: in a Python str a valid pair is already one character (> U+FFFF), so a
# surrogate code point is always a lone one.
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_valid(text: str) -> bool:
    """True when the text encodes as UTF-8 (holds no lone surrogate)."""
    return _SURROGATE.search(text) is None


def repaired(text: str) -> str:
    """The text with each lone surrogate replaced by U+FFFD (unchanged when it has none)."""
    return text if is_valid(text) else _SURROGATE.sub(REPLACEMENT, text)


def repaired_data(value: Any) -> Any:
    """JSON-like data (dicts, lists, tuples, strings, numbers...) with every string, dict keys
    included, repaired; anything else is returned as it is."""
    if isinstance(value, str):
        return repaired(value)
    if isinstance(value, dict):
        return {repaired_data(k): repaired_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [repaired_data(item) for item in value]
    return value
