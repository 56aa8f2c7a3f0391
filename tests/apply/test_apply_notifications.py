"""examples/notifications driven: real events, e-mails, chat bodies and findings in the emulator.

examples/notifications is applied like every example (test_apply_examples.py checks what all roots
must satisfy), here in queue mode. Scan results of every verdict are published to its scan-result
topic, one of them for a malicious upload under an S3 Object Lock legal hold (its delete fails);
the emulated event source mapping feeds the delivery queue, batch by batch, to the deployed
handler run in-process. Then:

- the example's EventBridge rule has put one event per scan result into its consumer queue, each
  valid against the JSON Schema and carrying the file id read from the tag (no table);
- the e-mail subscription got the e-mail body of every verdict but clean (its filter policy);
- an HTTPS subscription (what Amazon Q Developer in chat applications makes) got the chat body;
- Security Hub holds one finding per malicious file;
- each batch cost one PutEvents, one PublishBatch and at most one BatchImportFindings;
- the file that could not be handled was announced on every attempt, with its error, and after the
  hold is lifted and the dead letter replayed, its finding is updated, not duplicated.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import jsonschema
import pytest
from _harness import REPO_ROOT, Deployment, Fleet, MotoServer, run_deployed_handler
from _scenarios import NOTIFY_EMAIL
from botocore.client import BaseClient
from test_apply_queue import _queue_depth, _replay

from emulator import fss
from emulator.event_source import drain_deployed

pytestmark = [pytest.mark.terraform, pytest.mark.apply]

EICAR = fss.eicar()
CHAT_ENDPOINT = "https://global.sns-api.chatbot.amazonaws.com"
SCHEMA = json.loads(
    (REPO_ROOT / "docs/schemas/scan-result-processed.schema.json").read_text(encoding="utf-8")
)
ANNOUNCING = ("PutEvents", "PublishBatch", "BatchImportFindings")
# (verdict, how many uploads)
UPLOADS = [("malicious", 6), ("clean", 4), ("incomplete", 2), ("failed", 2)]


@pytest.fixture(params=["notifications"])
def scenario(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def deployed(fleet: Fleet, scenario: str) -> Deployment:
    return fleet.applied(scenario)


def _message(bucket: str, key: str, region: str, upload: dict[str, Any]) -> dict:
    verdict = upload["verdict"]
    return fss.scan_result(
        bucket,
        key,
        region,
        size=len(upload["body"]),
        etag=upload["etag"],
        findings=[fss.EICAR_FINDING] if verdict == "malicious" else [],
        codes=[152] if verdict == "incomplete" else [],
        scanner_status=fss.UNSUCCESSFUL_SCAN if verdict == "failed" else fss.SUCCESSFUL_SCAN,
    )


def _drain(deployed: Deployment, tmp_path, monkeypatch) -> list[dict[str, Any]]:
    """Drain the delivery queue through the deployed handler; per batch, its records, its result
    and the announcement calls it made (counted on every boto3 client of this process)."""
    name = deployed.outputs["lambda_function_name"]
    calls: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counting(self: Any, operation: str, params: Any) -> Any:
        if operation in ANNOUNCING:
            calls[operation] += 1
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    batches: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> Any:
        calls.clear()
        result, _ = run_deployed_handler(deployed.account, name, event, tmp_path)
        batches.append({"records": len(event["Records"]), "result": result, "calls": dict(calls)})
        return result

    drain_deployed(deployed.account, name, invoke)
    monkeypatch.setattr(BaseClient, "_make_api_call", original)
    return batches


def _consumer_events(deployed: Deployment) -> list[dict[str, Any]]:
    sqs = deployed.account.client("sqs")
    url = deployed.outputs["file_verdicts_queue_url"]
    found: list[dict[str, Any]] = []
    while received := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in received:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _findings(securityhub: Any, earlier: set[str]) -> dict[str, dict[str, Any]]:
    """This test's findings by their object's ARN (not those of earlier tests)."""
    return {
        f["Resources"][0]["Id"]: f
        for f in securityhub.get_findings()["Findings"]
        if f["Id"] not in earlier
    }


def test_every_scan_result_is_announced_to_people_and_systems(
    deployed: Deployment, moto_server: MotoServer, tmp_path, monkeypatch
):
    account = deployed.account
    s3, sns = account.client("s3"), account.client("sns")
    bucket = deployed.facts["buckets"][0]["name"]
    tag_key = deployed.inputs["file_id_tag_key"]
    topic = deployed.outputs["notify_topic_arn"]
    max_receives = 5  # the module's default queue.max_receive_count
    # What Amazon Q Developer in chat applications does when a channel is given the topic.
    sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=CHAT_ENDPOINT)
    # What other tests of this deployment left behind is not this test's.
    _consumer_events(deployed)
    mails_before = len(moto_server.sns_notifications(NOTIFY_EMAIL))
    chats_before = len(moto_server.sns_notifications(CHAT_ENDPOINT))
    securityhub = account.client("securityhub")
    findings_before = {f["Id"] for f in securityhub.get_findings()["Findings"]}

    uploads: dict[str, dict[str, Any]] = {}
    for verdict, count in UPLOADS:
        for number in range(count):
            key = f"inbox/{verdict} {number}+ü.bin"
            body = EICAR if verdict == "malicious" else f"{verdict} {number}".encode()
            file_id = f"file-{verdict}-{number}"
            put = s3.put_object(Bucket=bucket, Key=key, Body=body, Tagging=f"{tag_key}={file_id}")
            uploads[key] = {
                "verdict": verdict,
                "body": body,
                "file_id": file_id,
                "version": put["VersionId"],
                "etag": put["ETag"].strip('"'),
            }
    stuck = "inbox/malicious 0+ü.bin"
    s3.put_object_legal_hold(
        Bucket=bucket, Key=stuck, VersionId=uploads[stuck]["version"], LegalHold={"Status": "ON"}
    )
    for key, upload in uploads.items():
        message = _message(bucket, key, account.region, upload)
        upload["scan_id"] = message["sqs_message_id"]
        sns.publish(TopicArn=deployed.facts["topics"]["storage_stack"], Message=json.dumps(message))

    batches = _drain(deployed, tmp_path, monkeypatch)

    # Batching: one call per target per batch of up to 10 records.
    assert sum(b["records"] for b in batches) == len(uploads) + max_receives - 1
    for batch in batches:
        assert batch["records"] <= 10
        assert batch["calls"]["PutEvents"] == 1 and batch["calls"]["PublishBatch"] == 1, batch
        assert batch["calls"].get("BatchImportFindings", 0) <= 1, batch

    # Systems: the rule delivered one event per scan result (the stuck one once per attempt).
    events = _consumer_events(deployed)
    for event in events:
        assert (event["source"], event["detail-type"]) == (
            "uploads.fss-post-scan",
            "Scan Result Processed",
        )
        jsonschema.validate(event["detail"], SCHEMA)
    by_key = Counter(e["detail"]["key"] for e in events)
    assert by_key == {key: (max_receives if key == stuck else 1) for key in uploads}
    for event in events:
        detail = event["detail"]
        upload = uploads[detail["key"]]
        assert detail["verdict"] == upload["verdict"]
        assert detail["file_id"] == upload["file_id"], "read from the tag, without a table"
        assert detail["scan_message_id"] == upload["scan_id"]
        if detail["key"] == stuck:
            assert detail["outcome"] == "error" and "AccessDenied" in json.dumps(detail["error"])
        else:
            assert detail["outcome"] == "processed", detail
            assert ("delete" in detail["actions"]) == (detail["verdict"] == "malicious")
    stuck_attempts = sorted(
        e["detail"]["receive_count"] for e in events if e["detail"]["key"] == stuck
    )
    assert stuck_attempts == list(range(1, max_receives + 1))

    # People, by e-mail: every verdict but clean (the subscription's filter policy).
    mails = moto_server.sns_notifications(NOTIFY_EMAIL)[mails_before:]
    assert Counter(m["message_attributes"]["verdict"]["Value"] for m in mails) == {
        "malicious": 5 + max_receives,
        "incomplete": 2,
        "failed": 2,
    }
    for mail in mails:
        assert mail["subject"].startswith("[fss-post-scan] ") and mail["subject"].isascii()
        assert "File id:" in mail["message"] and "Next steps:" in mail["message"]
        assert not mail["message"].lstrip().startswith("{"), "people get text, not JSON"
    stuck_mail = next(m for m in mails if "NOT handled" in m["message"])
    assert (
        stuck_mail["subject"]
        == f"[fss-post-scan] Malware found in {bucket}: NOT handled (error, will be retried)"
    )

    # People, in chat: every verdict, in the custom notification format.
    chats = moto_server.sns_notifications(CHAT_ENDPOINT)[chats_before:]
    assert len(chats) == len(events)
    for chat in chats:
        body = json.loads(chat["message"])
        assert (body["version"], body["source"]) == ("1.0", "custom")
        assert body["content"]["textType"] == "client-markdown" and body["content"]["title"]

    # Security: one finding per malicious file; the stuck one says so.
    findings = _findings(securityhub, findings_before)
    malicious = [k for k, u in uploads.items() if u["verdict"] == "malicious"]
    assert len(findings) == len(malicious)
    stuck_arn = f"arn:aws:s3:::{bucket}/{stuck}"
    assert findings[stuck_arn]["Malware"][0]["State"] == "REMOVAL_FAILED"
    assert all(
        f["Malware"][0]["State"] == "REMOVED" for arn, f in findings.items() if arn != stuck_arn
    )

    # Lift the hold, replay the dead letter: processed, announced, the finding updated in place.
    s3.put_object_legal_hold(
        Bucket=bucket, Key=stuck, VersionId=uploads[stuck]["version"], LegalHold={"Status": "OFF"}
    )
    replayed = _replay(deployed)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    batches = _drain(deployed, tmp_path, monkeypatch)
    assert [b["result"] for b in batches] == [{"batchItemFailures": []}]
    (event,) = _consumer_events(deployed)
    assert (event["detail"]["key"], event["detail"]["outcome"]) == (stuck, "processed")
    after = _findings(securityhub, findings_before)
    assert len(after) == len(malicious), "updated, not duplicated"
    assert after[stuck_arn]["Malware"][0]["State"] == "REMOVED"
    assert after[stuck_arn]["UpdatedAt"] > findings[stuck_arn]["UpdatedAt"]
    dlq = deployed.outputs["dead_letter_queue_url"]
    assert _queue_depth(account.client("sqs"), dlq) == 0
