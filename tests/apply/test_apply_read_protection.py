"""The read-protection example end to end: applied against the moto server like every example
(test_apply_examples.py checks what all roots must satisfy), in until_clean mode, then switched to
malicious mode by a second apply.

moto stores bucket policies but enforces none, so what the attached policy decides is proven with
the tests' evaluator (tests/policy_eval.py) on the policy S3 holds, per principal and object tag
state, with the tags the deployed function actually wrote. parliament lints the module's output
and the merged policy.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from typing import Any

import pytest
from _harness import TFVARS_FILE, Deployment, Fleet, MotoServer, run_deployed_handler
from parliament import analyze_policy_string
from policy_eval import ALLOW, DENY, Request, evaluate, s3_request
from read_protection_cases import mismatches, principals

pytestmark = [pytest.mark.terraform, pytest.mark.apply]

OWN_SID = "DenyInsecureTransport"
CLEAN_TAGS = {"fss-scan-result": "no issues found", "fss-scan-detail-code": "0"}


@pytest.fixture(params=["read-protection"])
def scenario(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def deployed(fleet: Fleet, scenario: str) -> Deployment:
    return fleet.applied(scenario)


def _bucket(deployed: Deployment) -> str:
    return deployed.facts["buckets"][0]["name"]


def _partition(deployed: Deployment) -> str:
    return deployed.outputs["lambda_role_arn"].split(":")[1]


def _people(deployed: Deployment) -> list:
    """The principals to judge: the scanner's roles and the function's (read and write the
    scanner's tags), the break-glass role (reads only), and look-alikes and strangers."""
    facts = deployed.facts
    scanners = [deployed.outputs["lambda_role_arn"], *facts["scanner_roles"]]
    account = deployed.account.account_id
    return principals(account, _partition(deployed), [facts["break_glass_role"]], scanners)


def _attached(deployed: Deployment) -> dict[str, Any]:
    s3 = deployed.account.client("s3")
    return json.loads(s3.get_bucket_policy(Bucket=_bucket(deployed))["Policy"])


def _module_policy(deployed: Deployment) -> dict[str, Any]:
    return json.loads(deployed.outputs["read_protection_policies"][_bucket(deployed)])


def _normal(value: Any) -> Any:
    """A statement as a comparable value: aws_iam_policy_document writes one-item lists as
    strings and may reorder lists."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_normal(v) for v in value]
        return items[0] if len(items) == 1 else tuple(sorted(items, key=json.dumps))
    return value


def _lint(policy: dict[str, Any] | str) -> list[str]:
    text = policy if isinstance(policy, str) else json.dumps(policy)
    return [f"{f.issue}: {f.detail}" for f in analyze_policy_string(text).findings]


def _tags(deployed: Deployment, key: str) -> dict[str, str]:
    s3 = deployed.account.client("s3")
    tag_set = s3.get_object_tagging(Bucket=_bucket(deployed), Key=key)["TagSet"]
    return {t["Key"]: t["Value"] for t in tag_set}


def _read(deployed: Deployment, key: str, principal_arn: str | None, tls: bool = True) -> str:
    """What the attached policy decides for GetObject of key as it is stored now."""
    resource = f"arn:{_partition(deployed)}:s3:::{_bucket(deployed)}/{key}"
    request = s3_request(
        "s3:GetObject", resource, principal_arn=principal_arn, object_tags=_tags(deployed, key)
    )
    context = {**request.context, "aws:SecureTransport": "true" if tls else "false"}
    return evaluate(_attached(deployed), Request(request.action, request.resource, context))


def _deliver_clean(
    deployed: Deployment, server: MotoServer, key: str, etag: str, tmp_path, capsys
) -> dict[str, Any]:
    """Publish a clean scan result for key, run the deployed handler on SNS's delivery, return
    its log line."""
    account, bucket = deployed.account, _bucket(deployed)
    message = {
        "timestamp": time.time(),
        "sqs_message_id": str(uuid.uuid4()),
        "file_url": f"https://{bucket}.s3.{account.region}.amazonaws.com/"
        + urllib.parse.quote_plus(key, safe="/"),
        "file_attributes": {"etag": etag},
        "scanner_status": 0,
        "scanner_status_message": "successful scan",
        "scanning_result": {"TotalBytesOfFile": 8, "Findings": [], "Error": ""},
    }
    topic = deployed.facts["topics"]["storage_stack"]
    sent = account.client("sns").publish(TopicArn=topic, Message=json.dumps(message))
    function_arn = deployed.outputs["lambda_function_arn"]
    events = [
        e
        for e in server.lambda_deliveries(function_arn)
        if e["Records"][0]["Sns"]["MessageId"] == sent["MessageId"]
    ]
    assert len(events) == 1
    capsys.readouterr()
    result, _ = run_deployed_handler(
        account, deployed.outputs["lambda_function_name"], events[0], tmp_path
    )
    assert result == {"records": 1}
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"outcome"' in x]
    assert len(lines) == 1
    return lines[0]


def _upload(deployed: Deployment, key: str, tags: dict[str, str]) -> str:
    s3 = deployed.account.client("s3")
    response = s3.put_object(
        Bucket=_bucket(deployed), Key=key, Body=b"harmless", Tagging=urllib.parse.urlencode(tags)
    )
    return response["ETag"].strip('"')


def _promoted(deployed: Deployment, key: str) -> str:
    return f"promoted/{_bucket(deployed)}/{key}"


################################################################################
# until_clean (as applied)
################################################################################


def test_bucket_policy_is_the_buckets_own_plus_the_modules(deployed: Deployment):
    attached = {s["Sid"]: _normal(s) for s in _attached(deployed)["Statement"]}
    module = {s["Sid"]: _normal(s) for s in _module_policy(deployed)["Statement"]}
    assert OWN_SID in attached
    assert set(attached) == {OWN_SID, *module}
    for sid, statement in module.items():
        assert attached[sid] == statement, sid
    assert _module_policy(deployed)["Statement"][0]["Sid"] == "FssPostScanDenyReadingUntilClean"


def test_module_and_merged_policies_pass_parliament(deployed: Deployment):
    assert _lint(deployed.outputs["read_protection_policies"][_bucket(deployed)]) == []
    assert _lint(_attached(deployed)) == []


def test_every_principal_and_tag_state_is_decided_as_specified(deployed: Deployment):
    people = _people(deployed)
    policy = _attached(deployed)
    # the bucket's own TLS statement is proven in the next test
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != OWN_SID]
    wrong, count = mismatches(
        policy, "until_clean", _bucket(deployed), _partition(deployed), people
    )
    assert wrong == [], f"{len(wrong)} of {count} cases wrong:\n" + "\n".join(wrong[:40])


def test_merged_policy_keeps_the_buckets_own_rule(deployed: Deployment):
    key = f"inbox/{uuid.uuid4().hex}.txt"
    _upload(deployed, key, CLEAN_TAGS)
    app = f"arn:{_partition(deployed)}:iam::{deployed.account.account_id}:role/app"
    assert _read(deployed, key, app) == ALLOW
    assert _read(deployed, key, app, tls=False) == DENY
    assert _read(deployed, key, deployed.outputs["lambda_role_arn"], tls=False) == DENY


def test_promoted_copy_of_an_untagged_source_is_readable(
    deployed: Deployment, moto_server: MotoServer, tmp_path, capsys
):
    key = f"inbox/{uuid.uuid4().hex}.pdf"
    etag = _upload(deployed, key, {"file_id": "f-1"})
    app = f"arn:{_partition(deployed)}:iam::{deployed.account.account_id}:role/app"
    assert _read(deployed, key, app) == DENY, "not scanned yet: hidden"

    line = _deliver_clean(deployed, moto_server, key, etag, tmp_path, capsys)
    assert line["outcome"] == "processed", line
    assert line["actions"][-3:] == ["copy", "verify", "delete"]
    assert _tags(deployed, _promoted(deployed, key)) == {"file_id": "f-1", **CLEAN_TAGS}
    assert _read(deployed, _promoted(deployed, key), app) == ALLOW
    assert line["UntaggedCleanObjects"] == 0


def test_promoted_copy_at_the_tag_limit_stays_hidden_and_is_reported(
    deployed: Deployment, moto_server: MotoServer, tmp_path, capsys
):
    key = f"inbox/{uuid.uuid4().hex}.pdf"
    tags = {f"app-{i}": str(i) for i in range(10)}
    etag = _upload(deployed, key, tags)
    line = _deliver_clean(deployed, moto_server, key, etag, tmp_path, capsys)
    assert line["outcome"] == "processed", line
    assert _tags(deployed, _promoted(deployed, key)) == tags
    assert line["UntaggedCleanObjects"] == 1
    assert "S3 allows 10 tags" in line["reason"]
    app = f"arn:{_partition(deployed)}:iam::{deployed.account.account_id}:role/app"
    assert _read(deployed, _promoted(deployed, key), app) == DENY
    assert _read(deployed, _promoted(deployed, key), deployed.facts["break_glass_role"]) == ALLOW


################################################################################
# Switched to malicious mode (a second apply; runs after the until_clean tests)
################################################################################


def test_switching_to_malicious_mode(
    deployed: Deployment, moto_server: MotoServer, tmp_path, capsys
):
    tfvars = deployed.root / TFVARS_FILE
    variables = json.loads(tfvars.read_text())
    tfvars.write_text(json.dumps({**variables, "read_protection": "malicious"}, indent=2))
    deployed.state = deployed.runner.apply()

    function = deployed.account.client("lambda").get_function_configuration(
        FunctionName=deployed.outputs["lambda_function_name"]
    )
    assert function["Environment"]["Variables"]["READ_PROTECTION"] == "malicious"
    sids = {s["Sid"] for s in _attached(deployed)["Statement"]}
    assert sids == {
        OWN_SID,
        "FssPostScanDenyReadingMalicious",
        "FssPostScanDenyTorrents",
        "FssPostScanDenyRetaggingMalicious",
        "FssPostScanDenyWritingScannerTags",
    }
    assert _lint(_attached(deployed)) == []

    people = _people(deployed)
    policy = _attached(deployed)
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != OWN_SID]
    wrong, count = mismatches(policy, "malicious", _bucket(deployed), _partition(deployed), people)
    assert wrong == [], f"{len(wrong)} of {count} cases wrong:\n" + "\n".join(wrong[:40])

    # Untagged objects are readable now; promoted copies get no clean tags.
    key = f"inbox/{uuid.uuid4().hex}.pdf"
    etag = _upload(deployed, key, {"file_id": "f-2"})
    app = f"arn:{_partition(deployed)}:iam::{deployed.account.account_id}:role/app"
    assert _read(deployed, key, app) == ALLOW
    line = _deliver_clean(deployed, moto_server, key, etag, tmp_path, capsys)
    assert line["outcome"] == "processed", line
    assert _tags(deployed, _promoted(deployed, key)) == {"file_id": "f-2"}
    assert _read(deployed, _promoted(deployed, key), app) == ALLOW
