"""The demo's cases: which file is uploaded where, what FSS says about it, what must happen.

Each case is one upload (with the application's `file_id` tag and a row in its table) and one
scan result. The expectations are those of examples/complete: delete malicious uploads (only the
scanned version), record every verdict in the existing table, accept only the listed topics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator import fss

UPLOADS = "uploads"  # versioned bucket, topic "uploads"
ARCHIVE = "archive"  # unversioned bucket, topic "archive"

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
