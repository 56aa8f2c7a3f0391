"""The dashboard and the saved Logs Insights queries of examples/queue, as applied, against what the
deployed function really prints.

The example is applied against the moto server (shared with test_apply_queue.py); this test uploads
a malicious and a clean file, publishes their scan results, drains the delivery queue through the
deployed handler and keeps its log lines. Then:

- every metric of the dashboard (read back with GetDashboard: the body the provider sent) is one
  the log lines declare in their EMF block (namespace, name, dimension names and values), or an
  AWS/Lambda or AWS/SQS metric of exactly this function or its queues; percentiles only of metrics
  declared with a unit of time; the alarm widget lists exactly the deployment's alarms;
- the saved queries (read back with DescribeQueryDefinitions) are the queries/*.query files, in a
  folder named after `name`, on the function's log group, and answer correctly over those lines
  (tests/logs_insights.py evaluates them: moto runs no Logs Insights query).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _harness import Deployment, Fleet, run_deployed_handler
from logs_insights import Event, run

from emulator import fss
from emulator.event_source import drain_deployed
from post_scan import logline
from post_scan.config import VERDICTS
from post_scan.pipeline import ERROR, IGNORED, Outcome

pytestmark = [pytest.mark.terraform, pytest.mark.apply]

QUERIES_DIR = Path(__file__).resolve().parents[2] / "queries"
# AWS's own metrics the dashboard may show, by namespace: name -> the dimension it is keyed by.
AWS_METRICS = {
    "AWS/Lambda": {
        "Duration": "FunctionName",
        "ConcurrentExecutions": "FunctionName",
        "Throttles": "FunctionName",
        "Errors": "FunctionName",
    },
    "AWS/SQS": {
        "ApproximateNumberOfMessagesVisible": "QueueName",
        "ApproximateAgeOfOldestMessage": "QueueName",
    },
}
TIME_UNITS = {"Seconds", "Milliseconds", "Microseconds"}


@pytest.fixture(params=["queue"])
def scenario(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def deployed(fleet: Fleet, scenario: str) -> Deployment:
    return fleet.applied(scenario)


@pytest.fixture
def lines(deployed: Deployment, tmp_path, capsys) -> list[dict[str, Any]]:
    """The deployed function's log lines for one malicious and one clean upload."""
    account = deployed.account
    s3, sns = account.client("s3"), account.client("sns")
    bucket = deployed.facts["buckets"][0]["name"]
    tag_key = deployed.inputs["file_id_tag_key"]
    for key, body, findings in (
        ("observability/virus.exe", fss.eicar(), [fss.EICAR_FINDING]),
        ("observability/fine.txt", b"a clean file", []),
    ):
        put = s3.put_object(Bucket=bucket, Key=key, Body=body, Tagging=f"{tag_key}=obs-{key}")
        message = fss.scan_result(
            bucket,
            key,
            account.region,
            size=len(body),
            etag=put["ETag"].strip('"'),
            findings=findings,
        )
        sns.publish(TopicArn=deployed.facts["topics"]["storage_stack"], Message=json.dumps(message))
    name = deployed.outputs["lambda_function_name"]
    capsys.readouterr()
    drain_deployed(
        account, name, lambda event: run_deployed_handler(account, name, event, tmp_path)[0]
    )
    found = [json.loads(t) for t in capsys.readouterr().out.splitlines() if '"outcome"' in t]
    mine = [line for line in found if str(line.get("key")).startswith("observability/")]
    assert sorted(line["outcome"] for line in mine) == ["processed", "processed"], found
    return mine


def _declared(lines: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(namespace, metric) -> {"dimensions": [sets of names], "values": {dim: values}, "unit"}."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        for directive in line["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                entry = found.setdefault(
                    (directive["Namespace"], metric["Name"]),
                    {"dimensions": [], "values": {}, "unit": metric.get("Unit")},
                )
                for names in directive["Dimensions"]:
                    if set(names) not in entry["dimensions"]:
                        entry["dimensions"].append(set(names))
                    for dim in names:
                        entry["values"].setdefault(dim, set()).add(line[dim])
    return found


def _engine_verdict_values() -> set[str]:
    """Every Verdict dimension value the engine emits: the verdicts, and what it says for a
    record without a scan result (an ignored message, an unreadable one)."""
    special = {
        logline.build(Outcome(dry_run=False, outcome=o), "NS", "fn", 0)["Verdict"]
        for o in (IGNORED, ERROR)
    }
    return set(VERDICTS) | special


def _metric_rows(body: dict[str, Any]) -> list[tuple[str, list[Any], dict[str, Any]]]:
    rows = []
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        for row in widget["properties"]["metrics"]:
            rendering = row[-1] if isinstance(row[-1], dict) else {}
            plain = row[:-1] if rendering else row
            stat = rendering.get("stat", widget["properties"].get("stat"))
            rows.append((widget["properties"]["title"], plain, {**rendering, "stat": stat}))
    return rows


def test_dashboard_shows_only_metrics_that_exist(deployed: Deployment, lines):
    outputs, inputs = deployed.module_outputs, deployed.inputs
    account = deployed.account
    name = outputs["dashboard_name"]
    assert name == f"{deployed.outputs['lambda_function_name']}-{account.region}"
    assert outputs["dashboard_url"] == (
        f"https://{account.region}.console.aws.amazon.com/cloudwatch/home?region="
        f"{account.region}#dashboards:name={name}"
    )
    body = json.loads(
        account.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"]
    )
    declared = _declared(lines)
    function = deployed.outputs["lambda_function_name"]
    queues = {
        outputs["dead_letter_queue_url"].rsplit("/", 1)[1],
        outputs["delivery_queue_url"].rsplit("/", 1)[1],
    }
    namespace = inputs.get("metrics_namespace", "FSSPostScan")
    assert {ns for ns, _ in declared} == {namespace}
    verdicts = _engine_verdict_values()
    shown: set[tuple[str, str]] = set()
    for title, row, rendering in _metric_rows(body):
        ns, metric, pairs = row[0], row[1], dict(zip(row[2::2], row[3::2], strict=True))
        shown.add((ns, metric))
        if ns in AWS_METRICS:
            assert list(pairs) == [AWS_METRICS[ns].get(metric)], row
            assert next(iter(pairs.values())) in ({function} if ns == "AWS/Lambda" else queues), row
            continue
        entry = declared.get((ns, metric))
        assert entry is not None, f"{title}: {ns}/{metric} is not a metric the engine declares"
        assert set(pairs) in entry["dimensions"], f"{title}: {metric} with dimensions {set(pairs)}"
        assert pairs["FunctionName"] == function and function in entry["values"]["FunctionName"]
        if "Verdict" in pairs:
            assert pairs["Verdict"] in verdicts, row
        if str(rendering["stat"]).startswith("p"):
            assert entry["unit"] in TIME_UNITS, f"{metric}: percentiles of a {entry['unit']}"
    # Every graph the issue asks for is there.
    assert {
        (namespace, "ScanResults"),
        (namespace, "ObjectsDeleted"),
        (namespace, "ObjectsRouted"),
        (namespace, "VerdictsRecorded"),
        (namespace, "ExposureSeconds"),
        (namespace, "ScanSeconds"),
        (namespace, "ActionDelaySeconds"),
        (namespace, "Errors"),
        (namespace, "Rejected"),
        (namespace, "FallbackActions"),
        (namespace, "VerdictConflicts"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/Lambda", "Duration"),
        ("AWS/Lambda", "ConcurrentExecutions"),
        ("AWS/Lambda", "Throttles"),
    } <= shown
    assert any(w["type"] == "text" for w in body["widgets"])
    (alarms,) = [w["properties"]["alarms"] for w in body["widgets"] if w["type"] == "alarm"]
    described = account.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert sorted(alarms) == sorted(a["AlarmArn"] for a in described)
    assert sorted(alarms) == sorted(outputs["cloudwatch_alarm_arns"].values())


def test_saved_queries_are_the_files_and_answer_over_the_lines(deployed: Deployment, lines):
    account = deployed.account
    name = deployed.outputs["lambda_function_name"]
    logs = account.client("logs")
    saved = logs.describe_query_definitions(queryDefinitionNamePrefix=f"{name}/")[
        "queryDefinitions"
    ]
    files = {p.stem: p.read_text() for p in QUERIES_DIR.glob("*.query")}
    assert {d["name"]: d["queryString"] for d in saved} == {
        f"{name}/{k}": v for k, v in files.items()
    }
    assert all(d["logGroupNames"] == [f"/aws/lambda/{name}"] for d in saved)

    events = [
        Event(1_714_600_000_000 + n, json.dumps(line), f"p{n}") for n, line in enumerate(lines)
    ]
    text = {d["name"].removeprefix(f"{name}/"): d["queryString"] for d in saved}
    malicious = run(text["malicious-files"], events)
    (virus,) = [{c["field"]: c["value"] for c in row} for row in malicious]
    assert virus["key"] == "observability/virus.exe" and virus["action"] == "delete"
    (percentiles,) = run(text["exposure-percentiles"], events)
    assert {c["field"]: c["value"] for c in percentiles}["files"] == "1"
    removed = next(line for line in lines if line["verdict"] == "malicious")
    assert removed["exposure_seconds"] >= removed["scan_seconds"] >= 0
