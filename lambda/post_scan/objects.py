"""What S3 tells us about a key: plain types shared by locate (decisions) and aws (calls)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Results of a delete call.
DELETED = "deleted"
PRECONDITION_FAILED = "precondition_failed"
ALREADY_GONE = "gone"


class ObjectGone(Exception):
    """S3 answered NoSuchKey / NoSuchVersion: the content is not there any more."""


@dataclass(frozen=True)
class ObjectVersion:
    version_id: str | None  # None (or "null") in a bucket that never had versioning
    etag: str  # without quotes
    last_modified: datetime  # timezone-aware
    size: int


@dataclass(frozen=True)
class Head:
    """HEAD of the key: the current object, or nothing (with or without a delete marker)."""

    current: ObjectVersion | None
    delete_marker: bool = False

    @property
    def versioned(self) -> bool:
        return self.delete_marker or (
            self.current is not None and self.current.version_id not in (None, "null")
        )
