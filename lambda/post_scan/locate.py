"""Pure decision: which object version(s) hold the content that was scanned.

Only evidence S3 itself sets decides: the ETag (the message's, when it has one), the version ids,
LastModified against the scan's start and the size against the message's TotalBytesOfFile. Object
tags never do: an uploader can write them (see docs/how-it-works.md, "Locating the scanned
content"). Without an ETag the candidates are every version (or the unversioned object) these
leave in; a malicious verdict is acted on for all of them, a benign one only when it is proven to
be exactly one (UNPROVEN otherwise: nothing is done to the object).

The S3 reads come through the small S3Reader protocol (the pipeline binds aws.S3Objects to one
bucket/key), so the rules can be read, and tested, without S3.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol

from post_scan.message import MALICIOUS, ScanResult, epoch_seconds
from post_scan.objects import Head, ObjectGone, ObjectVersion

FOUND = "found"
GONE = "gone"
SUPERSEDED = "superseded"
UNPROVEN = "unproven"  # a benign verdict whose scanned bytes S3's evidence cannot single out

# Without an ETag, a malicious verdict is acted on for every candidate: each costs up to five S3
# calls (tags, HEAD, copy, HEAD of the copy, delete). Past this many the record fails
# (TooManyCandidates: retried, then dead-lettered) instead of guessing which ones to leave.
MAX_CANDIDATES = 100


class TooManyCandidates(RuntimeError):
    """More candidate versions than MAX_CANDIDATES for a malicious verdict without an ETag."""


class VersionMismatch(RuntimeError):
    """The version the scanner named does not hold the ETag it reported: nothing is acted on."""


class S3Reader(Protocol):
    """Reads for one bucket/key. Each may raise ObjectGone."""

    def head(self) -> Head: ...

    def versions(self) -> list[ObjectVersion]:
        """Versions of exactly this key (no delete markers), newest first."""
        ...

    def version(self, version_id: str) -> ObjectVersion:
        """HEAD of exactly this version (with its user metadata)."""
        ...


@dataclass(frozen=True)
class Location:
    """Where the scanned content is: found (the versions to act on), gone, superseded or
    unproven."""

    status: str  # FOUND, GONE, SUPERSEDED or UNPROVEN
    reason: str
    versioned: bool = False
    # FOUND: what the verdict is acted on, newest first. UNPROVEN: the candidates, none acted on.
    targets: tuple[ObjectVersion, ...] = ()
    by_etag: bool = False

    @property
    def ambiguous(self) -> bool:
        """Located without an ETag and more than one candidate: S3 cannot say which one was
        scanned (a malicious verdict then acts on each, a benign one on none)."""
        return not self.by_etag and len(self.targets) > 1


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
    if not head.versioned:
        assert current is not None  # unversioned and no delete marker: GONE was handled
        if current.etag == scan.etag:
            reason = "current object has the scanned ETag"
            return Location(FOUND, reason, False, (current,), by_etag=True)
        return Location(
            SUPERSEDED,
            f"key now holds a different upload (ETag {current.etag}, scanned {scan.etag})",
        )
    # Same ETag means same bytes: every such version is the scanned content, the current one or
    # not (an older upload of the same bytes would otherwise stay readable by its version id).
    matches = tuple(_with_head(v, current) for v in reader.versions() if v.etag == scan.etag)
    if not matches:
        return Location(GONE, f"no version has the scanned ETag {scan.etag}", True)
    reason = f"{len(matches)} version(s) have the scanned ETag"
    return Location(FOUND, reason, True, matches, by_etag=True)


def _with_head(version: ObjectVersion, current: ObjectVersion | None) -> ObjectVersion:
    """The listed version with the metadata the HEAD read, when it is the current one."""
    if current is not None and version.version_id == current.version_id:
        return replace(version, metadata=current.metadata)
    return version


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
    return Location(
        FOUND, f"version {version_id} has the scanned ETag", True, (version,), by_etag=True
    )


def scan_bound(scan: ScanResult) -> Decimal:
    """Latest LastModified the scanned content can have: when the scan began if the message says
    (newer scanners), else when the result was published."""
    return scan.scan_started if scan.scan_started is not None else scan.timestamp


def excluded(version: ObjectVersion, scan: ScanResult) -> str | None:
    """Why S3's own evidence says this version is not the scanned content; None: a candidate."""
    bound = scan_bound(scan)
    if epoch_seconds(version.last_modified) > bound:
        return f"last modified {version.last_modified.isoformat()}, after the scan began"
    if scan.size is not None and version.size != scan.size:
        return f"{version.size} bytes, the scan read {scan.size}"
    return None


def _by_evidence(scan: ScanResult, head: Head, reader: S3Reader) -> Location:
    """No ETag in the message: LastModified and size, nothing an uploader can write."""
    current = head.current
    if not head.versioned:
        assert current is not None  # unversioned and no delete marker: GONE was handled
        why = excluded(current, scan)
        if why is not None:
            return Location(SUPERSEDED, f"the object at the key is another upload: {why}")
        return _decide(scan, [current], versioned=False)
    candidates = [_with_head(v, current) for v in reader.versions() if excluded(v, scan) is None]
    if not candidates:
        reason = "no version is as old as the scan and of the scanned size"
        return Location(GONE, reason, True)
    return _decide(scan, candidates, versioned=True)


def _decide(scan: ScanResult, candidates: list[ObjectVersion], versioned: bool) -> Location:
    count = len(candidates)
    what = "the object at the key" if not versioned else f"{count} version(s)"
    evidence = f"{what} as old as the scan and of the scanned size (no ETag in the message)"
    if scan.verdict == MALICIOUS:
        if count > MAX_CANDIDATES:
            raise TooManyCandidates(
                f"{count} versions are as old as the scan and of the scanned size; acting on "
                f"more than {MAX_CANDIDATES} in one record is refused: handle the key by hand"
            )
        reason = evidence + (": each is acted on" if count > 1 else "")
        return Location(FOUND, reason, versioned, tuple(candidates))
    why = _unproven(scan, count, versioned)
    if why is not None:
        return Location(
            UNPROVEN, f"{scan.verdict} not applied: {why}", versioned, tuple(candidates)
        )
    return Location(FOUND, evidence, versioned, tuple(candidates))


def _unproven(scan: ScanResult, count: int, versioned: bool) -> str | None:
    """Why a benign verdict cannot be bound to one candidate; None when it can."""
    if scan.size is None:
        return "the message gives no scanned size (TotalBytesOfFile) to tell uploads apart"
    if count > 1:
        return (
            f"{count} candidates (versions as old as the scan with the scanned size): "
            "without the ETag the scanned one cannot be told apart"
        )
    if not versioned and scan.scan_started is None:
        return (
            "unversioned bucket and no scan_start_timestamp in the message: an upload of the "
            "same size made while the scan ran would look as old as the scanned one"
        )
    return None
