"""Announcement targets for engine tests: an EventBridge bus with a rule to a queue, a topic with
queue subscriptions, Security Hub; and a watcher that counts (and can fail) their API calls."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from engine_kit import ACCOUNT, REGION

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs/schemas/scan-result-processed.schema.json"
BUS = "scan-results"
SOURCE = "fss-post-scan"
PRODUCT_ARN = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"


def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


class ApiCalls:
    """Records the calls of some clients (once per call, with their parameters) and answers
    chosen calls itself: with an error, or with a response (entry-level failures)."""

    def __init__(self, clients: list[Any]) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._planned: dict[str, list[Any]] = {}
        self._clients = clients
        for client in clients:
            client.meta.events.register("provide-client-params", self._record)
            client.meta.events.register("before-call", self._answer)

    def close(self) -> None:
        for client in self._clients:
            client.meta.events.unregister("provide-client-params", self._record)
            client.meta.events.unregister("before-call", self._answer)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def fail(self, operation: str, code: str, status: int = 400, times: int = 1) -> None:
        error = {"Error": {"Code": code, "Message": f"injected {code}"}}
        self._planned.setdefault(operation, []).extend([("error", status, error)] * times)

    def respond(self, operation: str, build: Any) -> None:
        """The next call of `operation` is answered with build(params) (a parsed response)."""
        self._planned.setdefault(operation, []).append(("response", 200, build))

    def _record(self, params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        self.calls.append((model.name, json.loads(json.dumps(params, default=str))))

    def _answer(self, model: Any, **kwargs: Any) -> Any:
        planned = self._planned.get(model.name)
        if not planned:
            return None
        kind, status, body = planned.pop(0)
        http = SimpleNamespace(status_code=status, headers={})
        metadata = {"ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}}}
        if kind == "error":
            return http, {**body, **metadata}
        return http, {**body(self.params(model.name)[-1]), **metadata}


@dataclass
class Targets:
    """What the announcements reach in moto: the bus's rule feeds `events_queue`; the topic feeds
    `notifications_queue` (raw delivery: the body is what SQS subscribers get) and
    `malicious_queue` (filter policy on the verdict attribute)."""

    sqs: Any
    securityhub: Any
    bus_arn: str
    topic_arn: str
    events_queue: str
    notifications_queue: str
    malicious_queue: str
    env: dict[str, str] = field(default_factory=dict)

    def drain(self, queue_url: str) -> list[dict[str, Any]]:
        found = []
        while True:
            received = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not received:
                return found
            for message in received:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def events(self) -> list[dict[str, Any]]:
        """The EventBridge events the rule delivered (envelope with detail)."""
        return self.drain(self.events_queue)

    def notifications(self) -> list[dict[str, Any]]:
        """The SQS subscription's bodies (the default body: the detail)."""
        return self.drain(self.notifications_queue)

    def findings(self) -> list[dict[str, Any]]:
        return self.securityhub.get_findings()["Findings"]


def create_targets(clients: dict[str, Any]) -> Targets:
    sqs, sns, events = clients["sqs"], clients["sns"], clients["events"]
    bus_arn = events.create_event_bus(Name=BUS)["EventBusArn"]

    def queue(name: str) -> tuple[str, str]:
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, arn

    events_url, events_arn = queue("scan-result-events")
    events.put_rule(
        Name="all-scan-results",
        EventBusName=BUS,
        EventPattern=json.dumps({"source": [SOURCE], "detail-type": ["Scan Result Processed"]}),
    )
    events.put_targets(
        Rule="all-scan-results", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": events_arn}]
    )
    topic_arn = sns.create_topic(Name="scan-notifications")["TopicArn"]
    notifications_url, notifications_arn = queue("scan-notifications")
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=notifications_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    malicious_url, malicious_arn = queue("malicious-notifications")
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=malicious_arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicy": json.dumps({"verdict": ["malicious"]}),
        },
    )
    clients["securityhub"].enable_security_hub()
    return Targets(
        sqs=sqs,
        securityhub=clients["securityhub"],
        bus_arn=bus_arn,
        topic_arn=topic_arn,
        events_queue=events_url,
        notifications_queue=notifications_url,
        malicious_queue=malicious_url,
        env={
            "EVENT_BUS": BUS,
            "NOTIFY_TOPIC_ARN": topic_arn,
            "SECURITY_HUB_PRODUCT_ARN": PRODUCT_ARN,
        },
    )
