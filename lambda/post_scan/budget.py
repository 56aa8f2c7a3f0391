"""Pure decision: may one more S3 (or DynamoDB, SQS) call start in this invocation?

Every loop over calls asks before each call (listing pages, per-version reads, copies, deletes).
A record that would run into the function's timeout stops instead, with OutOfTime: an error a
retry may cure (retried, then dead-lettered), reported on its own record, so that the batch's
response and every log line are still written. The margin leaves time for the calls already in
flight to return, the announcements and the log lines.
"""

from __future__ import annotations

from collections.abc import Callable

TIME_MARGIN_SECONDS = 3.0


class OutOfTime(RuntimeError):
    """The invocation has less than TIME_MARGIN_SECONDS left: the record stops, to be retried."""


class Budget:
    """The invocation's remaining time (Lambda's context); None: unknown, no limit."""

    def __init__(self, time_left: Callable[[], float] | None) -> None:
        self._time_left = time_left

    def left(self) -> float | None:
        return None if self._time_left is None else self._time_left()

    def check(self, before: str) -> None:
        """Raise OutOfTime when the next call (`before`: what it is) should not start."""
        left = self.left()
        if left is not None and left < TIME_MARGIN_SECONDS:
            raise OutOfTime(
                f"{left:.1f} s left in the invocation, less than the {TIME_MARGIN_SECONDS:g} s "
                f"margin: stopped before {before}; the record is retried"
            )
