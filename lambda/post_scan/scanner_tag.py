"""Pure decision: what File Storage Security's own tag on an object says about it.

FSS tags each object it scanned (unless tagging is turned off). The message and the tag are two
witnesses of one scan: the tag is written by the scanner itself, on the object, so whoever can
forge a message (an insider with lambda:InvokeFunction or sqs:SendMessage) cannot forge it.
Every reading of the tag lives here, so that a new tag format changes this module only.
"""

from __future__ import annotations

from collections.abc import Mapping

from post_scan.message import MALICIOUS

FSS_RESULT_TAG = "fss-scan-result"


def scanner_result(tags: Mapping[str, str]) -> str | None:
    """The scanner's result as it tagged the object (lower case), or None when it left no tag."""
    value = tags.get(FSS_RESULT_TAG)
    return None if value is None else value.strip().lower()


def has_scanner_tag(tags: Mapping[str, str]) -> bool:
    return scanner_result(tags) is not None


def says_malicious(tags: Mapping[str, str]) -> bool:
    """True when the scanner tagged the object malicious."""
    return scanner_result(tags) == MALICIOUS


def agrees(tags: Mapping[str, str], verdict: str) -> bool:
    """The tag is there and tells the same side (malicious or not) as the verdict."""
    return has_scanner_tag(tags) and says_malicious(tags) == (verdict == MALICIOUS)
