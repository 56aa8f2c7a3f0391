"""The demo's cases: which file is uploaded where, what the scanner says about it, what must happen.

Each case is one upload (with the application's `file_id` tag and a row in its table) and one
scan result: File Storage Security's on a topic, or (emulator only) GuardDuty's on the default
event bus. The expectations are those of examples/complete: delete malicious uploads (only the
scanned version), record every verdict in the existing table, accept only the listed topics and
plans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator import fss

UPLOADS = "uploads"  # versioned bucket, topic "uploads"
ARCHIVE = "archive"  # unversioned bucket, topic "archive"
GUARDDUTY = "guardduty"  # versioned bucket of a GuardDuty Malware Protection plan (emulator only)
FSS_SCANNER, GUARDDUTY_SCANNER = "fss", "guardduty"

OLDER_CLEAN = "older clean version"
SCANNED = "scanned upload"


@dataclass(frozen=True)
class Expected:
    outcome: str  # the log line's outcome
    object_after: str  # "unchanged", "scanned version gone" or "gone"
    verdict: str | None  # scan_verdict in the row afterwards; None: row untouched
    action: str | None = None  # scan_action in the row afterwards
    announced: bool = True  # an event and a notification say what happened


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    place: str  # UPLOADS or ARCHIVE: the bucket and the topic
    key: str
    verdict: str  # what the scan result says: clean, malicious, incomplete, failed
    expected: Expected
    expectation: str  # the same, for people
    older_clean_version: bool = False
    forged: bool = False
    extra_tags: dict[str, str] = field(default_factory=dict)
    # GUARDDUTY_SCANNER: the emulator's GuardDuty stand-in tags the upload and puts the event on
    # the default bus (AWS lets no one but GuardDuty do that: the case runs on the emulator only).
    scanner: str = FSS_SCANNER

    @property
    def body(self) -> bytes:
        if self.verdict == "malicious" and not self.forged:
            return fss.eicar()
        return f"demo upload: {self.title}\n".encode()

    def message(self, bucket: str, region: str, etag: str) -> dict[str, Any]:
        """The scan result FSS would publish for this upload (or the forger's copy of one)."""
        return fss.verdict_message(
            self.verdict, bucket, self.key, region, size=len(self.body), etag=etag
        )


CASES = [
    Case(
        name="clean",
        title="clean upload",
        place=UPLOADS,
        key="reports/2024/quarterly-report.pdf",
        verdict="clean",
        expected=Expected("processed", "unchanged", "clean", "none"),
        expectation="the object stays; the row records clean",
    ),
    Case(
        name="malicious-versioned",
        title="malicious upload in a versioned bucket, an older clean version underneath",
        place=UPLOADS,
        key="invoices/2024/invoice-0042.pdf",
        verdict="malicious",
        older_clean_version=True,
        expected=Expected("processed", "scanned version gone", "malicious", "delete"),
        expectation=(
            "the scanned version is deleted for good (no delete marker), the older clean version "
            "stays; the row records malicious"
        ),
    ),
    Case(
        name="malicious-unicode-key",
        title="malicious upload, key with spaces and unicode, unversioned bucket",
        place=ARCHIVE,
        key="shared/Müller & Søn/résumé été 2024 ✓.pdf",
        verdict="malicious",
        expected=Expected("processed", "gone", "malicious", "delete"),
        expectation="the object is deleted (conditional delete on the scanned ETag); the row "
        "records malicious",
    ),
    Case(
        name="incomplete",
        title="incomplete scan (scanning_result.Codes not empty)",
        place=ARCHIVE,
        key="exports/customer-backup.zip",
        verdict="incomplete",
        expected=Expected("processed", "unchanged", "incomplete", "none"),
        expectation="the object stays; the row records incomplete with the codes",
    ),
    Case(
        name="scan-failure",
        title="scan failure (scanner_status -2)",
        place=ARCHIVE,
        key="media/interview-recording.mp4",
        verdict="failed",
        expected=Expected("processed", "unchanged", "failed", "none"),
        expectation="the object stays; the row records failed",
    ),
    Case(
        name="guardduty-malicious",
        title="GuardDuty: malicious upload (raw key with + and spaces), an older clean version",
        place=GUARDDUTY,
        key="inbox/2024/scan me+now.pdf",
        verdict="malicious",
        older_clean_version=True,
        scanner=GUARDDUTY_SCANNER,
        expected=Expected("processed", "scanned version gone", "malicious", "delete"),
        expectation=(
            "GuardDuty's event names the version: exactly that one is deleted for good, the older "
            "clean version stays; the row records malicious (scan_scanner=guardduty)"
        ),
    ),
    Case(
        name="forged-topic",
        title="forged message: 'malicious' from a topic that is not a scan-result topic",
        place=UPLOADS,
        key="payroll/2024-12.xlsx",
        verdict="malicious",
        forged=True,
        expected=Expected("rejected", "unchanged", None, announced=False),
        expectation=(
            "rejected by the topic guard: the object and the row stay untouched, nothing is "
            "announced"
        ),
    ),
]


def cases_for(target_kind: str) -> list[Case]:
    """The cases a target can run: GuardDuty's only on the emulator."""
    return [c for c in CASES if target_kind == "emulator" or c.scanner == FSS_SCANNER]
