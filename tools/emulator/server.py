"""The local AWS emulator: a moto server with the few patches the demo and the apply tests need.

Run in its own process (moto keeps its state per process); ``emulator.MotoServer`` starts it:

    PYTHONPATH=tools python -m emulator.server [--host 127.0.0.1] [--port 0]

It prints one line, ``listening http://HOST:PORT``, once it accepts requests, and exits when its
parent process goes away (tests, the demo), unless started with ``--keep-running`` (``make
emulator``, ``python -m emulator``: it runs until it is stopped). Patches (each one says why moto
alone is not enough):

- ``get_function`` returns a ``Code.Location`` this server serves (moto returns an AWS S3 URL that
  exists nowhere), so the deployed zip can be downloaded the way a user would.
- SNS deliveries to a ``lambda`` subscription are recorded, as the event Lambda would receive,
  instead of being invoked (moto needs Docker to run a function). Callers read them back from
  ``GET /_test/sns-deliveries?function_arn=...`` and run the handler in-process on them.
  Filter policies are applied by moto exactly as for other protocols.
- A topic's subscriptions include those made from other accounts (moto keeps a subscription in
  the subscriber's account and would otherwise never deliver to it), as in AWS.
- Event source mappings of SQS queues are kept (the Lambda API describes them) but moto no longer
  invokes the function from inside SendMessage (it would need Docker, and its receive would count
  against the queue's maxReceiveCount). ``emulator.event_source`` polls the queue instead.
- A queue's ``RedrivePolicy`` attribute is compact JSON, as SQS returns it (moto adds spaces, and
  the AWS provider then plans a whitespace-only change to it after every apply).
- ``SetQueueAttributes`` without ``Policy`` keeps the queue's policy (moto 5 resets it to none, so
  setting a redrive policy after the queue policy, as the AWS provider does with
  ``aws_sqs_queue_redrive_policy``, silently dropped the queue policy). Attribute writes and reads
  of queues take one lock: two requests side by side (the provider destroys
  ``aws_sqs_queue_policy`` and ``aws_sqs_queue_redrive_allow_policy`` of one queue at once) must
  not undo each other, or the destroy waits 20 minutes for a policy that came back.
- A queue's ``RedriveAllowPolicy`` is kept and returned (moto 5 stores it but never returns it, so
  the AWS provider waits in vain for it), and honoured: a queue whose ``RedrivePolicy`` names a
  dead-letter queue that does not allow it (``denyAll``, or ``byQueue`` without its ARN) is refused
  with ``InvalidParameterValue`` when the redrive policy is set. The check runs when the source's
  redrive policy is set; the message text is the emulator's own.
- A queue's visible, delayed and in-flight messages are counted with one clock reading per call
  (moto reads the clock twice per message, on every send and receive: a 10,000-message burst took
  hours on two cores).
- ``ListObjectVersions`` honours ``encoding-type=url`` (moto ignores it). The AWS provider asks
  for it when ``force_destroy`` empties a bucket and URL-decodes the keys, so a key with a ``+``
  came back as another key and the destroy looped forever.
- SNS deliveries to ``email``, ``email-json``, ``http`` and ``https`` subscriptions are recorded as
  what that subscriber would receive (the protocol's body of a ``MessageStructure=json`` message,
  the subject, the attributes) instead of being sent: moto drops e-mail and would POST to the
  endpoint (for Amazon Q Developer in chat applications, an AWS host). Read them back from
  ``GET /_test/sns-notifications?endpoint=...``.
- The request size limits moto does not enforce: ``PublishBatch`` refuses a batch whose messages
  add up to more than 262,144 bytes (``BatchRequestTooLong``); ``PutEvents`` refuses entries that
  add up to 256 KB or more (``ValidationException``), counted as EventBridge documents.
- Security Hub ``BatchImportFindings`` behaves as documented where moto does not: an account
  without Security Hub enabled gets every finding back as ``InvalidAccess``; an update whose
  ``UpdatedAt`` is not later than the stored finding's is ignored; a finding over 240 KB fails.
- EventBridge rules with a Lambda target: the event a matching rule would deliver is recorded,
  with the SNS deliveries (``GET /_test/sns-deliveries?function_arn=...`` returns both), instead of
  moto failing the PutEvents (it supports no Lambda target). Its ``time`` is ISO 8601, as
  EventBridge delivers it. The GuardDuty stand-in (``emulator.guardduty``) relies on it.
- CloudWatch Logs Insights query definitions (``PutQueryDefinition``, ``DescribeQueryDefinitions``,
  ``DeleteQueryDefinition``), which moto lacks: a store with AWS's size limits
  (``emulator.query_definitions``), so the module's saved queries can be applied and read back.
- A bucket policy's statements with a ``Condition`` are left out of moto's own bucket-policy check:
  moto ignores conditions (its IAMPolicy has no Condition support), so a conditional Deny such
  as the module's read protection statements would deny every request to the bucket. What such
  policies decide is proven with the tests' evaluator (tests/policy_eval.py) instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from typing import Any
from urllib.parse import parse_qs, quote

from moto.awslambda.models import EventSourceMapping, LambdaBackend, LambdaFunction, lambda_backends
from moto.core.utils import (
    iso_8601_datetime_without_milliseconds,
    unix_time_millis,
    utcfromtimestamp,
)
from moto.events.exceptions import ValidationException
from moto.events.models import EventsBackend, Rule
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response
from moto.securityhub.models import Finding, SecurityHubBackend
from moto.sns.exceptions import SNSException
from moto.sns.models import SNSBackend, Subscription, Topic, sns_backends
from moto.sqs.exceptions import SQSException
from moto.sqs.models import Queue, sqs_backends
from moto.utilities.arns import parse_arn
from werkzeug.serving import make_server

from emulator import query_definitions
from emulator.events import sns_lambda_event

CODE_PATH = "/_test/lambda-code/"
DELIVERIES_PATH = "/_test/sns-deliveries"
NOTIFICATIONS_PATH = "/_test/sns-notifications"
RECORDED_PROTOCOLS = ("email", "email-json", "http", "https")
SNS_BATCH_LIMIT = 262_144  # bytes of all messages of one PublishBatch
EVENTS_REQUEST_LIMIT = 256 * 1024  # bytes of all entries of one PutEvents
FINDING_LIMIT = 240 * 1024  # bytes of one Security Hub finding

_base_url = ""
_deliveries: list[dict[str, Any]] = []
_notifications: list[dict[str, Any]] = []
_deliveries_lock = threading.Lock()
_queue_attributes_lock = threading.RLock()

_original_get_code = LambdaFunction.get_code
_original_publish = Subscription.publish
_original_list_object_versions = S3Response.list_object_versions
_original_create_event_source_mapping = LambdaBackend.create_event_source_mapping
_original_queue_attributes = Queue.attributes.fget
_original_setup_dlq = Queue._setup_dlq
_original_set_attributes = Queue._set_attributes
_original_publish_batch = SNSBackend.publish_batch
_original_put_events = EventsBackend.put_events
_original_send_to_targets = Rule.send_to_targets


def _get_code(self: LambdaFunction) -> dict[str, Any]:
    response = _original_get_code(self)
    code = response.get("Code", {})
    if code.get("RepositoryType") == "S3":
        code["Location"] = (
            f"{_base_url}{CODE_PATH}{self.account_id}/{self.region}/{self.function_name}"
        )
    return response


def _publish(
    self: Subscription,
    message: str,
    message_id: str,
    subject: Any = None,
    message_attributes: dict[str, Any] | None = None,
    group_id: Any = None,
    deduplication_id: Any = None,
    message_structure: Any = None,
) -> None:
    if self.protocol in RECORDED_PROTOCOLS:
        return _record_notification(
            self, message, message_id, subject, message_attributes, message_structure
        )
    if self.protocol != "lambda":
        return _original_publish(
            self,
            message,
            message_id,
            subject,
            message_attributes,
            group_id,
            deduplication_id,
            message_structure,
        )
    received = _received(self, message, message_attributes, message_structure)
    if received is None:
        return None
    message = received
    with _deliveries_lock:
        _deliveries.append(
            {
                "function_arn": self.endpoint,
                "event": sns_lambda_event(
                    self.topic.arn, self.arn, message, message_id, subject, message_attributes
                ),
            }
        )
    return None


def _received(
    self: Subscription, message: str, message_attributes: Any, message_structure: Any
) -> str | None:
    """The body this subscription gets (its protocol's, for MessageStructure=json), or None when
    its filter policy keeps the message out: the same filtering as moto's own publish."""
    matcher = self._filter_policy_matcher
    if matcher is not None and not matcher.matches(message_attributes, message):
        return None
    if message_structure == "json":
        return self._parse_message_structure(message, self.protocol)
    return message


def _record_notification(
    self: Subscription,
    message: str,
    message_id: str,
    subject: Any,
    message_attributes: dict[str, Any] | None,
    message_structure: Any,
) -> None:
    """What an e-mail / HTTP(S) subscriber would receive, kept instead of sent."""
    received = _received(self, message, message_attributes, message_structure)
    if received is None:
        return None
    message = received
    with _deliveries_lock:
        _notifications.append(
            {
                "protocol": self.protocol,
                "endpoint": self.endpoint,
                "subscription_arn": self.arn,
                "topic_arn": self.topic.arn,
                "message_id": message_id,
                "message": message,
                "subject": subject,
                "message_attributes": message_attributes or {},
            }
        )
    return None


class BatchRequestTooLong(SNSException):
    code = "BatchRequestTooLong"
    message = "The length of all the messages put together is more than the limit."


def _sns_message_bytes(entry: dict[str, Any]) -> int:
    size = len(str(entry.get("Message", "")).encode("utf-8"))
    for name, value in (entry.get("MessageAttributes") or {}).items():
        size += len(name.encode("utf-8")) + len(str(value.get("Type", "")).encode("utf-8"))
        size += len(str(value.get("Value", "")).encode("utf-8"))
    return size


def _publish_batch(self: SNSBackend, topic_arn: str, publish_batch_request_entries: Any) -> Any:
    if sum(_sns_message_bytes(e) for e in publish_batch_request_entries) > SNS_BATCH_LIMIT:
        raise BatchRequestTooLong()
    return _original_publish_batch(self, topic_arn, publish_batch_request_entries)


def _event_entry_bytes(entry: dict[str, Any]) -> int:
    """EventBridge's documented entry size: Time 14, Source, DetailType, Detail, Resources."""
    size = 14 if entry.get("Time") else 0
    for name in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(name) or "").encode("utf-8"))
    return size + sum(len(str(r).encode("utf-8")) for r in entry.get("Resources") or [])


def _put_events(self: EventsBackend, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if sum(_event_entry_bytes(e) for e in events) >= EVENTS_REQUEST_LIMIT:
        raise ValidationException("Total size of the entries in the request is over the limit.")
    return _original_put_events(self, events)


def _send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
    """Lambda targets: record the event as the function would receive it; the rest to moto."""
    if not self.event_pattern.matches_event(original_event):
        return None
    functions = [t for t in self.targets if parse_arn(t["Arn"]).service == "lambda"]
    if functions:
        event = json.loads(json.dumps(original_event, default=str))
        if isinstance(event.get("time"), int | float):  # moto's clock: epoch seconds
            event["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(event["time"]))
        with _deliveries_lock:
            _deliveries.extend({"function_arn": t["Arn"], "event": event} for t in functions)
    others = [t for t in self.targets if t not in functions]
    if not others:
        return None
    targets, self.targets = self.targets, others
    try:
        return _original_send_to_targets(self, original_event, transform_input)
    finally:
        self.targets = targets


def _batch_import_findings(
    self: SecurityHubBackend, findings: list[dict[str, Any]]
) -> tuple[int, int, list[dict[str, Any]]]:
    failed: list[dict[str, Any]] = []
    succeeded = 0
    for data in findings:
        finding_id = data.get("Id", "")
        problem = None
        if not self.enabled:
            problem = ("InvalidAccess", "Account is not subscribed to AWS Security Hub")
        elif len(json.dumps(data).encode("utf-8")) > FINDING_LIMIT:
            problem = ("FindingSizeExceeded", "Finding size exceeded 240 KB")
        elif not isinstance(data.get("Resources"), list) or not data["Resources"]:
            problem = ("InvalidInput", "Finding must contain at least one resource")
        if problem:
            failed.append({"Id": finding_id, "ErrorCode": problem[0], "ErrorMessage": problem[1]})
            continue
        existing = next((f for f in self.findings if f.id == finding_id), None)
        if existing is None:
            self.findings.append(Finding(finding_id, data))
        elif str(data.get("UpdatedAt", "")) > str(existing.data.get("UpdatedAt", "")):
            existing.data.update(data)  # else ignored, as Security Hub does
        succeeded += 1
    return len(failed), succeeded, failed


def _topic_subscriptions(self: SNSBackend, topic: Topic) -> list[Subscription]:
    return [
        subscription
        for account in list(sns_backends)
        for subscription in list(sns_backends[account][self.region_name].subscriptions.values())
        if subscription.topic == topic
    ]


def _create_event_source_mapping(self: LambdaBackend, spec: dict[str, Any]) -> EventSourceMapping:
    mapping = _original_create_event_source_mapping(self, spec)
    if mapping.event_source_arn.split(":")[2] == "sqs":
        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            if queue.queue_arn == mapping.event_source_arn:
                queue.lambda_event_source_mappings.pop(mapping.function_arn, None)
    return mapping


def _queue_attributes(self: Queue) -> dict[str, Any]:
    with _queue_attributes_lock:  # the attributes and the redrive policy of one write
        attributes = _original_queue_attributes(self)
        redrive_policy = self.redrive_policy
    if redrive_policy:
        attributes["RedrivePolicy"] = json.dumps(redrive_policy, separators=(",", ":"))
    if not attributes.get("RedriveAllowPolicy"):
        attributes.pop("RedriveAllowPolicy", None)  # never set, or removed (set to "")
    return attributes


def _set_attributes(self: Queue, attributes: dict[str, Any], now: float | None = None) -> None:
    # One SetQueueAttributes at a time: the policy read here and written back below must not
    # undo a Policy="" that another request (the provider destroys a queue's policy and its
    # redrive allow policy side by side) set in between.
    with _queue_attributes_lock:
        policy = getattr(self, "policy", None)
        _original_set_attributes(self, attributes, now)
        if "Policy" not in attributes:
            self.policy = policy


def redrive_refusal(source_arn: str, allow_policy: str | None) -> str | None:
    """Why a dead-letter queue with `allow_policy` refuses `source_arn` as a source (None: it
    accepts it). No policy, or allowAll: every queue of the account and region."""
    if not allow_policy:
        return None
    try:
        policy = json.loads(allow_policy)
    except ValueError:
        return "its RedriveAllowPolicy is not JSON"
    permission = policy.get("redrivePermission", "allowAll") if isinstance(policy, dict) else None
    if permission == "allowAll":
        return None
    if permission == "denyAll":
        return "its RedriveAllowPolicy denies every source queue (denyAll)"
    if permission == "byQueue" and source_arn in (policy.get("sourceQueueArns") or []):
        return None
    return f"its RedriveAllowPolicy ({permission}) does not list {source_arn}"


def _setup_dlq(self: Queue, policy: Any) -> None:
    before = getattr(self, "redrive_policy", None), getattr(self, "dead_letter_queue", None)
    _original_setup_dlq(self, policy)
    target = self.dead_letter_queue
    refusal = target and redrive_refusal(self.queue_arn, target.redrive_allow_policy)
    if target is not None and refusal:
        self.redrive_policy, self.dead_letter_queue = before  # a refused change changes nothing
        raise SQSException(
            "InvalidParameterValue",
            f"Value for parameter RedrivePolicy is invalid. Reason: the dead-letter queue "
            f"{target.queue_arn} does not allow this queue as its source: {refusal} (emulator)",
        )


def _visible_messages(self: Queue) -> list[Any]:
    """Queue.messages (visible, not delayed) as moto defines them, the clock read once."""
    now = unix_time_millis()
    return [m for m in self._messages if now > m.visible_at and now >= m.delayed_until]


def _delayed_count(self: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for m in self._messages if now < m.delayed_until)


def _not_visible_count(self: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for m in self._messages if now <= m.visible_at)


def _list_object_versions(self: S3Response) -> Any:
    if self.querystring.get("encoding-type", [None])[0] != "url":
        return _original_list_object_versions(self)
    serialize = self.serialized

    def url_encoded(action_result: Any) -> Any:
        result = action_result.result
        for item in result["Versions"] + result["DeleteMarkers"]:
            item["Key"] = quote(item["Key"])
        result["EncodingType"] = "url"
        return serialize(action_result)

    self.serialized = url_encoded  # type: ignore[method-assign]
    try:
        return _original_list_object_versions(self)
    finally:
        del self.serialized


def _get_permission(self: FakeBucket, action: str, resource: str) -> Any:
    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy)
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    unconditional = [s for s in statements if "Condition" not in s]
    if not unconditional:
        return PermissionResult.NEUTRAL
    policy = IAMPolicy(json.dumps({**document, "Statement": unconditional}))
    return policy.is_action_permitted(action, resource)


LambdaFunction.get_code = _get_code
Subscription.publish = _publish
SNSBackend._get_topic_subscriptions = _topic_subscriptions
S3Response.list_object_versions = _list_object_versions
LambdaBackend.create_event_source_mapping = _create_event_source_mapping
Queue.attributes = property(_queue_attributes)  # type: ignore[method-assign,assignment]
Queue.BASE_ATTRIBUTES = [*Queue.BASE_ATTRIBUTES, "RedriveAllowPolicy"]
Queue.redrive_allow_policy = None  # a queue created without one
Queue._setup_dlq = _setup_dlq  # type: ignore[method-assign]
Queue._set_attributes = _set_attributes  # type: ignore[method-assign]
Queue.messages = property(_visible_messages)  # type: ignore[method-assign,assignment]
Queue.approximate_number_of_messages_delayed = property(_delayed_count)  # type: ignore[method-assign,assignment]
Queue.approximate_number_of_messages_not_visible = property(_not_visible_count)  # type: ignore[method-assign,assignment]
SNSBackend.publish_batch = _publish_batch  # type: ignore[method-assign]
EventsBackend.put_events = _put_events  # type: ignore[method-assign]
Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign]
SecurityHubBackend.batch_import_findings = _batch_import_findings  # type: ignore[method-assign]
FakeBucket.get_permission = _get_permission
query_definitions.install()


class _TestRoutes:
    """WSGI wrapper: the test-only routes, everything else goes to moto."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CODE_PATH):
            return self._code(path[len(CODE_PATH) :], start_response)
        if path == DELIVERIES_PATH:
            query = parse_qs(environ.get("QUERY_STRING", ""))
            wanted = query.get("function_arn", [None])[0]
            with _deliveries_lock:
                events = [d["event"] for d in _deliveries if wanted in (None, d["function_arn"])]
            return _respond(start_response, "200 OK", "application/json", json.dumps(events))
        if path == NOTIFICATIONS_PATH:
            query = parse_qs(environ.get("QUERY_STRING", ""))
            wanted = query.get("endpoint", [None])[0]
            with _deliveries_lock:
                found = [n for n in _notifications if wanted in (None, n["endpoint"])]
            return _respond(start_response, "200 OK", "application/json", json.dumps(found))
        return self.app(environ, start_response)

    @staticmethod
    def _code(rest: str, start_response: Any) -> list[bytes]:
        try:
            account, region, name = rest.split("/")
            function = lambda_backends[account][region].get_function(name)
        except Exception as exc:  # any lookup problem is a 404 for the caller
            return _respond(start_response, "404 Not Found", "text/plain", str(exc))
        return _respond(start_response, "200 OK", "application/zip", function.code_bytes)


def _respond(start_response: Any, status: str, content_type: str, body: str | bytes) -> list[bytes]:
    data = body.encode() if isinstance(body, str) else body
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main() -> None:
    global _base_url
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--keep-running", action="store_true", help="do not exit when the parent process does"
    )
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = _TestRoutes(DomainDispatcherApplication(create_backend_app))
    server = make_server(
        args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler
    )
    _base_url = f"http://{args.host}:{server.server_port}"
    if not args.keep_running:
        threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    print(f"listening {_base_url}", flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
