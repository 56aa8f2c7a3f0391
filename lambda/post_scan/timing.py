"""How long a record's steps took, in seconds (pure): the figures of ExposureSeconds, ScanSeconds
and ActionDelaySeconds.

The moments come from three clocks: S3's (an upload's LastModified, whole seconds), the scanner's
(its timestamps) and the function's. Skew between them can make a difference negative: it is
reported as 0 and the record says so (ClampedTimings), never as a negative duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from post_scan.message import epoch_seconds


@dataclass(frozen=True)
class Elapsed:
    """Seconds between two moments, never negative."""

    seconds: float  # >= 0, to the millisecond
    clamped: bool  # the clocks said it ended before it began


def between(start: Decimal | datetime, end: float) -> Elapsed:
    """Seconds from `start` (epoch seconds, or an aware datetime) to `end` (epoch seconds)."""
    begun = epoch_seconds(start) if isinstance(start, datetime) else start
    value = float(Decimal(repr(end)) - begun)
    return Elapsed(round(max(value, 0.0), 3), value < 0)


def words(seconds: float) -> str:
    """4.2 s, 12 min 5 s, 3 h 12 min: a duration as a person reads it."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"
