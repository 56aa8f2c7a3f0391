"""The flag combinations measured, and the fewest AWS calls each action needs (pure, no AWS).

The minimum is argued per action, for a message that carries the scanned ETag and an object that
is still the scanned one (the common case):

- record: 1 GetObjectTagging (the file id tag; its response also names the version) and
  1 UpdateItem.
- delete, unversioned bucket: 1 DeleteObject with If-Match: the scanned ETag from the message
  (S3 answers 412 when another upload replaced it, 404 when it is gone).
- delete, versioned bucket: 1 HeadObject (versioned or not: a DeleteObject without a version id
  only adds a delete marker and keeps the malware), 1 ListObjectVersions (every version with the
  scanned ETag holds the scanned bytes, the current one or not) and 1 DeleteObject per version.
- delete, no ETag in the message: 1 HeadObject (LastModified and size against the scan, and the
  ETag to delete with If-Match); no tag read: tags are the uploader's to write and never locate.
- route: 1 HeadObject of the source (MetadataDirective=REPLACE must restate its metadata and
  headers), 1 CopyObject (CopySourceIfMatch or the VersionId), 1 HeadObject of the copy (the
  documented verification); in move mode also the delete above, in copy mode nothing more.
- dry run: no write, so only the reads the same flags need to decide (the file id tag).
- GuardDuty (the event names the scanned version and its ETag): 1 HeadObject of that version
  (the proof that it holds the scanned ETag; also the copy's source description) before any
  action, then the actions above; a versioned delete is that HEAD and the DeleteObject.
- announcements (event bus, notification topic, Security Hub): 1 PutEvents and 1 PublishBatch per
  announced message (verdicts of NOTIFY_VERDICTS: all but clean) and 1 BatchImportFindings per
  malicious one; with queue delivery one of each per batch of 10.

Calls are named by the botocore operation they are made through.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from post_scan import config

HEAD = "HeadObject"
TAGS = "GetObjectTagging"
UPDATE = "UpdateItem"
DELETE = "DeleteObject"
LIST = "ListObjectVersions"
COPY = "CopyObject"
PUT_EVENTS = "PutEvents"
PUBLISH_BATCH = "PublishBatch"
IMPORT_FINDINGS = "BatchImportFindings"
ANNOUNCE_OPERATIONS = (PUT_EVENTS, PUBLISH_BATCH, IMPORT_FINDINGS)
# Verdicts announced with the default NOTIFY_VERDICTS.
DEFAULT_NOTIFY_VERDICTS = frozenset({"malicious", "incomplete", "failed", "unscanned"})

VERDICTS = config.VERDICTS
# Verdicts the record rows record: the module's default RECORD_VERDICTS.
DEFAULT_RECORD_VERDICTS = config.Config.record_verdicts

TABLE = "bench-file-ids"
UPLOADS = "bench-uploads"
VERSIONED_UPLOADS = "bench-uploads-versioned"
QUARANTINE = "bench-quarantine"
PROMOTED = "bench-clean"
EVENT_BUS = "bench-scan-results"
NOTIFY_TOPIC = "bench-notifications"  # an ARN in the benchmark's account: see topic_arn()
# Every environment has these: the scanned buckets, and warnings only (no INFO lines).
BASE_ENVIRONMENT = {"ALLOWED_BUCKETS": f"{UPLOADS},{VERSIONED_UPLOADS}", "LOG_LEVEL": "WARNING"}
GUARDDUTY_PLAN = "arn:aws:guardduty:us-east-1:123456789012:malware-protection-plan/bench0plan"
FSS, GUARDDUTY = "fss", "guardduty"
# GuardDuty's results have no "incomplete" (docs/scanner.md, GuardDuty verdicts).
GUARDDUTY_VERDICTS = ("malicious", "clean", "failed", "unscanned")


@dataclass(frozen=True)
class Scenario:
    """One flag combination, run against one bucket kind with one kind of message."""

    name: str
    record: bool = False
    delete: bool = False
    quarantine: bool = False  # ROUTE_MALICIOUS to the quarantine bucket
    promote: bool = False  # ROUTE_CLEAN to the clean bucket
    route_mode: str = "move"  # ROUTE_MODE of the routes above
    dry_run: bool = False
    versioned: bool = False
    etag: bool = True  # the message carries file_attributes.etag (newer scanners)
    announce: bool = False  # EVENT_BUS, NOTIFY_TOPIC_ARN and SECURITY_HUB_PRODUCT_ARN set
    scanner: str = FSS  # GUARDDUTY: GuardDuty's EventBridge event (direct rule target)
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def verdicts(self) -> tuple[str, ...]:
        return GUARDDUTY_VERDICTS if self.scanner == GUARDDUTY else VERDICTS

    @property
    def bucket(self) -> str:
        return VERSIONED_UPLOADS if self.versioned else UPLOADS

    def environment(self) -> dict[str, str]:
        """The runtime contract's variables for these flags (docs/contract.md)."""
        env = dict(BASE_ENVIRONMENT)
        if self.record:
            env |= {"EXTRACT_FILE_ID": "true", "FILE_ID_TABLE": TABLE}
        if self.delete:
            env["DELETE_MALICIOUS"] = "true"
        if self.quarantine:
            env["ROUTE_MALICIOUS"] = QUARANTINE
        if self.promote:
            env["ROUTE_CLEAN"] = PROMOTED
        if self.quarantine or self.promote:
            env["ROUTE_MODE"] = self.route_mode
        if self.dry_run:
            env["DRY_RUN"] = "true"
        if self.announce:
            env |= announce_environment()
        if self.scanner == GUARDDUTY:
            env["GUARDDUTY_PLAN_ARNS"] = GUARDDUTY_PLAN
        return env

    def announces(self, verdict: str) -> bool:
        return self.announce and verdict in DEFAULT_NOTIFY_VERDICTS

    def acts_on(self, verdict: str) -> bool:
        return self.records(verdict) or self.routes(verdict) or self.deletes(verdict)

    def records(self, verdict: str) -> bool:
        return self.record and verdict in DEFAULT_RECORD_VERDICTS

    def routes(self, verdict: str) -> bool:
        return (self.quarantine and verdict == "malicious") or (self.promote and verdict == "clean")

    def deletes(self, verdict: str) -> bool:
        moved = self.routes(verdict) and self.route_mode == "move"
        return moved or (self.delete and verdict == "malicious")


SCENARIOS = (
    Scenario("log only"),
    Scenario("record", record=True),
    Scenario("delete, unversioned", delete=True),
    Scenario("delete, versioned", delete=True, versioned=True),
    Scenario("delete, unversioned, no ETag", delete=True, etag=False),
    Scenario("record + delete", record=True, delete=True),
    Scenario("quarantine (move)", quarantine=True),
    Scenario("quarantine (copy)", quarantine=True, route_mode="copy"),
    Scenario("promote clean (move)", promote=True),
    Scenario("delete + event + notification + finding", delete=True, announce=True),
    Scenario("GuardDuty: delete, versioned", delete=True, versioned=True, scanner=GUARDDUTY),
    Scenario(
        "GuardDuty: record + delete, versioned",
        record=True,
        delete=True,
        versioned=True,
        scanner=GUARDDUTY,
    ),
    Scenario(
        "GuardDuty: quarantine (move), versioned",
        quarantine=True,
        versioned=True,
        scanner=GUARDDUTY,
    ),
    Scenario("GuardDuty: delete, unversioned", delete=True, scanner=GUARDDUTY),
    Scenario(
        "dry run: record + delete + quarantine",
        record=True,
        delete=True,
        quarantine=True,
        dry_run=True,
    ),
)


ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


def announce_environment() -> dict[str, str]:
    """The announcement variables, pointing at the benchmark account's bus, topic, product."""
    return {
        "EVENT_BUS": EVENT_BUS,
        "NOTIFY_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{NOTIFY_TOPIC}",
        "SECURITY_HUB_PRODUCT_ARN": (
            f"arn:aws:securityhub:{REGION}:{ACCOUNT_ID}:product/{ACCOUNT_ID}/default"
        ),
    }


def minimum_calls(scenario: Scenario, verdict: str) -> Counter[str]:
    """The fewest calls the actions the flags ask for need (see the module docstring)."""
    calls: Counter[str] = Counter()
    if scenario.announces(verdict):
        calls[PUT_EVENTS] = calls[PUBLISH_BATCH] = 1
    if scenario.announce and verdict == "malicious":
        calls[IMPORT_FINDINGS] = 1
    if not scenario.acts_on(verdict):
        return +calls
    writes = not scenario.dry_run
    if scenario.records(verdict):
        calls[TAGS] = 1
        calls[UPDATE] = int(writes)
    if scenario.routes(verdict):
        calls[HEAD] = 1
        if writes:
            calls[COPY] = 1
            calls[HEAD] += 1
    if scenario.deletes(verdict) and writes:
        calls[DELETE] = 1
        if scenario.versioned:
            calls[HEAD] = max(calls[HEAD], 1)
            # FSS's ETag may sit on other versions too; GuardDuty names the one version.
            calls[LIST] = int(scenario.scanner != GUARDDUTY)
    if not scenario.etag:
        calls[HEAD] = max(calls[HEAD], 1)
    if scenario.scanner == GUARDDUTY and scenario.versioned:
        calls[HEAD] = max(calls[HEAD], 1)  # the named version's ETag, proven before any action
    return +calls


def extra_calls(measured: Counter[str], minimum: Counter[str]) -> Counter[str]:
    return measured - minimum


def why_extra(scenario: Scenario, verdict: str, operation: str) -> str:
    """Why the engine makes more `operation` calls than the minimum; says if they could go."""
    if operation == HEAD and scenario.routes(verdict) and not scenario.dry_run:
        return (
            "required in unversioned buckets, avoidable in versioned ones: the source is HEADed "
            "again after the tag read (If-Match or VersionId, ChecksumMode); unversioned, that "
            "HEAD also proves the tags are the scanned upload's (same ETag and LastModified); "
            "versioned, one HEAD with ChecksumMode at locate would do"
        )
    if operation == HEAD and (scenario.records(verdict) or scenario.routes(verdict)):
        return (
            "required: a HEAD before the tag read finds the scanned upload (ETag, version id); "
            "unversioned, a second one after it must show the same ETag (If-Match) and "
            "LastModified: GetObjectTagging answers neither, and an upload that replaced the "
            "scanned one in between would get this verdict on its row"
        )
    if operation == HEAD:
        return (
            "required while the bucket's versioning is unknown: the HEAD tells versioned from "
            "unversioned (a DeleteObject with If-Match on a versioned key only adds a delete "
            "marker) and reads the loop-protection mark"
        )
    if operation == TAGS and scenario.routes(verdict):
        return (
            "avoidable below 256 MiB: tags are read and passed (TaggingDirective=REPLACE) so "
            "multipart copies carry them too; CopyObject with TaggingDirective=COPY needs no read"
        )
    return f"unexplained: {operation} is not in the minimum model"
