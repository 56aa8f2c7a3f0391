"""Pure decisions per scanned version: what each one gets (row, copy, delete) and whether a
fallback has to make it harmless instead.

A record acts on one or more targets: the unversioned object, or every version that holds the
scanned content (same ETag, same bytes). Each target has its own tags, so its own file id and
row, and its own copy: several versions of one key never share a destination key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from post_scan.config import Config, Route
from post_scan.message import MALICIOUS, ScanResult
from post_scan.objects import ObjectVersion, StoredObject
from post_scan.route import deletes_source, planned_key, routed_metadata, scan_action


class VerdictConflict(RuntimeError):
    """A non-malicious verdict for content that a scanner tagged malicious."""


@dataclass
class Target:
    """One scanned version and everything decided or done for it."""

    version: ObjectVersion
    versioned: bool
    tags: dict[str, str] | None = None  # None: not read (no action needs them)
    source: StoredObject | None = None  # HEAD of exactly this version (routes; item 5 check)
    file_id: str | None = None
    action: str = "none"  # the row's scan_action: what is done with this version
    destination_key: str | None = None
    destination: str | None = None  # s3://bucket/key of its copy
    metadata: dict[str, str] | None = None  # user metadata of its copy
    fallbacks: list[str] = field(default_factory=list)  # why the configured action was not done
    recorded: bool = False
    gone: bool = False  # deleted by someone else while the record was handled
    # Final receive: the row could not be written; it goes to the dead-letter queue (pending.py).
    pending: bool = False

    @property
    def version_id(self) -> str | None:
        return self.version.version_id if self.versioned else None

    def describe(self) -> str:
        if self.versioned:
            return f"version {self.version.version_id}"
        return f"the object with ETag {self.version.etag}"

    def summary(self) -> dict[str, Any]:
        """What the log line reports per target."""
        return {
            "version_id": self.version_id,
            "file_id": self.file_id,
            "action": self.action,
            "destination": self.destination,
            "fallback": "; ".join(self.fallbacks) or None,
        }


def may_fall_back(verdict: str, config: Config) -> bool:
    """A malicious file that must leave the scanned bucket (move mode, or DELETE_MALICIOUS):
    a failure no retry can cure falls back to another way of making it harmless."""
    return verdict == MALICIOUS and deletes_source(verdict, config)


def check_conflicts(scan: ScanResult, targets: list[Target]) -> None:
    """A clean, incomplete, failed or unscanned verdict is never acted on for content a scanner
    tagged malicious (tags can lag a malicious message, never the reverse). Any malicious value
    counts, under any key spelling, separated or merged, File Storage Security's or GuardDuty's
    (scanner_tags.malicious_keys): tags may only make the function more careful."""
    read = [t for t in targets if t.tags is not None]
    if scan.verdict == MALICIOUS or not read:
        return
    from post_scan.scanner_tags import malicious_keys  # loaded only where tags are read

    found = ((t, malicious_keys(t.tags)) for t in read)
    tagged = [f"{t.describe()} ({', '.join(keys)})" for t, keys in found if keys]
    if tagged:
        raise VerdictConflict(
            f"the message says {scan.verdict} but a scanner's result tag says malicious on "
            f"{'; '.join(tagged)}: nothing recorded, copied or deleted"
        )


def plan(scan: ScanResult, config: Config, route: Route | None, targets: list[Target]) -> None:
    """Each target's action, destination key and copy metadata, before anything is written.

    The first (newest) target takes the route's usual key, the others their own short keys.
    Raises RouteError when a copy cannot be made as configured and no fallback is allowed.
    """
    fall_back = may_fall_back(scan.verdict, config)
    action = scan_action(scan.verdict, config, routed=route is not None)
    for index, target in enumerate(targets):
        target.action = action
        if route is None:
            continue
        key, why = planned_key(
            route,
            scan.bucket,
            scan.key,
            target.version_id,
            first=index == 0,
            may_shorten=fall_back,
        )
        if why:
            target.fallbacks.append(f"{why}: quarantined under a short key")
        assert target.source is not None  # read before planning whenever there is a route
        metadata, dropped = routed_metadata(
            target.source.metadata, scan, target.source.version_id, make_room=fall_back
        )
        if dropped:
            target.fallbacks.append(
                "no room for the mark in the user metadata: the copy leaves out "
                + ", ".join(dropped)
            )
        target.destination_key, target.metadata = key, metadata
        target.destination = f"s3://{route.bucket}/{key}"


def copy_failed(target: Target, reason: str) -> None:
    """The copy cannot be made at all: the version is deleted without one."""
    target.fallbacks.append(f"{reason}: deleted without a copy")
    target.action = "delete"
    target.destination = target.destination_key = None
