"""Pure decision: which object version(s) hold the content that was scanned.

The S3 reads come through the small S3Reader protocol (the pipeline binds aws.S3Objects to one
bucket/key), so the rules can be read, and tested, without S3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from post_scan import scanner_tags
from post_scan.message import ScanResult, epoch_seconds
from post_scan.objects import Head, ObjectVersion

FOUND = "found"
GONE = "gone"
SUPERSEDED = "superseded"

MAX_TAG_READS = 10


class S3Reader(Protocol):
    """Reads for one bucket/key. Each may raise ObjectGone."""

    def head(self) -> Head: ...

    def tags(self, version_id: str | None) -> dict[str, str]: ...

    def versions(self) -> list[ObjectVersion]:
        """Versions of exactly this key (no delete markers), newest first."""
        ...


@dataclass(frozen=True)
class Location:
    status: str  # FOUND, GONE or SUPERSEDED
    reason: str
    versioned: bool = False
    targets: tuple[ObjectVersion, ...] = ()
    # Tags of targets[0] when locating already read them (reused for the file id).
    tags: dict[str, str] | None = field(default=None, compare=False)
    ambiguous: bool = False


def locate(scan: ScanResult, reader: S3Reader) -> Location:
    head = reader.head()
    if head.current is None and not head.delete_marker:
        return Location(GONE, "no object at the key")
    if scan.etag is not None:
        return _by_etag(scan, head, reader)
    return _by_evidence(scan, head, reader)


def _by_etag(scan: ScanResult, head: Head, reader: S3Reader) -> Location:
    current = head.current
    if current is not None and current.etag == scan.etag:
        return Location(FOUND, "current object has the scanned ETag", head.versioned, (current,))
    if not head.versioned:
        assert current is not None  # unversioned and no delete marker: GONE was handled
        return Location(
            SUPERSEDED,
            f"key now holds a different upload (ETag {current.etag}, scanned {scan.etag})",
        )
    # Same ETag means same bytes: every such version is the scanned content.
    matches = tuple(v for v in reader.versions() if v.etag == scan.etag)
    if not matches:
        return Location(GONE, f"no version has the scanned ETag {scan.etag}", True)
    return Location(FOUND, f"{len(matches)} version(s) have the scanned ETag", True, matches)


def scan_bound(scan: ScanResult) -> Decimal:
    """Latest LastModified the scanned content can have: when the scan began if the message says
    (newer scanners), else when the result was published."""
    return scan.scan_started if scan.scan_started is not None else scan.timestamp


def _by_evidence(scan: ScanResult, head: Head, reader: S3Reader) -> Location:
    """No ETag in the message: use LastModified and File Storage Security's own result tag."""
    current, versioned = head.current, head.versioned
    bound = scan_bound(scan)
    read: dict[str | None, dict[str, str]] = {}
    current_tags = None
    if current is not None and _not_newer(current, bound):
        current_tags = reader.tags(current.version_id if versioned else None)
        if _consistent(current_tags, scan.verdict):
            reason = "current object matches the scan"
            return Location(FOUND, reason, versioned, (current,), current_tags)
        read[current.version_id] = current_tags

    if not versioned:
        assert current is not None  # unversioned and no delete marker: GONE was handled
        if current_tags is None:
            return Location(SUPERSEDED, "key was overwritten after the scan")
        if _has_result_tag(current_tags):
            return Location(SUPERSEDED, "scanner result tag of the current object disagrees")
        return _ambiguous(scan, [current], read, versioned=False)

    candidates = [v for v in reader.versions() if _not_newer(v, bound)]
    for version in candidates[:MAX_TAG_READS]:
        if version.version_id not in read:
            read[version.version_id] = reader.tags(version.version_id)
        tags = read[version.version_id]
        if _consistent(tags, scan.verdict):
            reason = "newest version with a consistent scanner result tag"
            return Location(FOUND, reason, True, (version,), tags)
    if any(_has_result_tag(tags) for tags in read.values()):
        return Location(GONE, "no version has a scanner result tag matching the verdict", True)
    return _ambiguous(scan, candidates, read, versioned=True)


def _ambiguous(
    scan: ScanResult,
    candidates: list[ObjectVersion],
    read: dict[str | None, dict[str, str]],
    versioned: bool,
) -> Location:
    """FSS tagging is off and there is no ETag: take the newest plausible version, say so."""
    for version in candidates:
        if scan.size is None or version.size == scan.size:
            reason = "no ETag and no scanner result tag: newest version not newer than the scan"
            return Location(
                FOUND, reason, versioned, (version,), read.get(version.version_id), ambiguous=True
            )
    status = GONE if versioned else SUPERSEDED
    return Location(status, "no version older than the scan has the scanned size", versioned)


def _not_newer(version: ObjectVersion, timestamp: Decimal) -> bool:
    return epoch_seconds(version.last_modified) <= timestamp


def _has_result_tag(tags: dict[str, str]) -> bool:
    return scanner_tags.has_result(tags)


def _consistent(tags: dict[str, str], verdict: str) -> bool:
    return scanner_tags.agrees(tags, verdict)
