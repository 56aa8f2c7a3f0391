"""Issue 19, property tests: whatever an uploader does, two promises hold (the real handler, moto).

A strategy generates uploader behaviour: keys (spaces, +, %, unicode, long ones), sizes, up to 10
tags in both scanner tag formats and any key case (forged clean or malicious File Storage Security
tags, a forged GuardDuty tag, the application's file id), re-uploads before the scan began, while
it ran and after it, the same bytes twice, versioned buckets or not; and the genuine scan result of
one of those uploads in each message format (with an ETag, with scan_start_timestamp only, the 2020
format with neither; with or without TotalBytesOfFile), with the scanner's own tag written in time
or not. For every case:

(a) a malicious verdict never ends in a success while the scanned upload is still readable in the
    scanned bucket;
(b) a benign verdict never copies, promotes or records (as that verdict) bytes the scanner may not
    have scanned, and never deletes another upload.

The model of "what was scanned": in a versioned bucket the scanner scans the version that was
uploaded (each version has its own result); in an unversioned one it reads whatever the key holds
when the scan begins, so the scanned upload is the last one made before the scan's start.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from engine_kit import EICAR_BODY, T0, epoch, scan_message, sns_event, sns_record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MALWARE = EICAR_BODY
BENIGN_VERDICTS = ("clean", "incomplete", "failed", "unscanned")
SUCCESS = {
    "processed",
    "fallback",
    "object_gone",
    "superseded",
    "stale_verdict",
    "row_missing",
    "row_conflict",
    "unproven",
    "skipped_own_copy",
}
_EXAMPLES = itertools.count()


@dataclass
class Upload:
    body: bytes
    malicious: bool
    at: int  # seconds after T0 (LastModified)
    tags: dict[str, str]
    etag: str = ""
    version_id: str | None = None
    last_modified: Any = None


@dataclass
class Case:
    versioned: bool
    key: str
    uploads: list[Upload]
    scanned: int  # index into uploads
    start: int  # scan_start_timestamp, seconds after T0
    published: int
    etag: bool
    started: bool  # the message carries scan_start_timestamp
    size: bool  # the message carries TotalBytesOfFile
    verdict: str
    scanner_tagged: bool  # the scanner's own result tag is on the scanned upload in time
    settings: str
    file_ids: list[str] = field(default_factory=list)


# --- the strategy ------------------------------------------------------------------------------

_SPECIAL = " +%&=?#~@!$'()[]{};,é日本ü\u00a0"
_SEGMENT = st.text(
    alphabet=st.sampled_from("abcXYZ019-_." + _SPECIAL),
    min_size=1,
    max_size=24,
).filter(lambda s: s not in (".", ".."))
KEYS = st.one_of(
    st.lists(_SEGMENT, min_size=1, max_size=3).map("/".join),
    st.integers(min_value=600, max_value=1000).map(lambda n: "long/" + "k" * n),
    st.sampled_from(["a b+c 100% ünï 日本.txt", "plus+and%2Bspace .bin", "x?y#z&q=1.txt"]),
)

RESULT_VALUES = st.sampled_from(
    [
        "malicious",
        "no issues found",
        "Malicious",
        "NO ISSUES FOUND",
        " no  issues found ",
        "failure",
    ]
)
SEPARATED = st.tuples(
    st.sampled_from(["fss-scan-result", "FSS-SCAN-RESULT", "Fss-Scan-Result", "fss_scan_result"]),
    RESULT_VALUES,
)
MERGED = st.tuples(
    st.sampled_from(["fss-a", "fss-scan", "FSS-Z", "fss-scan-result", "fss-scan-info"]),
    st.tuples(st.sampled_from(["scan-result=", "fss-scan-result:", "Scan_Result="]), RESULT_VALUES)
    .map(lambda p: p[0] + p[1] + " scanned=true")
    .map(lambda v: v.replace("  ", " ")),
)
GUARDDUTY = st.tuples(
    st.sampled_from(["GuardDutyMalwareScanStatus", "guarddutymalwarescanstatus"]),
    st.sampled_from(["THREATS_FOUND", "NO_THREATS_FOUND", "threats_found"]),
)
OTHER = st.tuples(
    st.sampled_from(["app", "owner", "Team", "x"]), st.sampled_from(["1", "a b", "z"])
)
TAG = st.one_of(SEPARATED, MERGED, GUARDDUTY, OTHER)


@st.composite
def uploads(draw: Any) -> list[Upload]:
    count = draw(st.integers(min_value=1, max_value=4))
    made: list[Upload] = []
    at = 0
    for _ in range(count):
        at += draw(st.sampled_from([1, 2, 5, 9]))
        if made and draw(st.booleans()) and draw(st.booleans()):
            earlier = draw(st.sampled_from(made))  # the same bytes again
            body, malicious = earlier.body, earlier.malicious
        elif draw(st.booleans()):
            body, malicious = MALWARE + b" " * draw(st.sampled_from([0, 0, 2])), True
        else:
            size = draw(st.sampled_from([len(MALWARE), len(MALWARE) + 2, 5, 300]))
            body, malicious = draw(st.sampled_from([b"b", b"c"])) * size, False
        tags = dict(draw(st.lists(TAG, max_size=9)))
        made.append(Upload(body, malicious, at, tags))
    return made


@st.composite
def cases(draw: Any) -> Case:
    versioned = draw(st.booleans())
    made = draw(uploads())
    chosen = draw(st.integers(min_value=0, max_value=len(made) - 1))
    start = made[chosen].at + draw(st.sampled_from([0, 1, 3]))
    if not versioned:  # the scanner reads what the key holds when the scan begins
        chosen = max(i for i, u in enumerate(made) if u.at <= start)
    published = start + draw(st.sampled_from([1, 4, 12]))
    scanned = made[chosen]
    verdict = "malicious" if scanned.malicious else draw(st.sampled_from(BENIGN_VERDICTS))
    return Case(
        versioned=versioned,
        key=draw(KEYS),
        uploads=made,
        scanned=chosen,
        start=start,
        published=published,
        etag=draw(st.booleans()),
        started=draw(st.booleans()),
        size=draw(st.sampled_from([True, True, True, False])),
        verdict=verdict,
        scanner_tagged=draw(st.booleans()),
        settings=draw(st.sampled_from(["delete", "quarantine", "record"])),
    )


# --- driving the handler -----------------------------------------------------------------------


def environment(case: Case, bucket: str, n: int) -> dict[str, str]:
    env = {
        "ALLOWED_BUCKETS": bucket,
        "EXTRACT_FILE_ID": "true",
        "FILE_ID_TABLE": "app-files",
        "RECORD_VERDICTS": "malicious,clean,incomplete,failed,unscanned",
        "ROUTE_CLEAN": f"promote-bucket/{n}/",
        "ROUTE_INCOMPLETE": f"promote-bucket/{n}-review/",
    }
    if case.settings == "delete":
        env["DELETE_MALICIOUS"] = "true"
    elif case.settings == "quarantine":
        env["ROUTE_MALICIOUS"] = f"quarantine-bucket/{n}/"
    else:
        env["DELETE_MALICIOUS"] = "true"
        env["ROUTE_CLEAN"] = ""
        env["ROUTE_INCOMPLETE"] = ""
    return env


def message(case: Case, bucket: str) -> dict[str, Any]:
    scanned = case.uploads[case.scanned]
    fields: dict[str, Any] = {
        "verdict": "clean" if case.verdict == "unscanned" else case.verdict,
        "timestamp": epoch(T0 + timedelta(seconds=case.published)),
        "size": len(scanned.body),
    }
    if case.etag:
        fields["etag"] = scanned.etag
    if case.started:
        fields["scan_start_timestamp"] = epoch(T0 + timedelta(seconds=case.start))
    built = scan_message(bucket, case.key, **fields)
    if case.verdict == "unscanned":
        built["scanner_status"], built["scanner_status_message"] = -4, "timeout"
    if not case.size:
        del built["scanning_result"]["TotalBytesOfFile"]
    return built


def put(s3: Any, clock: Any, bucket: str, case: Case, n: int) -> None:
    for index, item in enumerate(case.uploads):
        tags = dict(item.tags)
        file_id = f"p{n}-{index}"
        case.file_ids.append(file_id)
        tags["file_id"] = file_id
        if index == case.scanned and case.scanner_tagged and len(tags) < 10:
            tags["fss-scan-result"] = "malicious" if item.malicious else "no issues found"
        while len(tags) > 10:  # S3 allows 10 tags: the uploader's extras go first
            tags.pop(next(k for k in tags if k != "file_id"))
        clock.set(item.at)
        response = s3.put_object(
            Bucket=bucket,
            Key=case.key,
            Body=item.body,
            Tagging="&".join(f"{_quote(k)}={_quote(v)}" for k, v in tags.items()),
        )
        item.etag = response["ETag"].strip('"')
        item.version_id = response.get("VersionId")
        head = s3.head_object(Bucket=bucket, Key=case.key)
        item.last_modified = head["LastModified"]
    clock.set(case.published + 1)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


# --- the two promises --------------------------------------------------------------------------


def readable(s3: Any, bucket: str, case: Case, upload: Upload) -> bool:
    """The upload's bytes can still be read from the scanned bucket as that upload."""
    if case.versioned:
        listing = s3.list_object_versions(Bucket=bucket, Prefix=case.key).get("Versions", [])
        return any(v["VersionId"] == upload.version_id for v in listing if v["Key"] == case.key)
    try:
        head = s3.head_object(Bucket=bucket, Key=case.key)
    except s3.exceptions.ClientError:
        return False
    same = head["ETag"].strip('"') == upload.etag and head["LastModified"] == upload.last_modified
    return same and upload is max(case.uploads, key=lambda u: u.at)


def check(case: Case, line: dict[str, Any], s3: Any, dynamodb: Any, bucket: str, n: int) -> None:
    scanned = case.uploads[case.scanned]
    outcome = line["outcome"]
    assert outcome in SUCCESS | {"error"}, line
    if case.verdict == "malicious":
        if outcome != "error":
            assert not readable(s3, bucket, case, scanned), (
                f"malicious verdict ended {outcome} with the scanned upload still readable: "
                f"{line['reason']}"
            )
        return
    # (b) benign: what was promoted is the scanned bytes, of the scanned version.
    promoted = s3.list_objects_v2(Bucket="promote-bucket", Prefix=f"{n}").get("Contents", [])
    for entry in promoted:
        got = s3.get_object(Bucket="promote-bucket", Key=entry["Key"])
        assert got["Body"].read() == scanned.body, f"promoted other bytes: {line['reason']}"
        if case.versioned:  # the scanned version; with the ETag, a version of the same bytes
            source = got["Metadata"].get("fss-post-scan-source-version-id")
            same = [u.version_id for u in case.uploads if case.etag and u.body == scanned.body]
            assert source in {scanned.version_id, *same}, f"promoted another version: {line}"
    # Rows: a benign verdict only on the scanned upload's row (`unproven` says nothing).
    for index, file_id in enumerate(case.file_ids):
        item = dynamodb.get_item(TableName="app-files", Key={"file_id": {"S": file_id}}).get("Item")
        verdict = item["scan_verdict"]["S"] if item else None
        if verdict in BENIGN_VERDICTS and index != case.scanned:
            same_bytes = case.uploads[index].body == scanned.body
            assert same_bytes and case.etag, f"{file_id}'s row says {verdict}: {line['reason']}"
    # No other upload was deleted by a benign verdict.
    latest = max(case.uploads, key=lambda u: u.at)
    others = [u for u in case.uploads if u is not scanned and (case.versioned or u is latest)]
    for other in others:
        if case.etag and other.body == scanned.body:
            continue  # the same bytes: the same scan result applies to them
        assert readable(s3, bucket, case, other), f"a benign verdict deleted another upload: {line}"


@pytest.fixture
def route_buckets(s3: Any) -> None:
    for name in ("promote-bucket", "quarantine-bucket"):
        s3.create_bucket(Bucket=name)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
def test_uploader_evidence_never_decides(
    s3, dynamodb, table, clock, make_engine, route_buckets, case: Case
) -> None:
    n = next(_EXAMPLES)
    bucket = f"prop-{n}-{'v' if case.versioned else 'u'}"
    s3.create_bucket(Bucket=bucket)
    if case.versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    put(s3, clock, bucket, case, n)
    run = make_engine(**environment(case, bucket, n))(sns_event(sns_record(message(case, bucket))))
    (line,) = run.lines
    check(case, line, s3, dynamodb, bucket, n)


def test_the_strategy_reaches_the_cases_that_matter() -> None:
    """The generator is not vacuous: it yields each kind of case the promises are about."""
    seen: set[str] = set()

    @settings(max_examples=300, deadline=None)
    @given(case=cases())
    def look(case: Case) -> None:
        scanned = case.uploads[case.scanned]
        same_size = [u for u in case.uploads if len(u.body) == len(scanned.body)]
        forged = any(
            "scan" in k.lower() or "guardduty" in k.lower() for u in case.uploads for k in u.tags
        )
        seen.add("versioned" if case.versioned else "unversioned")
        if len(same_size) > 1:
            seen.add("same size twice")
        if any(u.at > case.start for u in case.uploads):
            seen.add("re-upload after the scan began")
        if forged:
            seen.add("forged scanner tags")
        if len(case.key.encode()) > 600:
            seen.add("long key")
        seen.add(case.verdict)
        seen.add(json.dumps([case.etag, case.started]))

    look()
    assert seen >= {
        "versioned",
        "unversioned",
        "same size twice",
        "re-upload after the scan began",
        "forged scanner tags",
        "long key",
        "malicious",
        "clean",
        "[false, false]",
        "[false, true]",
        "[true, false]",
    }
