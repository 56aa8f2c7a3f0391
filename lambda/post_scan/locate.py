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
from post_scan.objects import Head, ObjectGone, ObjectVersion

FOUND = "found"
GONE = "gone"
SUPERSEDED = "superseded"

# Without an ETag, every version not newer than the scan is a candidate and its tags are read,
# newest first, until one agrees with the verdict. Past this many reads the record fails
# (TooManyCandidates) instead of guessing: uploads made in the scan window must not be able to
# hide the scanned version.
MAX_TAG_READS = 1000


class TooManyCandidates(RuntimeError):
    """More candidate versions than MAX_TAG_READS: the scanned one cannot be told apart."""


class VersionMismatch(RuntimeError):
    """The version the scanner named does not hold the ETag it reported: nothing is acted on."""


class S3Reader(Protocol):
    """Reads for one bucket/key. Each may raise ObjectGone."""

    def head(self) -> Head: ...

    def tags(self, version_id: str | None) -> dict[str, str]: ...

    def versions(self) -> list[ObjectVersion]:
        """Versions of exactly this key (no delete markers), newest first."""
        ...

    def version(self, version_id: str) -> ObjectVersion:
        """HEAD of exactly this version (with its user metadata)."""
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
    if scan.version_id is not None:
        return _by_version(scan, reader)
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


def _by_version(scan: ScanResult, reader: S3Reader) -> Location:
    """The scanner named the version it scanned: that version, once a HEAD of it shows the
    scanned ETag; never another one. Gone: nothing to do; another ETag: refused (an error)."""
    version_id = scan.version_id
    assert version_id is not None
    if scan.etag is None:
        raise VersionMismatch(f"version {version_id} is named without its ETag: not acted on")
    try:
        version = reader.version(version_id)
    except ObjectGone:
        return Location(GONE, f"version {version_id} is gone", True)
    if version.etag != scan.etag:
        raise VersionMismatch(
            f"version {version_id} has ETag {version.etag}, the scan result says {scan.etag}: "
            "nothing recorded, copied or deleted"
        )
    return Location(FOUND, f"version {version_id} has the scanned ETag", True, (version,))


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
        current_tags = _tags_if_there(reader, current.version_id if versioned else None)
        if current_tags is None and not versioned:
            return Location(GONE, "the object was deleted while its tags were read")
        if current_tags is not None and scanner_tags.agrees(current_tags, scan.verdict):
            reason = "current object matches the scan"
            return Location(FOUND, reason, versioned, (current,), current_tags)
        if current_tags is not None:
            read[current.version_id] = current_tags

    if not versioned:
        assert current is not None  # unversioned and no delete marker: GONE was handled
        if current_tags is None:
            return Location(SUPERSEDED, "key was overwritten after the scan")
        if scanner_tags.has_result(current_tags):
            return Location(SUPERSEDED, "scanner result tag of the current object disagrees")
        return _ambiguous(scan, [current], read, versioned=False)

    candidates = [v for v in reader.versions() if _not_newer(v, bound)]
    reads, gone = len(read), set()
    for version in candidates:
        if version.version_id not in read:
            if reads == MAX_TAG_READS:
                raise TooManyCandidates(
                    f"{len(candidates)} versions are not newer than the scan and none of the "
                    f"{reads} whose tags were read agrees with it; reading more is refused: "
                    "handle the key by hand"
                )
            found = _tags_if_there(reader, version.version_id)
            reads += 1
            if found is None:  # deleted since the listing: not a candidate any more
                gone.add(version.version_id)
                continue
            read[version.version_id] = found
        tags = read[version.version_id]
        if scanner_tags.agrees(tags, scan.verdict):
            reason = "newest version with a consistent scanner result tag"
            return Location(FOUND, reason, True, (version,), tags)
    if any(scanner_tags.has_result(tags) for tags in read.values()):
        return Location(GONE, "no version has a scanner result tag matching the verdict", True)
    remaining = [v for v in candidates if v.version_id not in gone]
    return _ambiguous(scan, remaining, read, versioned=True)


def _tags_if_there(reader: S3Reader, version_id: str | None) -> dict[str, str] | None:
    try:
        return reader.tags(version_id)
    except ObjectGone:
        return None


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
