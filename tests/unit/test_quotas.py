"""The quota helper of the apply tests (tests/quotas.py) counts as AWS does and flags excess."""

from __future__ import annotations

import json

import boto3
import pytest
import quotas
from moto import mock_aws

REGION = "us-east-1"


def test_iam_counts_every_character_but_whitespace() -> None:
    document = {"Version": "2012-10-17", "Statement": [{"Sid": "A b", "Effect": "Allow"}]}
    compact = json.dumps(document, separators=(",", ":"))
    assert quotas.iam_characters(json.dumps(document, indent=4)) == len(compact) - 1
    assert quotas.iam_characters(document) == len(compact) - 1


def test_conditions_are_counted_per_key_of_each_operator() -> None:
    document = {
        "Statement": [
            {"Condition": {"ArnLike": {"aws:SourceArn": ["a", "b"]}, "Bool": {"x": "1", "y": "2"}}},
            {"Condition": {"StringEquals": {"z": "3"}}},
            {},
        ]
    }
    assert quotas.condition_count(document) == 4


@pytest.fixture
def aws():
    with mock_aws():
        yield


def _statements(count: int) -> list[dict]:
    return [
        {
            "Sid": f"S{i}",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{'b' * 40}{i}/*",
        }
        for i in range(count)
    ]


def test_role_inline_policies_are_added_up(aws) -> None:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    for name in ("one", "two"):  # each fits alone, together they do not
        document = json.dumps({"Version": "2012-10-17", "Statement": _statements(60)})
        iam.put_role_policy(RoleName="r", PolicyName=name, PolicyDocument=document)
    sizes = quotas.role_sizes(iam, "r")
    assert sizes[0].measured > quotas.IAM_INLINE_CHARACTERS_PER_ROLE
    assert quotas.over_quota(sizes) == [str(sizes[0])]
    assert "inline policies" in quotas.over_quota(sizes)[0]


def test_managed_policies_are_checked_each(aws) -> None:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    document = json.dumps({"Version": "2012-10-17", "Statement": _statements(80)})
    arn = iam.create_policy(PolicyName="big", PolicyDocument=document)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    problems = quotas.over_quota(quotas.role_sizes(iam, "r"))
    assert len(problems) == 1 and arn in problems[0]


def test_queue_policy_bytes_statements_and_conditions(aws) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    statements = [
        {**s, "Condition": {"ArnEquals": {"aws:SourceArn": "x"}}} for s in _statements(21)
    ]
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": statements})},
    )
    problems = quotas.over_quota(quotas.queue_sizes(sqs, url))
    assert [p.rsplit(" ", 1)[1] for p in problems] == ["statements", "conditions"]


def test_function_environment_is_measured_as_json(aws) -> None:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lambda_ = boto3.client("lambda", region_name=REGION)
    lambda_.create_function(
        FunctionName="f",
        Runtime="python3.13",
        Role=role,
        Handler="h.h",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        Environment={"Variables": {"A": "x" * 4090}},
    )
    environment, policy = quotas.function_sizes(lambda_, "f")
    assert environment.measured == len('{"A":""}') + 4090 and not environment.ok
    assert policy.measured == 0 and policy.ok
