"""What S3 tells us about a key: plain types shared by locate (decisions) and aws (calls)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Results of a delete call.
DELETED = "deleted"
PRECONDITION_FAILED = "precondition_failed"
ALREADY_GONE = "gone"


class ObjectGone(Exception):
    """S3 answered NoSuchKey / NoSuchVersion: the content is not there any more."""


class ObjectChanged(Exception):
    """S3 answered 412 to an If-Match read or copy: the key holds a different upload now."""


@dataclass(frozen=True)
class ObjectVersion:
    """One version of a key (or the unversioned object), as a HEAD or a listing shows it."""

    version_id: str | None  # None (or "null") in a bucket that never had versioning
    etag: str  # without quotes
    last_modified: datetime  # timezone-aware
    size: int
    # User metadata when a HEAD returned it (the current object); None when not read (listings).
    metadata: Mapping[str, str] | None = field(default=None, compare=False)


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


# What a HEAD returns and CopyObject / CreateMultipartUpload accept under the same name.
COPIED_HEADERS = (
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "ContentType",
    "Expires",
    "WebsiteRedirectLocation",
)


@dataclass(frozen=True)
class StoredObject:
    """One object version as a HEAD describes it: what a copy must carry over, and verify."""

    version_id: str | None
    etag: str  # without quotes
    size: int
    metadata: Mapping[str, str]
    # The COPIED_HEADERS the HEAD returned, as CopyObject arguments.
    headers: Mapping[str, Any] = field(default_factory=dict)
    storage_class: str | None = None  # None: STANDARD
    checksum: tuple[str, str] | None = None  # (algorithm, value), e.g. ("SHA256", "base64")
    encryption: str | None = None  # AES256, aws:kms, aws:kms:dsse or None
    kms_key_id: str | None = None
    last_modified: datetime | None = None  # timezone-aware; None when not known


@dataclass(frozen=True)
class CopyResult:
    """How the managed copy was made."""

    multipart: bool  # the managed copy used UploadPartCopy (the copy's ETag is not the source's)
