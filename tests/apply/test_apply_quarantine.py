"""The quarantine example end to end: applied against the moto server like every example (see
test_apply_examples.py for what all roots must satisfy), then driven through its topic.

Each scan result is published to the example's topic; the event SNS delivers is run through the
deployed package (downloaded from the emulator) in-process, against the same server. What must
happen: malicious uploads are moved, as the scanned version with everything that goes with it,
into the quarantine bucket and encrypted with its key; clean ones are moved to the promote
bucket; incomplete scans stay; duplicates and copies in the quarantine bucket change nothing.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from typing import Any

import pytest
from _harness import Deployment, Fleet, MotoServer, run_deployed_handler
from scanner_fixtures import fill, load

from emulator import fss

pytestmark = [pytest.mark.terraform, pytest.mark.apply]

EICAR = fss.eicar()
FINDINGS = [{"malware": "Eicar_test_file", "type": "Virus"}]


@pytest.fixture(params=["quarantine"])
def scenario(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def deployed(fleet: Fleet, scenario: str) -> Deployment:
    return fleet.applied(scenario)


def _message(deployed: Deployment, bucket: str, key: str, etag: str, **result: Any) -> dict:
    region = deployed.account.region
    return {
        "timestamp": time.time(),
        "sqs_message_id": str(uuid.uuid4()),
        "xamz_request_id": "",
        "file_url": f"https://{bucket}.s3.{region}.amazonaws.com/"
        + urllib.parse.quote_plus(key, safe="/"),
        "file_attributes": {"etag": etag},
        "scanner_status": 0,
        "scanner_status_message": "successful scan",
        "scanning_result": {"TotalBytesOfFile": 68, "Findings": [], "Error": "", **result},
    }


def _deliver(
    deployed: Deployment, server: MotoServer, message: dict, tmp_path, capsys
) -> list[dict[str, Any]]:
    """Publish to the example's topic, run the deployed handler on what SNS delivered, return
    the log lines it printed."""
    account = deployed.account
    name = deployed.outputs["lambda_function_name"]
    function_arn = deployed.outputs["lambda_function_arn"]
    topic = deployed.facts["topics"]["storage_stack"]
    message_id = account.client("sns").publish(TopicArn=topic, Message=json.dumps(message))[
        "MessageId"
    ]
    events = [
        e
        for e in server.lambda_deliveries(function_arn)
        if e["Records"][0]["Sns"]["MessageId"] == message_id
    ]
    assert len(events) == 1, f"SNS delivered {len(events)} events"
    capsys.readouterr()
    result, _ = run_deployed_handler(account, name, events[0], tmp_path)
    assert result == {"records": 1}
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"outcome"' in line
    ]
    return lines


def _versions(s3, bucket: str, key: str) -> tuple[list[dict], list[dict]]:
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    versions = [v for v in listing.get("Versions", []) if v["Key"] == key]
    markers = [m for m in listing.get("DeleteMarkers", []) if m["Key"] == key]
    return versions, markers


def test_malicious_uploads_are_moved_into_the_encrypted_quarantine(
    deployed: Deployment, moto_server: MotoServer, tmp_path, capsys
):
    s3 = deployed.account.client("s3")
    quarantine = deployed.outputs["quarantine_bucket_name"]
    quarantine_key = deployed.outputs["quarantine_kms_key_arn"]
    assert quarantine == deployed.facts["quarantine_bucket"]

    for bucket in deployed.facts["buckets"]:
        name = bucket["name"]
        key = f"inbox/{uuid.uuid4().hex[:6]} report+final ü.pdf"
        encryption = {}
        if bucket["kms_key"]:
            encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": bucket["kms_key"]}
        earlier = None
        if bucket["versioned"]:
            earlier = s3.put_object(Bucket=name, Key=key, Body=b"earlier clean upload")
        scanned = s3.put_object(
            Bucket=name,
            Key=key,
            Body=EICAR,
            ContentType="application/pdf",
            Metadata={"uploaded-by": "user-7"},
            Tagging="file_id=f-1&fss-scan-result=malicious",
            **encryption,
        )
        message = _message(deployed, name, key, scanned["ETag"].strip('"'), Findings=FINDINGS)
        (line,) = _deliver(deployed, moto_server, message, tmp_path, capsys)

        destination = f"{name}/{key}"
        assert line["outcome"] == "processed", line
        assert line["destination"] == f"s3://{quarantine}/{destination}"
        assert line["actions"][-3:] == ["copy", "verify", "delete"]
        copy = s3.get_object(Bucket=quarantine, Key=destination)
        assert copy["Body"].read() == EICAR
        assert (copy["ServerSideEncryption"], copy["SSEKMSKeyId"]) == ("aws:kms", quarantine_key)
        assert copy["ContentType"] == "application/pdf"
        metadata = copy["Metadata"]
        assert metadata["uploaded-by"] == "user-7"
        assert metadata["fss-post-scan-routed"] == "malicious"
        assert metadata["fss-post-scan-findings"] == "Eicar_test_file (Virus)"
        tags = s3.get_object_tagging(Bucket=quarantine, Key=destination)["TagSet"]
        assert {t["Key"]: t["Value"] for t in tags} == {
            "file_id": "f-1",
            "fss-scan-result": "malicious",
        }
        versions, markers = _versions(s3, name, key)
        assert markers == [], "the scanned version must be deleted, not hidden"
        expected = [earlier["VersionId"]] if earlier else []
        assert [v["VersionId"] for v in versions] == expected

        # A duplicate delivery finds the scanned version gone and copies nothing again.
        (again,) = _deliver(deployed, moto_server, message, tmp_path, capsys)
        assert again["outcome"] == "object_gone", again
        copies, _ = _versions(s3, quarantine, destination)
        assert len(copies) == 1

        # The quarantined copy is not a scanned bucket's object: a result for it is refused.
        copy_message = _message(
            deployed, quarantine, destination, copy["ETag"].strip('"'), Findings=FINDINGS
        )
        (refused,) = _deliver(deployed, moto_server, copy_message, tmp_path, capsys)
        assert refused["outcome"] == "rejected"
        assert s3.head_object(Bucket=quarantine, Key=destination)["ContentLength"] == len(EICAR)


def test_clean_uploads_are_promoted_and_incomplete_scans_stay(
    deployed: Deployment, moto_server: MotoServer, tmp_path, capsys
):
    s3 = deployed.account.client("s3")
    promote = deployed.facts["promote_bucket"]
    quarantine = deployed.outputs["quarantine_bucket_name"]
    bucket = next(b["name"] for b in deployed.facts["buckets"] if not b["kms_key"])

    clean_key = f"inbox/{uuid.uuid4().hex[:6]} clean.txt"
    clean = s3.put_object(Bucket=bucket, Key=clean_key, Body=b"harmless", Tagging="file_id=f-2")
    message = _message(deployed, bucket, clean_key, clean["ETag"].strip('"'))
    (line,) = _deliver(deployed, moto_server, message, tmp_path, capsys)
    assert line["outcome"] == "processed", line
    promoted = f"clean/{bucket}/{clean_key}"
    assert line["destination"] == f"s3://{promote}/{promoted}"
    assert s3.get_object(Bucket=promote, Key=promoted)["Body"].read() == b"harmless"
    assert _versions(s3, bucket, clean_key) == ([], [])

    archive_key = f"inbox/{uuid.uuid4().hex[:6]} protected.zip"
    archive = s3.put_object(Bucket=bucket, Key=archive_key, Body=b"encrypted zip")
    message = _message(deployed, bucket, archive_key, archive["ETag"].strip('"'), Codes=[101])
    (line,) = _deliver(deployed, moto_server, message, tmp_path, capsys)
    assert (line["verdict"], line["actions"], line["destination"]) == ("incomplete", [], None)
    assert s3.get_object(Bucket=bucket, Key=archive_key)["Body"].read() == b"encrypted zip"
    for destination in (promote, quarantine):
        listed = s3.list_objects_v2(Bucket=destination).get("Contents", [])
        assert not [o for o in listed if o["Key"].endswith(archive_key)]


def _vision_one(deployed: Deployment, name: str, bucket: str, key: str, obj: dict, **more) -> tuple:
    """A Vision One scan result and its tags, from tests/fixtures/scanner/visionone.json."""
    (result,) = [r for r in load("visionone")["results"] if r["name"] == name]
    now = time.time()
    values = {
        "bucket": bucket,
        "key": key,
        "key_url": urllib.parse.quote_plus(key, safe="/"),
        "region": deployed.account.region,
        "etag": obj["ETag"].strip('"'),
        "size": 14,
        "published": now + 1,
        "started": now,
        "scan_date": time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(now)),
        "message_id": str(uuid.uuid4()),
        "request_id": "",
        "scan_type": "object created",
        **more,
    }
    return fill(result["message"], values), fill(result["tags"], values)


def test_vision_one_full_scans_and_scanner_outages_through_the_deployed_function(
    deployed: Deployment, moto_server: MotoServer, tmp_path, capsys
):
    """The deployed function with the module's defaults: a scheduled full bucket scan does not
    promote a clean file that is already in use, an outage (-4) is `unscanned` and stays, a
    malicious result of a full scan is quarantined, and a message of another type is ignored."""
    s3 = deployed.account.client("s3")
    promote = deployed.facts["promote_bucket"]
    quarantine = deployed.outputs["quarantine_bucket_name"]
    bucket = next(b["name"] for b in deployed.facts["buckets"] if not b["kms_key"])

    key = f"inbox/{uuid.uuid4().hex[:6]} in use.txt"
    obj = s3.put_object(Bucket=bucket, Key=key, Body=b"already in use")
    message, tags = _vision_one(deployed, "clean", bucket, key, obj, scan_type="schedule")
    s3.put_object_tagging(
        Bucket=bucket,
        Key=key,
        Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
    )
    (line,) = _deliver(deployed, moto_server, message, tmp_path, capsys)
    assert (line["outcome"], line["verdict"], line["scan_type"]) == (
        "processed",
        "clean",
        "schedule",
    )
    assert (line["destination"], line["ObjectsRouted"]) == (None, 0), line
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"already in use"
    assert not s3.list_objects_v2(Bucket=promote, Prefix=f"clean/{bucket}/{key}").get("KeyCount")

    key = f"inbox/{uuid.uuid4().hex[:6]} during outage.txt"
    obj = s3.put_object(Bucket=bucket, Key=key, Body=b"not scanned!!!")
    message, _ = _vision_one(deployed, "unsuccessful scanner invocation (-4)", bucket, key, obj)
    (line,) = _deliver(deployed, moto_server, message, tmp_path, capsys)
    assert (line["outcome"], line["verdict"], line["Verdict"]) == (
        "processed",
        "unscanned",
        "unscanned",
    )
    assert line["scan_error"] == "unsuccessful scanner invocation"
    assert line["bucket_region"] == deployed.account.region
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"not scanned!!!"

    key = f"inbox/{uuid.uuid4().hex[:6]} old malware.exe"
    obj = s3.put_object(Bucket=bucket, Key=key, Body=EICAR)
    message, tags = _vision_one(deployed, "malicious", bucket, key, obj, scan_type="schedule")
    s3.put_object_tagging(
        Bucket=bucket,
        Key=key,
        Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
    )
    (line,) = _deliver(deployed, moto_server, message, tmp_path, capsys)
    assert (line["outcome"], line["ObjectsRouted"], line["ObjectsDeleted"]) == ("processed", 1, 1)
    assert s3.head_object(Bucket=quarantine, Key=f"{bucket}/{key}")["ContentLength"] == len(EICAR)

    other = {**message, "type": "post-scan-action"}
    (line,) = _deliver(deployed, moto_server, other, tmp_path, capsys)
    assert (line["outcome"], line["Ignored"], line["actions"]) == ("ignored", 1, [])


def test_unroutable_malicious_uploads_still_leave_the_scanned_buckets(
    deployed: Deployment, moto_server: MotoServer, tmp_path, capsys
):
    """Issue 10 item 1 through the deployed function: a legal key whose quarantine key is over
    1,024 bytes, and 2 KB of user metadata, are quarantined by the fallbacks (outcome fallback,
    FallbackActions), never left in the scanned bucket."""
    s3 = deployed.account.client("s3")
    quarantine = deployed.outputs["quarantine_bucket_name"]
    for bucket in deployed.facts["buckets"]:
        name = bucket["name"]
        encryption = {}
        if bucket["kms_key"]:
            encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": bucket["kms_key"]}
        long_key = f"inbox/{uuid.uuid4().hex[:6]}/" + "k" * (1024 - 13)
        full = f"inbox/{uuid.uuid4().hex[:6]} full metadata.exe"
        for key, metadata in ((long_key, {}), (full, {"note": "x" * 2030})):
            scanned = s3.put_object(
                Bucket=name,
                Key=key,
                Body=EICAR,
                Metadata=metadata,
                Tagging="file_id=f-9&fss-scan-result=malicious",
                **encryption,
            )
            message = _message(deployed, name, key, scanned["ETag"].strip('"'), Findings=FINDINGS)
            (line,) = _deliver(deployed, moto_server, message, tmp_path, capsys)
            assert (line["outcome"], line["FallbackActions"]) == ("fallback", 1), line
            assert line["file_id"] == "f-9"
            assert _versions(s3, name, key) == ([], [])
            destination = line["destination"].removeprefix(f"s3://{quarantine}/")
            copy = s3.get_object(Bucket=quarantine, Key=destination)
            assert copy["Body"].read() == EICAR
            assert copy["Metadata"]["fss-post-scan-routed"] == "malicious"
            if key == long_key:
                assert f"~fss-post-scan/{name}/" in destination
