"""Log lines the engine really prints, one per kind of record, for the tests of what reads them:
the saved Logs Insights queries (queries/*.query), the dashboard's metric names and the report.

print_lines() runs the handler (moto in-process, as every engine test) over uploads to two buckets:
malicious files deleted, quarantined (moved), left in place (dry run), deleted by a fallback and
failing; clean, incomplete, failed and unscanned results; a rejected and an ignored message. Each
record gets its own wall-clock reading (LastModified is T0), so exposures differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine_kit import (
    OTHER_TOPIC_ARN,
    T0,
    TOPIC_ARN,
    epoch,
    scan_message,
    sns_event,
    sns_record,
    upload,
)

MANY_FINDINGS = 150  # more than Logs Insights discovers fields, each finding being two
MANY_VERSIONS = 30


@dataclass(frozen=True)
class Printed:
    line: dict[str, Any]
    text: str  # exactly as printed (the CloudWatch Logs event's message)
    timestamp_ms: int  # when it was "printed": the log event's timestamp


def _findings(count: int) -> list[dict[str, str]]:
    return [{"malware": f"Trojan.Many.{n:03d}", "type": "Trojan"} for n in range(count)]


def print_lines(make_engine: Any, s3: Any, s3_calls: Any, buckets: dict[str, str]) -> list[Printed]:
    """buckets: {"a": name, "b": versioned name, "quarantine": name}."""
    a, b, quarantine = buckets["a"], buckets["b"], buckets["quarantine"]
    allowed = f"{a},{b}"
    printed: list[Printed] = []
    second = [0]

    def run(engine: Any, event: dict[str, Any], exposure_after_t0: float) -> None:
        second[0] += 1
        engine.pipeline.wall_clock = lambda: epoch(T0) + exposure_after_t0
        result = engine(event)
        for line, text in zip(result.lines, result.raw, strict=True):
            stamp = int((epoch(T0) + 60 + second[0]) * 1000)
            printed.append(Printed(line, text, stamp))

    def malicious(bucket: str, key: str, **extra: Any) -> dict[str, Any]:
        obj = upload(s3, bucket, key, tags={"file_id": f"id-{key}"})
        return sns_event(sns_record(scan_message(bucket, key, etag=obj["etag"], **extra)))

    deleting = make_engine(ALLOWED_BUCKETS=allowed, DELETE_MALICIOUS="true", EXTRACT_FILE_ID="true")
    for n, exposure in enumerate((31.5, 42.25, 12.0, 95.125, 7.5)):
        run(deleting, malicious(a, f"virus-{n}.exe"), exposure)
    run(deleting, malicious(b, "versioned/virus.exe"), 64.0)
    # The same malware uploaded 30 times, a clean file on top: 30 targets, 5 fields each.
    for _ in range(MANY_VERSIONS):
        obj = upload(s3, b, "again.exe", tags={"file_id": "id-again.exe"})
    upload(s3, b, "again.exe", body=b"clean now")
    run(deleting, sns_event(sns_record(scan_message(b, "again.exe", etag=obj["etag"]))), 70.0)
    # A file whose scan lists more findings than Logs Insights discovers fields.
    many = malicious(a, "archive-of-many.zip")
    body = json.loads(many["Records"][0]["Sns"]["Message"])
    body["scanning_result"]["Findings"] = _findings(MANY_FINDINGS)
    many["Records"][0]["Sns"]["Message"] = json.dumps(body)
    run(deleting, many, 50.0)

    quarantining = make_engine(
        ALLOWED_BUCKETS=allowed, EXTRACT_FILE_ID="true", ROUTE_MALICIOUS=f"{quarantine}/held/"
    )
    run(quarantining, malicious(b, "quarantined.exe"), 20.0)
    dry = make_engine(ALLOWED_BUCKETS=allowed, DELETE_MALICIOUS="true", DRY_RUN="true")
    run(dry, malicious(a, "dry-run.exe"), 30.0)

    s3_calls.fail("CopyObject", "InvalidObjectState", 403)
    run(quarantining, malicious(a, "archived.exe"), 25.0)  # deleted without a copy: fallback
    s3_calls.fail("DeleteObject", "SlowDown", 503, times=10)
    run(deleting, malicious(a, "slow-delete.exe"), 26.0)  # error: retried later
    s3_calls.fail("DeleteObject", "SlowDown", 503, times=0)  # the retries' leftovers: none

    recording = make_engine(
        ALLOWED_BUCKETS=allowed, EXTRACT_FILE_ID="true", RECORD_VERDICTS="clean,incomplete,failed"
    )
    for verdict, key, bucket in (
        ("clean", "report.pdf", a),
        ("clean", "photo.jpg", b),
        ("clean", "notes.txt", a),
        ("incomplete", "encrypted.zip", a),
        ("failed", "huge.iso", b),
    ):
        obj = upload(s3, bucket, key, body=b"not malware", tags={"file_id": f"id-{key}"})
        message = scan_message(bucket, key, verdict=verdict, etag=obj["etag"])
        run(recording, sns_event(sns_record(message)), 15.0)
    unscanned = scan_message(a, "late.bin", scanner_status=-3, scanner_status_message="timeout")
    unscanned["scanning_result"]["Findings"] = []
    run(recording, sns_event(sns_record(unscanned)), 15.0)

    # Rejected: a topic not allowed; ignored: a message that says it is no scan result.
    strict = make_engine(ALLOWED_BUCKETS=allowed, ALLOWED_TOPIC_ARNS=TOPIC_ARN)
    run(strict, sns_event(sns_record(scan_message(a, "x.exe"), topic_arn=OTHER_TOPIC_ARN)), 5.0)
    ignored = sns_record(scan_message(a, "y.txt"))
    ignored["Sns"]["MessageAttributes"] = {"type": {"Type": "String", "Value": "test-message"}}
    run(strict, sns_event(ignored), 5.0)
    return printed


_PRINTED: list[Printed] = []


def printed_once(request: Any) -> list[Printed]:
    """print_lines() once per test session (they are plain data afterwards), for a fixture."""
    if not _PRINTED:
        buckets = {
            "a": request.getfixturevalue("bucket"),
            "b": request.getfixturevalue("versioned_bucket"),
            "quarantine": request.getfixturevalue("quarantine_bucket"),
        }
        _PRINTED.extend(
            print_lines(
                request.getfixturevalue("make_engine"),
                request.getfixturevalue("s3"),
                request.getfixturevalue("s3_calls"),
                buckets,
            )
        )
    return list(_PRINTED)
