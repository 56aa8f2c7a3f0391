"""Apply each example (and the README's usage block, as written) against a moto server.

For every root: the deployed function, permissions, subscriptions, role policy, dead-letter path,
log group and table match what the module spec and the runtime contract say for that root's
inputs; a second plan shows no changes; the deployed package, downloaded from the emulator and run
in-process on an SNS delivery of a real scan result, deletes / records what its flags say; and
destroy leaves nothing behind. Expectations come from _contract.py, never from the module code.

The tests of one root share one deployment (fixture `fleet`); destroy tests come last.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import pytest
from _contract import (
    HANDLER,
    VPC_ACTIONS,
    Grant,
    Where,
    alarms,
    announced_by_default,
    environment,
    event_bus_arn,
    guardduty_rule_arns,
    notify_topic_arn,
    policy_grants,
    queue_settings,
    statement_grants,
    table_name,
    with_defaults,
)
from _harness import Deployment, Fleet, MotoServer, module_calls, run_deployed_handler
from _scenarios import ALL_KEYS, README_KEY, readme_usage_block

from emulator import fss
from emulator.event_source import drain_deployed

pytestmark = [pytest.mark.terraform, pytest.mark.apply]

EICAR = fss.eicar()


@pytest.fixture(params=ALL_KEYS)
def scenario(request: pytest.FixtureRequest) -> str:
    if request.param == README_KEY:
        block, reason = readme_usage_block()
        if block is None:
            pytest.skip(reason)
    return request.param


@pytest.fixture
def deployed(fleet: Fleet, scenario: str) -> Deployment:
    return fleet.applied(scenario)


def _inputs(deployment: Deployment) -> dict[str, Any]:
    return with_defaults(deployment.inputs)


def _where(deployment: Deployment) -> Where:
    identity = deployment.account.client("sts").get_caller_identity()
    partition = identity["Arn"].split(":")[1]
    return Where(partition, deployment.account.region, identity["Account"])


def _queue_mode(deployment: Deployment) -> bool:
    return _inputs(deployment)["delivery_mode"] == "queue"


def _queue_arn(deployment: Deployment, url: str) -> str:
    sqs = deployment.account.client("sqs")
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def _queue_urls(deployment: Deployment) -> tuple[str, str | None]:
    """(dead-letter queue URL, delivery queue URL or None), told apart by the redrive policy.

    The module's queues are NAME-dlq and NAME-delivery; a root may have queues of its own.
    """
    sqs = deployment.account.client("sqs")
    name = _inputs(deployment)["name"]
    urls = [
        url
        for url in sqs.list_queues().get("QueueUrls", [])
        if url.rsplit("/", 1)[1].startswith((f"{name}-dlq", f"{name}-delivery"))
    ]
    delivery = [
        u
        for u in urls
        if "RedrivePolicy"
        in sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["All"])["Attributes"]
    ]
    expected = 2 if _queue_mode(deployment) else 1
    assert len(urls) == expected and len(delivery) == expected - 1, (
        f"expected the module's dead-letter queue (and in queue mode its delivery queue): {urls}"
    )
    dead_letters = next(u for u in urls if u not in delivery)
    return dead_letters, (delivery[0] if delivery else None)


def _dead_letter_queue_arn(deployment: Deployment) -> str:
    arn = _queue_arn(deployment, _queue_urls(deployment)[0])
    assert arn.endswith(f":{_inputs(deployment)['name']}-dlq")  # deterministic: known at plan
    return arn


def _delivery_queue_arn(deployment: Deployment) -> str | None:
    url = _queue_urls(deployment)[1]
    if url is None:
        return None
    arn = _queue_arn(deployment, url)
    assert arn.endswith(f":{_inputs(deployment)['name']}-delivery")  # deterministic: known at plan
    return arn


def _module_source(deployment: Deployment) -> str:
    (call,) = module_calls(deployment.root).values()
    return str(call["source"]).strip('"')


def _function(deployment: Deployment) -> dict[str, Any]:
    name = _inputs(deployment)["name"]
    return deployment.account.client("lambda").get_function(FunctionName=name)


################################################################################
# What was deployed
################################################################################


def test_function_matches_the_runtime_contract(deployed: Deployment):
    inputs = _inputs(deployed)
    function = _function(deployed)
    config = function["Configuration"]

    assert config["FunctionName"] == inputs["name"]
    assert config["Handler"] == HANDLER
    assert config["Runtime"] == inputs["runtime"]
    assert config["Architectures"] == [inputs["architecture"]]
    assert config["Environment"]["Variables"] == environment(inputs, _where(deployed))
    assert config["MemorySize"] == inputs["memory_size"]
    assert config["Timeout"] == inputs["timeout"]
    assert config["TracingConfig"]["Mode"] == (inputs["tracing_mode"] or "PassThrough")
    reserved = function.get("Concurrency", {}).get("ReservedConcurrentExecutions")
    assert reserved == inputs["reserved_concurrent_executions"]
    vpc = config.get("VpcConfig") or {}
    assert sorted(vpc.get("SubnetIds", [])) == sorted(inputs["vpc_subnet_ids"])
    assert sorted(vpc.get("SecurityGroupIds", [])) == sorted(inputs["vpc_security_group_ids"])
    assert function.get("Tags", {}) == inputs["tags"]

    outputs = deployed.module_outputs
    assert outputs["lambda_function_name"] == inputs["name"]
    assert outputs["lambda_function_arn"] == config["FunctionArn"]
    assert outputs["lambda_role_arn"] == config["Role"]
    # What a root re-exports under a module output's name is that output.
    exported = {k: v for k, v in deployed.outputs.items() if k in outputs}
    assert exported == {k: outputs[k] for k in exported}


def _function_policy_statements(deployment: Deployment) -> list[dict[str, Any]]:
    lambda_ = deployment.account.client("lambda")
    try:
        policy = lambda_.get_policy(FunctionName=_inputs(deployment)["name"])["Policy"]
    except lambda_.exceptions.ResourceNotFoundException:
        return []
    return json.loads(policy)["Statement"]


def test_one_permission_and_one_subscription_per_topic(deployed: Deployment):
    """Direct mode: SNS may invoke the function, once per topic, and each topic subscribes it.
    Queue mode: nobody may invoke it (the mapping polls), each topic subscribes the delivery queue
    with the SNS envelope kept (raw delivery off: the body carries the TopicArn)."""
    inputs = _inputs(deployed)
    account = deployed.account
    function_arn = _function(deployed)["Configuration"]["FunctionArn"]
    dlq_arn = _dead_letter_queue_arn(deployed)
    delivery_arn = _delivery_queue_arn(deployed)
    topics: dict[str, str] = inputs["scan_result_topic_arns"]

    statements = _function_policy_statements(deployed)
    if _queue_mode(deployed):
        assert statements == []
        endpoint, protocol = delivery_arn, "sqs"
    else:
        endpoint, protocol = function_arn, "lambda"
    permissions = {s["Condition"]["ArnLike"]["AWS:SourceArn"]: s for s in statements}
    assert len(statements) == len(permissions)
    # GuardDuty: each rule on the default bus that delivers the plans' events may invoke it too.
    rules = set(guardduty_rule_arns(inputs, _where(deployed)))
    expected = set(topics.values()) | rules
    assert set(permissions) == (set() if _queue_mode(deployed) else expected)
    for source, statement in permissions.items():
        principal = "events.amazonaws.com" if source in rules else "sns.amazonaws.com"
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"Service": principal}
        assert statement["Action"] == "lambda:InvokeFunction"
        assert statement["Resource"] == function_arn

    sns = account.client("sns")
    subscription_arns = deployed.module_outputs["sns_subscription_arns"]
    assert set(subscription_arns) == set(topics)
    for key, topic_arn in topics.items():
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
        assert [s["SubscriptionArn"] for s in subscriptions] == [subscription_arns[key]]
        assert subscriptions[0]["Protocol"] == protocol
        assert subscriptions[0]["Endpoint"] == endpoint
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscription_arns[key])[
            "Attributes"
        ]
        assert attributes.get("RawMessageDelivery", "false") == "false"
        assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn}
        expected_filter = inputs["subscription_filter_policy"]
        if expected_filter is None:
            assert not attributes.get("FilterPolicy")
        else:
            assert json.loads(attributes["FilterPolicy"]) == json.loads(expected_filter)
            assert attributes["FilterPolicyScope"] == inputs["subscription_filter_policy_scope"]


def test_role_policy_grants_exactly_what_the_flags_need(deployed: Deployment):
    inputs = _inputs(deployed)
    where = _where(deployed)
    iam = deployed.account.client("iam")
    role_arn = _function(deployed)["Configuration"]["Role"]
    role_name = role_arn.rsplit("/", 1)[1]
    role = iam.get_role(RoleName=role_name)["Role"]

    assert role_name == f"{inputs['name']}-post-scan"  # deterministic: known at plan
    assert role["Path"] == inputs["role_path"]
    assert role_arn.startswith(f"arn:{where.partition}:iam::{where.account_id}:role/")
    boundary = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
    assert boundary == inputs["role_permissions_boundary_arn"]
    trust = role["AssumeRolePolicyDocument"]
    assert [(s["Effect"], s["Principal"], s["Action"]) for s in trust["Statement"]] == [
        ("Allow", {"Service": "lambda.amazonaws.com"}, "sts:AssumeRole")
    ]
    assert deployed.module_outputs["lambda_role_arn"] == role_arn

    # One inline policy per permission, named by its first statement's Sid (each follows its flag
    # in order; a key statement goes with the statement it extends).
    granted: set[Grant] = set()
    for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
        assert document["Statement"][0]["Sid"] == policy_name
        pairs, oddities = statement_grants(document)
        assert not oddities
        granted |= pairs
    attached = [
        p["PolicyArn"]
        for p in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    ]
    vpc_managed = (
        f"arn:{where.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    )
    vpc_inline = {(a, "*", None) for a in VPC_ACTIONS}
    if inputs["vpc_subnet_ids"]:
        assert attached == [vpc_managed] or (not attached and vpc_inline <= granted), (
            "VPC access needs the ENI actions, inline or through the managed policy"
        )
        granted -= vpc_inline
    else:
        assert attached == []

    expected = policy_grants(
        inputs, where, _dead_letter_queue_arn(deployed), _delivery_queue_arn(deployed)
    )
    assert granted == expected, (
        f"missing: {sorted(expected - granted)}\nunexpected: {sorted(granted - expected)}"
    )


def _assert_topics_only_may_send(
    attributes: dict[str, str], queue_arn: str, topics: list[str], rules: list[str] = ()
):
    """The topics may send (and GuardDuty's rules, from EventBridge); nobody may use the queue
    without TLS."""
    statements = json.loads(attributes["Policy"])["Statement"]
    from_rules = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    if rules:
        (by_rules,) = from_rules
        assert by_rules["Effect"] == "Allow" and by_rules["Resource"] == queue_arn
        assert by_rules["Action"] in ("sqs:SendMessage", ["sqs:SendMessage"])
        assert sorted(by_rules["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(rules)
    else:
        assert from_rules == []
    statements = [s for s in statements if s not in from_rules]
    if not topics:  # GuardDuty alone: no statement for topics (a condition may not list none)
        (deny,) = statements
    else:
        statement, deny = statements
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] in ("*", {"AWS": "*"})
    assert deny["Action"] in ("sqs:*", ["sqs:*"])
    assert deny["Resource"] == queue_arn
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    if not topics:
        return
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Action"] in ("sqs:SendMessage", ["sqs:SendMessage"])
    assert statement["Resource"] == queue_arn
    sources = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    sources = [sources] if isinstance(sources, str) else sources
    assert sorted(sources) == sorted(topics)


def test_failures_reach_the_encrypted_dead_letter_queue(deployed: Deployment):
    """Both modes: Lambda's on-failure destination of asynchronous invocations, after its
    retries. Queue mode also: the delivery queue's redrive policy after max_receive_count
    receives."""
    inputs = _inputs(deployed)
    account = deployed.account
    dlq_arn = _dead_letter_queue_arn(deployed)
    assert deployed.module_outputs["dead_letter_queue_arn"] == dlq_arn

    lambda_ = account.client("lambda")
    invoke = lambda_.get_function_event_invoke_config(FunctionName=inputs["name"])
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == dlq_arn
    assert invoke["MaximumRetryAttempts"] == inputs["maximum_retry_attempts"]
    assert invoke["MaximumEventAgeInSeconds"] == inputs["maximum_event_age_in_seconds"]

    sqs = account.client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=deployed.module_outputs["dead_letter_queue_url"], AttributeNames=["All"]
    )["Attributes"]
    if inputs["dead_letter_queue_kms_key_arn"]:
        assert attributes["KmsMasterKeyId"] == inputs["dead_letter_queue_kms_key_arn"]
    else:
        assert attributes.get("SqsManagedSseEnabled") == "true"
    assert (
        int(attributes["MessageRetentionPeriod"])
        == (inputs["dead_letter_queue_message_retention_seconds"])
    )
    topics = list(inputs["scan_result_topic_arns"].values())
    rules = guardduty_rule_arns(inputs, _where(deployed))
    _assert_topics_only_may_send(attributes, dlq_arn, topics, rules)

    # Only the module's delivery queue may redrive into the dead-letter queue (none in direct
    # mode); the emulator refuses a redrive policy the allow policy does not permit, as SQS does.
    allowed = json.loads(attributes["RedriveAllowPolicy"])
    if _queue_mode(deployed):
        assert allowed == {
            "redrivePermission": "byQueue",
            "sourceQueueArns": [_delivery_queue_arn(deployed)],
        }
    else:
        assert allowed == {"redrivePermission": "denyAll"}
    rogue = {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})}
    with pytest.raises(sqs.exceptions.ClientError, match="InvalidParameterValue"):
        sqs.create_queue(QueueName=f"rogue-{uuid.uuid4().hex[:8]}", Attributes=rogue)


def test_queue_mode_reads_an_encrypted_delivery_queue(deployed: Deployment):
    """Every topic feeds one encrypted delivery queue; one mapping with partial batch responses
    reads it; a message moves to the dead-letter queue after max_receive_count receives."""
    inputs = _inputs(deployed)
    delivery_arn = _delivery_queue_arn(deployed)
    outputs = deployed.module_outputs
    dlq_url, delivery_url = _queue_urls(deployed)
    region = deployed.account.region
    # path.module as Terraform gives it for the root's module source; the command runs from the
    # root, so the replay CLI must be there.
    module_path = os.path.normpath(_module_source(deployed))
    assert (deployed.root / module_path / "tools" / "replay" / "__main__.py").is_file()
    replay = (
        f"PYTHONPATH='{module_path}/tools' python3 -m replay --dead-letter-queue-url " + dlq_url
    )
    if not _queue_mode(deployed):
        assert delivery_arn is None
        assert outputs["delivery_queue_arn"] is None and outputs["delivery_queue_url"] is None
        function_arn = _function(deployed)["Configuration"]["FunctionArn"]
        assert outputs["replay_command"] == f"{replay} --function {function_arn} --region {region}"
        return
    settings = queue_settings(inputs)
    assert (outputs["delivery_queue_arn"], outputs["delivery_queue_url"]) == (
        delivery_arn,
        delivery_url,
    )
    assert outputs["replay_command"] == f"{replay} --to-queue-url {delivery_url} --region {region}"
    attributes = deployed.account.client("sqs").get_queue_attributes(
        QueueUrl=delivery_url, AttributeNames=["All"]
    )["Attributes"]
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": _dead_letter_queue_arn(deployed),
        "maxReceiveCount": settings["max_receive_count"],
    }
    if settings["kms_key_arn"]:
        assert attributes["KmsMasterKeyId"] == settings["kms_key_arn"]
    else:
        assert attributes.get("SqsManagedSseEnabled") == "true"
    assert int(attributes["VisibilityTimeout"]) == settings["visibility_timeout_seconds"]
    assert int(attributes["MessageRetentionPeriod"]) == settings["message_retention_seconds"]
    _assert_topics_only_may_send(
        attributes,
        delivery_arn,
        list(inputs["scan_result_topic_arns"].values()),
        guardduty_rule_arns(inputs, _where(deployed)),
    )

    function_arn = _function(deployed)["Configuration"]["FunctionArn"]
    mappings = deployed.account.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    (mapping,) = [m for m in mappings if m["FunctionArn"] == function_arn]
    assert mapping["EventSourceArn"] == delivery_arn
    assert mapping["BatchSize"] == settings["batch_size"]
    assert (
        mapping.get("MaximumBatchingWindowInSeconds", 0)
        == (settings["maximum_batching_window_in_seconds"])
    )
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    concurrency = (mapping.get("ScalingConfig") or {}).get("MaximumConcurrency")
    assert concurrency == settings["maximum_concurrency"]


def test_alarms_watch_the_deployment(deployed: Deployment):
    inputs = _inputs(deployed)
    expected = alarms(inputs)
    found = deployed.account.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert {a["AlarmName"] for a in found} == {f"{inputs['name']}-{k}" for k in expected}
    outputs = deployed.module_outputs
    assert outputs["cloudwatch_alarm_arns"] == {
        k: a["AlarmArn"]
        for k in expected
        for a in found
        if a["AlarmName"] == f"{inputs['name']}-{k}"
    }
    queue_names = {
        "dead-letters": deployed.module_outputs["dead_letter_queue_url"].rsplit("/", 1)[1],
        "queue-age": (outputs["delivery_queue_url"] or "").rsplit("/", 1)[-1],
    }
    for alarm in found:
        key = alarm["AlarmName"].removeprefix(f"{inputs['name']}-")
        want = expected[key]
        value = queue_names.get(key, inputs["name"])
        # A percentile (p99) is an ExtendedStatistic; Sum, Maximum are a Statistic.
        statistic = alarm.get("ExtendedStatistic") or alarm.get("Statistic")
        assert (alarm["Namespace"], alarm["MetricName"], statistic) == (
            want["namespace"],
            want["metric"],
            want["statistic"],
        )
        if want["statistic"].startswith("p"):
            assert "Statistic" not in alarm
            assert alarm["EvaluateLowSampleCountPercentile"] == "evaluate"
        dimensions = {want["dimension"]: value, **want["extra_dimensions"]}
        assert sorted(alarm["Dimensions"], key=lambda d: d["Name"]) == [
            {"Name": name, "Value": dimensions[name]} for name in sorted(dimensions)
        ]
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["Threshold"] == want["threshold"]
        assert (alarm["Period"], alarm["EvaluationPeriods"]) == (
            want["period"],
            want["evaluation_periods"],
        )
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == alarm["OKActions"] == inputs["alarm_topic_arns"]


def test_log_group_and_table_are_the_modules_own(deployed: Deployment):
    inputs = _inputs(deployed)
    account = deployed.account
    name = f"/aws/lambda/{inputs['name']}"
    groups = account.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [name]
    assert groups[0].get("retentionInDays") == inputs["cloudwatch_logs_retention_in_days"]
    assert groups[0].get("kmsKeyId") == inputs["cloudwatch_logs_kms_key_arn"]
    assert deployed.module_outputs["cloudwatch_log_group_name"] == name

    dynamodb = account.client("dynamodb")
    tables = set(dynamodb.list_tables()["TableNames"])
    existing = {deployed.facts["table"]["name"]} if deployed.facts["table"] else set()
    if not inputs["create_file_id_table"]:
        assert tables == existing
        assert deployed.module_outputs.get("file_id_table_name") is None
        return
    created = table_name(inputs)
    assert tables == existing | {created}
    table = dynamodb.describe_table(TableName=created)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": inputs["file_id_table_key"], "KeyType": "HASH"}]
    assert table["SSEDescription"]["Status"] == "ENABLED"
    backups = dynamodb.describe_continuous_backups(TableName=created)
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    assert deployed.module_outputs["file_id_table_name"] == created
    assert deployed.module_outputs["file_id_table_arn"] == table["TableArn"]


def test_announcement_targets_are_the_configured_ones(deployed: Deployment):
    """The notification topic (created: encrypted, e-mail subscriptions filtered by verdict), the
    bus and the Security Hub product the function announces to, as inputs and outputs say."""
    inputs = _inputs(deployed)
    where = _where(deployed)
    outputs = deployed.module_outputs
    sns = deployed.account.client("sns")
    topic = notify_topic_arn(inputs, where)
    assert outputs["notify_topic_arn"] == topic
    assert outputs["event_bus_arn"] == event_bus_arn(inputs, where)
    created = f"{inputs['name']}-notifications"
    own_topics = [
        t["TopicArn"]
        for t in sns.list_topics()["Topics"]
        if t["TopicArn"].rsplit(":", 1)[1] == created
    ]
    if not inputs["create_notify_topic"]:
        assert own_topics == [] and outputs["notify_email_subscription_arns"] == {}
        return
    assert own_topics == [topic]
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["KmsMasterKeyId"] == (inputs["notify_topic_kms_key_arn"] or "alias/aws/sns")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    emails = {s["Endpoint"]: s for s in subscriptions if s["Protocol"] == "email"}
    assert set(emails) == set(inputs["notify_email_addresses"])
    assert outputs["notify_email_subscription_arns"] == {
        address: s["SubscriptionArn"] for address, s in emails.items()
    }
    verdicts = inputs["notify_email_verdicts"] or announced_by_default()
    for subscription in emails.values():
        attributes = sns.get_subscription_attributes(
            SubscriptionArn=subscription["SubscriptionArn"]
        )
        assert json.loads(attributes["Attributes"]["FilterPolicy"]) == {"verdict": verdicts}
        assert attributes["Attributes"]["FilterPolicyScope"] == "MessageAttributes"


def test_second_plan_shows_no_changes(deployed: Deployment):
    """The plan the fleet ran right after the apply (side by side with the other deployments')."""
    if isinstance(deployed.second_plan, BaseException):
        raise deployed.second_plan
    assert deployed.second_plan is not None, "no plan after the apply"
    code, plan = deployed.second_plan
    assert code == 0, f"terraform plan -detailed-exitcode = {code} after apply:\n{plan}"


################################################################################
# The deployed package at work
################################################################################


def _put_scanned_object(deployment: Deployment, bucket: dict, key: str, file_id: str) -> dict:
    """An earlier clean upload (versioned buckets) and the malicious one that was scanned."""
    s3 = deployment.account.client("s3")
    tag_key = _inputs(deployment)["file_id_tag_key"]
    extra: dict[str, Any] = {}
    if bucket["kms_key"]:
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": bucket["kms_key"]}
    earlier = None
    if bucket["versioned"]:
        earlier = s3.put_object(Bucket=bucket["name"], Key=key, Body=b"clean bytes", **extra)
    scanned = s3.put_object(
        Bucket=bucket["name"],
        Key=key,
        Body=EICAR,
        Tagging=f"{tag_key}={file_id}&fss-scan-result=malicious",
        **extra,
    )
    return {"earlier": earlier, "scanned": scanned}


def _scan_result(bucket: str, key: str, etag: str, region: str) -> dict[str, Any]:
    return fss.scan_result(
        bucket, key, region, size=len(EICAR), etag=etag, findings=[fss.EICAR_FINDING]
    )


def _log_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "outcome" in value:
            lines.append(value)
    return lines


def _run_through_the_queue(deployed: Deployment, sns_message_id: str, tmp_path) -> None:
    """Queue mode: the emulated event source mapping delivers the one SNS notification the
    queue holds to the deployed handler, which reports no failure; the queue is then empty."""
    results: list[Any] = []
    bodies: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> Any:
        bodies.extend(json.loads(r["body"]) for r in event["Records"])
        result, _ = run_deployed_handler(
            deployed.account, _inputs(deployed)["name"], event, tmp_path
        )
        results.append(result)
        return result

    drained = drain_deployed(deployed.account, _inputs(deployed)["name"], invoke)
    assert [(b["Type"], b["MessageId"]) for b in bodies] == [("Notification", sns_message_id)]
    assert results == [{"batchItemFailures": []}]
    assert (drained.batches, len(drained.deleted), drained.kept) == (1, 1, [])


def test_deployed_handler_acts_on_a_published_scan_result(
    deployed: Deployment, moto_server: MotoServer, tmp_path, capsys
):
    inputs = _inputs(deployed)
    account = deployed.account
    function_arn = _function(deployed)["Configuration"]["FunctionArn"]
    table = table_name(inputs)
    table_key = inputs["file_id_table_key"]
    records = inputs["extract_file_id"] and table and "malicious" in inputs["record_verdicts"]
    quarantines = "malicious" in (inputs["routes"] or {})
    # A malicious file leaves its bucket when deleted, or moved along a route.
    deletes = inputs["delete_malicious"] or (quarantines and inputs["route_mode"] == "move")
    acting = not inputs["dry_run"]
    topics = sorted(deployed.facts["topics"].items())
    dynamodb = account.client("dynamodb")
    s3 = account.client("s3")

    for index, bucket in enumerate(deployed.facts["buckets"]):
        topic_key, topic_arn = topics[index % len(topics)]
        key = f"uploads/{index}/invoice 2024+{uuid.uuid4().hex[:6]}.pdf"
        file_id = f"file-{uuid.uuid4()}"
        if table:
            dynamodb.put_item(
                TableName=table,
                Item={table_key: {"S": file_id}, "owner": {"S": "application"}},
            )
        objects = _put_scanned_object(deployed, bucket, key, file_id)
        etag = objects["scanned"]["ETag"].strip('"')
        message = _scan_result(bucket["name"], key, etag, account.region)
        publisher = (
            account
            if topic_arn.split(":")[4] == account.account_id
            else next(a for a in deployed.facts["foreign_accounts"] if a.account_id in topic_arn)
        )
        sns_message_id = publisher.client("sns").publish(
            TopicArn=topic_arn, Message=json.dumps(message)
        )["MessageId"]

        capsys.readouterr()
        if _queue_mode(deployed):
            _run_through_the_queue(deployed, sns_message_id, tmp_path)
        else:
            events = [
                e
                for e in moto_server.lambda_deliveries(function_arn)
                if e["Records"][0]["Sns"]["MessageId"] == sns_message_id
            ]
            assert len(events) == 1, f"SNS ({topic_key}) delivered {len(events)} events"
            result, _ = run_deployed_handler(account, inputs["name"], events[0], tmp_path)
            assert result == {"records": 1}
        printed = capsys.readouterr().out
        lines = _log_lines(printed)
        assert [line["outcome"] for line in lines] == ["processed"], printed

        versions = s3.list_object_versions(Bucket=bucket["name"], Prefix=key)
        kept = [v.get("VersionId") for v in versions.get("Versions", []) if v["Key"] == key]
        assert not versions.get("DeleteMarkers"), "a delete marker hides the bytes, not removes"
        scanned_version = objects["scanned"].get("VersionId")
        earlier_version = (objects["earlier"] or {}).get("VersionId")
        if deletes and acting and bucket["versioned"]:
            assert kept == [earlier_version], "only the scanned version must be gone"
        elif deletes and acting:
            assert kept == [], "the scanned object must be gone"
        elif bucket["versioned"]:
            assert sorted(kept) == sorted([earlier_version, scanned_version])
        else:
            assert len(kept) == 1

        if table:
            row = dynamodb.get_item(TableName=table, Key={table_key: {"S": file_id}})["Item"]
            assert row["owner"] == {"S": "application"}, "the application's attributes stay"
            if records and acting:
                assert row["scan_verdict"] == {"S": "malicious"}
                assert row["scan_message_id"] == {"S": message["sqs_message_id"]}
                action = "quarantine" if quarantines else "delete" if deletes else "none"
                assert row["scan_action"] == {"S": action}
                assert row["s3_bucket"] == {"S": bucket["name"]}
                assert row["s3_key"] == {"S": key}
                assert row["scan_findings"]["L"][0]["M"]["malware"] == {"S": "Eicar_test_file"}
                if bucket["versioned"]:
                    assert row["s3_version_id"] == {"S": scanned_version}
            else:
                assert "scan_verdict" not in row


################################################################################
# Destroy (last: destroys every deployment at once)
################################################################################


def test_destroy_leaves_nothing_behind(fleet: Fleet, scenario: str):
    deployment = fleet.destroyed(scenario)
    account = deployment.account
    facts = deployment.facts
    leftovers: dict[str, Any] = {
        "functions": [
            f["FunctionName"] for f in account.client("lambda").list_functions()["Functions"]
        ],
        "roles": [
            r["RoleName"]
            for r in account.client("iam").list_roles()["Roles"]
            if r["Arn"] not in facts.get("roles", [])  # prerequisites, not the root's
        ],
        "log groups": [
            g["logGroupName"] for g in account.client("logs").describe_log_groups()["logGroups"]
        ],
        "queues": account.client("sqs").list_queues().get("QueueUrls", []),
        "subscriptions": [
            s["SubscriptionArn"]
            for owner in [account, *facts.get("foreign_accounts", [])]
            for s in owner.client("sns").list_subscriptions()["Subscriptions"]
        ],
        "event source mappings": account.client("lambda").list_event_source_mappings()[
            "EventSourceMappings"
        ],
        "alarms": [
            a["AlarmName"] for a in account.client("cloudwatch").describe_alarms()["MetricAlarms"]
        ],
        "topics": [
            t["TopicArn"]
            for t in account.client("sns").list_topics()["Topics"]
            if t["TopicArn"] not in [*facts["topics"].values(), *facts.get("other_topics", [])]
        ],
        "tables": [
            t
            for t in account.client("dynamodb").list_tables()["TableNames"]
            if not facts["table"] or t != facts["table"]["name"]
        ],
        "event buses": [
            b["Name"]
            for b in account.client("events").list_event_buses()["EventBuses"]
            if b["Name"] != "default" and b["Name"] not in facts.get("event_buses", [])
        ],
        "event rules": [r["Name"] for r in account.client("events").list_rules()["Rules"]],
        "dashboards": [
            d["DashboardName"]
            for d in account.client("cloudwatch").list_dashboards()["DashboardEntries"]
        ],
        "saved queries": [
            d["name"]
            for d in account.client("logs").describe_query_definitions()["queryDefinitions"]
        ],
    }
    # Keys a root created must be scheduled for deletion; prerequisites and AWS managed keys
    # (moto makes alias/aws/dynamodb for SSE tables) are not the root's.
    kms = account.client("kms")
    not_ours = {b["kms_key"] for b in facts["buckets"] if b["kms_key"]}
    not_ours |= {
        a["TargetKeyId"]
        for a in kms.list_aliases()["Aliases"]
        if a["AliasName"].startswith("alias/aws/") and "TargetKeyId" in a
    }
    leftovers["enabled KMS keys"] = [
        k["KeyArn"]
        for k in kms.list_keys()["Keys"]
        if not {k["KeyArn"], k["KeyId"]} & not_ours
        and kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] != "PendingDeletion"
    ]
    assert {k: v for k, v in leftovers.items() if v} == {}
