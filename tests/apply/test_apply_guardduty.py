"""The guardduty example end to end: applied against the moto server like every example (see
test_apply_examples.py for what all roots must satisfy), then driven the way GuardDuty drives it.

moto has no Malware Protection plans: the example gets an existing plan's ARN, and the emulator's
stand-in (emulator.guardduty) does what GuardDuty does after an upload: tags the scanned version
and puts the scan-result event on the default bus. The rule the module made matches it and the
emulator records what it delivers to the function; the deployed package (downloaded from the
emulator) runs on it in-process. What must happen: a malicious upload is copied into the
quarantine bucket and exactly its version deleted; every verdict reaches the file id's row; an
object GuardDuty could not tag is reported.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from _harness import Deployment, Fleet, MotoServer, run_deployed_handler
from test_apply_examples import _log_lines

from emulator import fss, guardduty

pytestmark = [pytest.mark.terraform, pytest.mark.apply]


@pytest.fixture(params=["guardduty"])
def scenario(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def deployed(fleet: Fleet, scenario: str) -> Deployment:
    return fleet.applied(scenario)


def _scan_and_deliver(
    deployed: Deployment, server: MotoServer, key: str, tmp_path, capsys, **scan: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The stand-in scans the key's current version; the rule's delivery of that result runs
    through the deployed handler. Returns (what the stand-in did, the log lines)."""
    account, facts = deployed.account, deployed.facts["guardduty"]
    s3, events = account.client("s3"), account.client("events")
    done = guardduty.scan(s3, events, facts["plan"], facts["bucket"], key, **scan)
    function_arn = deployed.outputs["lambda_function_arn"]
    delivered = [
        e for e in server.lambda_deliveries(function_arn) if e.get("id") == done["event_id"]
    ]
    assert len(delivered) == 1, f"the rule delivered {len(delivered)} events for {done}"
    capsys.readouterr()
    result, _ = run_deployed_handler(
        account, deployed.outputs["lambda_function_name"], delivered[0], tmp_path
    )
    assert result == {"records": 1}
    return done, _log_lines(capsys.readouterr().out)


def _row(deployed: Deployment, file_id: str) -> dict[str, Any]:
    table = deployed.outputs["file_id_table_name"]
    dynamodb = deployed.account.client("dynamodb")
    return dynamodb.get_item(TableName=table, Key={"file_id": {"S": file_id}}).get("Item", {})


def test_rules_on_the_default_bus_deliver_the_plan_s_events(deployed: Deployment):
    events = deployed.account.client("events")
    plan = deployed.facts["guardduty"]["plan"]
    rules = {r["Name"]: r for r in events.list_rules(EventBusName="default")["Rules"]}
    name = deployed.inputs["name"]
    assert set(rules) == {f"{name}-gd-results", f"{name}-gd-tag-failed"}
    assert set(deployed.outputs["guardduty_rule_arns"].values()) == {
        r["Arn"] for r in rules.values()
    }
    assert deployed.outputs["guardduty_plan_arns"] == {"uploads": plan}
    detail_types = {
        f"{name}-gd-results": guardduty.SCAN_RESULT,
        f"{name}-gd-tag-failed": guardduty.POST_SCAN_ACTION_FAILED,
    }
    function_arn = deployed.outputs["lambda_function_arn"]
    dlq_url = deployed.outputs["dead_letter_queue_url"]
    dlq_arn = deployed.account.client("sqs").get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    for rule_name, rule in rules.items():
        assert json.loads(rule["EventPattern"]) == {
            "source": [guardduty.SOURCE],
            "detail-type": [detail_types[rule_name]],
            "resources": [plan],
        }
        (target,) = events.list_targets_by_rule(Rule=rule_name)["Targets"]
        assert target["Arn"] == function_arn
        assert target["DeadLetterConfig"] == {"Arn": dlq_arn}


def test_malicious_upload_is_quarantined_and_exactly_its_version_deleted(
    deployed: Deployment, moto_server: MotoServer, tmp_path, capsys
):
    facts = deployed.facts["guardduty"]
    s3 = deployed.account.client("s3")
    key = f"inbox/invoice 2024+{uuid.uuid4().hex[:6]} é.pdf"
    earlier = s3.put_object(Bucket=facts["bucket"], Key=key, Body=b"an earlier, clean upload")
    file_id = f"file-{uuid.uuid4()}"
    s3.put_object(Bucket=facts["bucket"], Key=key, Body=fss.eicar(), Tagging=f"file_id={file_id}")
    done, lines = _scan_and_deliver(deployed, moto_server, key, tmp_path, capsys)
    assert done["tagged"] and done["result"] == "THREATS_FOUND"
    (line,) = lines
    assert (line["scanner"], line["outcome"], line["verdict"]) == (
        "guardduty",
        "processed",
        "malicious",
    )
    assert line["version_id"] == done["version_id"] and line["plan_arn"] == facts["plan"]
    left = s3.list_object_versions(Bucket=facts["bucket"], Prefix=key).get("Versions", [])
    assert [v["VersionId"] for v in left if v["Key"] == key] == [earlier["VersionId"]]
    copy = s3.get_object(Bucket=facts["quarantine"], Key=f"{facts['bucket']}/{key}")
    assert copy["Body"].read() == fss.eicar()
    row = _row(deployed, file_id)
    assert row["scan_verdict"] == {"S": "malicious"} and row["scan_scanner"] == {"S": "guardduty"}
    assert row["scan_action"] == {"S": "quarantine"}
    assert row["s3_version_id"] == {"S": done["version_id"]}
    assert row["scan_message_id"] == {"S": done["event_id"]}


def test_clean_upload_stays_and_its_verdict_is_recorded(
    deployed: Deployment, moto_server: MotoServer, tmp_path, capsys
):
    facts = deployed.facts["guardduty"]
    s3 = deployed.account.client("s3")
    key = f"inbox/{uuid.uuid4().hex}.txt"
    file_id = f"file-{uuid.uuid4()}"
    s3.put_object(Bucket=facts["bucket"], Key=key, Body=b"hello", Tagging=f"file_id={file_id}")
    _, (line,) = _scan_and_deliver(deployed, moto_server, key, tmp_path, capsys)
    assert (line["verdict"], line["outcome"]) == ("clean", "processed")
    assert s3.get_object(Bucket=facts["bucket"], Key=key)["Body"].read() == b"hello"
    tags = s3.get_object_tagging(Bucket=facts["bucket"], Key=key)["TagSet"]
    assert {"Key": guardduty.RESULT_TAG, "Value": "NO_THREATS_FOUND"} in tags
    assert _row(deployed, file_id)["scan_verdict"] == {"S": "clean"}


def test_an_object_guardduty_could_not_tag_is_reported(
    deployed: Deployment, moto_server: MotoServer, tmp_path, capsys
):
    """The uploader used all 10 tags: GuardDuty cannot add its own, and says so in a Post Scan
    Action Failed event, which the second rule brings to the function."""
    facts = deployed.facts["guardduty"]
    account = deployed.account
    s3 = account.client("s3")
    key = f"inbox/{uuid.uuid4().hex}.bin"
    tagging = "&".join(f"t{i}=v" for i in range(10))
    s3.put_object(Bucket=facts["bucket"], Key=key, Body=b"ten tags", Tagging=tagging)
    done, _ = _scan_and_deliver(deployed, moto_server, key, tmp_path, capsys)
    assert not done["tagged"]
    function_arn = deployed.outputs["lambda_function_arn"]
    failures = [
        e
        for e in moto_server.lambda_deliveries(function_arn)
        if e["detail-type"] == guardduty.POST_SCAN_ACTION_FAILED
        and e["detail"]["s3ObjectDetails"]["objectKey"] == key
    ]
    assert len(failures) == 1
    capsys.readouterr()
    run_deployed_handler(account, deployed.outputs["lambda_function_name"], failures[0], tmp_path)
    (line,) = _log_lines(capsys.readouterr().out)
    assert line["outcome"] == "post_scan_action_failed" and line["PostScanActionsFailed"] == 1
    assert line["post_scan_actions"] == ["TAGGING: MAX_TAG_LIMIT_EXCEEDED"]
    assert (line["bucket"], line["key"]) == (facts["bucket"], key)
