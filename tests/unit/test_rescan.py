"""The rescan CLI (tools/rescan): on-demand GuardDuty scans of what was never scanned. S3 is moto;
GuardDuty's SendObjectMalwareScan (which moto lacks) is a botocore Stubber that checks each call's
parameters, so a call the tool should not make, or makes with the wrong version, fails the test."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from engine_kit import REGION, upload
from rescan import aws
from rescan.cli import main
from rescan.run import Current, Marker, MarkerError, Progress, RateLimit, Summary, rescan

TAGGED = {"GuardDutyMalwareScanStatus": "NO_THREATS_FOUND"}


class Session:
    """A boto3 session whose GuardDuty client is stubbed with the expected scans, in order."""

    def __init__(self, s3: Any, expected: list[dict[str, str]], errors: int = 0) -> None:
        self.s3 = s3
        self.guardduty = boto3.client("guardduty", region_name=REGION)
        self.stub = Stubber(self.guardduty)
        for target in expected:
            self.stub.add_response("send_object_malware_scan", {}, {"S3Object": target})
        for _ in range(errors):
            self.stub.add_client_error("send_object_malware_scan", "BadRequestException")
        self.stub.activate()

    def client(self, service: str, **kwargs: Any) -> Any:
        return {"s3": self.s3, "guardduty": self.guardduty}[service]


def run(session: Session, *args: str) -> tuple[int, list[str]]:
    printed: list[str] = []
    code = main(["--rate", "1000", "--no-count", *args], session=session, out=printed.append)
    return code, printed


def test_dry_run_starts_nothing_and_says_what_it_would(s3, versioned_bucket) -> None:
    upload(s3, versioned_bucket, "old/a.pdf", body=b"a")
    upload(s3, versioned_bucket, "old/b.pdf", body=b"b", tags=TAGGED)
    session = Session(s3, expected=[])
    code, printed = run(session, "--bucket", versioned_bucket)
    assert code == 0
    assert printed[:-1] == [
        f"would    old/a.pdf (version {_current(s3, versioned_bucket, 'old/a.pdf')})"
    ]
    assert printed[-1].startswith("dry run: 2 current versions, 1 already scanned")
    session.stub.assert_no_pending_responses()


def test_execute_scans_each_untagged_current_version_exactly(s3, versioned_bucket, clock) -> None:
    older = upload(s3, versioned_bucket, "a b+c é.pdf", body=b"older")
    clock.set(10)
    newest = upload(s3, versioned_bucket, "a b+c é.pdf", body=b"newest")
    upload(s3, versioned_bucket, "scanned.txt", body=b"x", tags=TAGGED)
    upload(s3, versioned_bucket, "z.txt", body=b"z", tags={"file_id": "f"})
    clock.set(20)
    s3.delete_object(Bucket=versioned_bucket, Key="z.txt")  # a delete marker is current: skipped
    session = Session(
        s3,
        expected=[
            {"Bucket": versioned_bucket, "Key": "a b+c é.pdf", "VersionId": newest["version_id"]}
        ],
    )
    code, printed = run(session, "--bucket", versioned_bucket, "--execute")
    assert code == 0, printed
    assert printed[-1] == (
        "2 current versions: 1 scans started, 1 already scanned "
        "(tagged GuardDutyMalwareScanStatus), 0 failed"
    )
    session.stub.assert_no_pending_responses()
    assert older["version_id"] != newest["version_id"]


def test_unversioned_bucket_scans_the_current_object(s3, bucket) -> None:
    upload(s3, bucket, "in/x.bin", body=b"x")
    upload(s3, bucket, "out/y.bin", body=b"y")
    session = Session(s3, expected=[{"Bucket": bucket, "Key": "in/x.bin"}])
    code, _ = run(session, "--bucket", bucket, "--prefix", "in/", "--execute")
    assert code == 0
    session.stub.assert_no_pending_responses()


def test_a_failed_start_is_counted_and_the_others_go_on(s3, bucket, tmp_path) -> None:
    for key in ("a", "b", "c"):
        upload(s3, bucket, key, body=key.encode())
    session = Session(s3, expected=[{"Bucket": bucket, "Key": "a"}])
    session.stub.add_client_error("send_object_malware_scan", "BadRequestException")
    session.stub.add_response(
        "send_object_malware_scan", {}, {"S3Object": {"Bucket": bucket, "Key": "c"}}
    )
    marker = tmp_path / "rescan.marker"
    code, printed = run(session, "--bucket", bucket, "--execute", "--marker-file", str(marker))
    assert code == 1
    assert any(line.startswith("failed   b: BadRequestException") for line in printed)
    assert printed[-1].startswith("3 current versions: 2 scans started")
    # The marker stays before the failure: the next run tries b (and c) again.
    assert json.loads(marker.read_text())["after"] == "a"


def test_a_marker_resumes_after_the_last_key_handled(s3, bucket, tmp_path) -> None:
    for key in ("k1", "k2", "k3", "k4"):
        upload(s3, bucket, key, body=key.encode())
    marker = tmp_path / "m.json"
    first = Session(s3, expected=[{"Bucket": bucket, "Key": "k1"}, {"Bucket": bucket, "Key": "k2"}])
    args = ["--bucket", bucket, "--execute", "--marker-file", str(marker)]
    assert run(first, *args, "--max-objects", "2")[0] == 0
    assert json.loads(marker.read_text()) == {"bucket": bucket, "prefix": "", "after": "k2"}
    second = Session(
        s3, expected=[{"Bucket": bucket, "Key": "k3"}, {"Bucket": bucket, "Key": "k4"}]
    )
    code, printed = run(second, *args)
    assert code == 0 and printed[0] == f"resuming after 'k2' (marker {marker})"
    first.stub.assert_no_pending_responses()
    second.stub.assert_no_pending_responses()


def test_a_marker_of_another_bucket_or_prefix_is_refused(s3, bucket, tmp_path) -> None:
    marker = tmp_path / "m.json"
    marker.write_text(json.dumps({"bucket": bucket, "prefix": "a/", "after": "a/1"}))
    session = Session(s3, expected=[])
    assert run(session, "--bucket", bucket, "--execute", "--marker-file", str(marker))[0] == 2
    with pytest.raises(MarkerError, match="another bucket or prefix"):
        Marker(marker, bucket, "").load()


def test_a_dry_run_writes_no_marker(s3, bucket, tmp_path) -> None:
    upload(s3, bucket, "k", body=b"k")
    marker = tmp_path / "m.json"
    assert run(Session(s3, expected=[]), "--bucket", bucket, "--marker-file", str(marker))[0] == 0
    assert not marker.exists()


def test_rate_limit_spaces_the_starts() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limit = RateLimit(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limit.wait()
    assert slept == [0.25, 0.25, 0.25, 0.25] and now[0] == 1.0


def test_progress_bar_and_plain_lines() -> None:
    drawn: list[str] = []
    bar = Progress(drawn.append, tty=True)
    summary = Summary(listed=3, started=2, already_scanned=1)
    bar.show(summary, 6, "k")
    assert drawn == [
        "\r[###############...............] 3/6 versions, 2 to scan, 1 already scanned, 0 failed  k"
    ]
    lines: list[str] = []
    plain = Progress(lines.append, tty=False, every=2)
    for listed in (1, 2, 3):
        plain.show(Summary(listed=listed), 3, "k")
    assert lines == [
        "[####################..........] 2/3 versions, 0 to scan, 0 already scanned, 0 failed",
        "[##############################] 3/3 versions, 0 to scan, 0 already scanned, 0 failed",
    ]


def test_listing_reads_only_current_versions_after_the_marker(s3, versioned_bucket, clock) -> None:
    for second, key in enumerate(("a", "b", "c")):
        clock.set(2 * second)
        upload(s3, versioned_bucket, key, body=b"1")
        clock.set(2 * second + 1)
        upload(s3, versioned_bucket, key, body=b"2")
    listed = list(aws.S3Bucket(s3, versioned_bucket).current_versions("", "a"))
    assert [item.key for item in listed] == ["b", "c"]
    assert all(item.version_id == _current(s3, versioned_bucket, item.key) for item in listed)


def test_rescan_reports_an_unreadable_tag_set_and_goes_on() -> None:
    class Broken:
        def current_versions(self, prefix: str, after: str | None):
            yield Current("x", None)
            yield Current("y", None)

        def tags(self, item: Current) -> dict[str, str]:
            if item.key == "x":
                raise PermissionError("AccessDenied")
            return {}

    started: list[Current] = []
    printed: list[str] = []
    summary = rescan(Broken(), started.append, dry_run=False, out=printed.append)
    assert (summary.failed, summary.started, started) == (1, 1, [Current("y", None)])
    assert printed[0] == "failed   x: tags not read: PermissionError: AccessDenied"


def _current(s3: Any, bucket: str, key: str) -> str:
    return s3.head_object(Bucket=bucket, Key=key)["VersionId"]
