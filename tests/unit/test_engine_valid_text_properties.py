"""Property: any JSON string a scan-result message can carry, lone surrogates and line breaks
included, in any field, either makes the record fail at parse (identifying text) or survives into
the event, the notification (every body), the Security Hub finding and the log line as valid
UTF-8; the e-mail and chat bodies keep their line structure whatever the text holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from engine_kit import scan_message, sns_notification, sqs_record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from post_scan import events, findings, logline, notify
from post_scan.config import load_config
from post_scan.message import ScanMessageError, parse_record, parse_scan_result
from post_scan.pipeline import ERROR, Outcome
from post_scan.valid_text import is_valid

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PRODUCT = "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"
CONFIG = load_config(
    {
        "EVENT_BUS": "bus",
        "NOTIFY_TOPIC_ARN": "arn:aws:sns:eu-west-1:111122223333:notify",
        "NOTIFY_CHAT": "true",
        "SECURITY_HUB_PRODUCT_ARN": PRODUCT,
    }
)
# Any code point, lone surrogates included (hypothesis leaves them out unless told).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
# A line break or a hidden character wherever the text has one, more often than chance gives.
HOSTILE = st.lists(
    ANY_TEXT | st.sampled_from(["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\r\n", "\ud800"]),
    max_size=6,
).map("".join)
NESTED = st.recursive(
    st.none() | st.integers() | HOSTILE,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE, inner, max_size=3),
    max_leaves=8,
)
# Where a message carries text, and how the text is put there.
FIELDS = [
    "error",
    "error_object",
    "malware",
    "malware_type",
    "file_name",
    "status_message",
    "sqs_message_id",
    "etag",
    "key",
    "topic_arn",
    "sns_message_id",
]


def place(field: str, value: Any) -> dict[str, Any]:
    """The SQS record of a malicious scan result carrying `value` in `field`."""
    message = scan_message("uploads-bucket", "in/file.exe", etag="abc123")
    notification_extra: dict[str, Any] = {}
    result = message["scanning_result"]
    if field == "error":
        result["Error"] = value
    elif field == "error_object":
        result["Error"] = {"detail": value}
    elif field == "malware":
        result["Findings"] = [{"malware": value or "x", "type": "Virus"}]
    elif field == "malware_type":
        result["Findings"] = [{"malware": "Eicar", "type": value}]
    elif field == "file_name":
        message["file_name"] = value
    elif field == "status_message":
        message["scanner_status_message"] = value
    elif field == "sqs_message_id":
        message["sqs_message_id"] = value
    elif field == "etag":
        message["file_attributes"] = {"etag": value}
    elif field == "key":
        message["file_url"] = message["file_url"] + value
    elif field == "topic_arn":
        notification_extra["TopicArn"] = "arn:aws:sns:eu-west-1:111122223333:t" + value
    elif field == "sns_message_id":
        notification_extra["MessageId"] = "m-" + value
    notification = {**sns_notification(json.dumps(message)), **notification_extra}
    # json.dumps escapes a lone surrogate as \ud800: exactly what a hostile publisher sends.
    return sqs_record(json.dumps(notification))


def outcome_of(record: dict[str, Any]) -> Outcome:
    outcome = Outcome(dry_run=False, queue_message_id=record["messageId"], delivery="sqs")
    try:
        envelope = parse_record(record)
        outcome.topic_arn, outcome.sns_message_id = envelope.topic_arn, envelope.sns_message_id
        outcome.scan = parse_scan_result(envelope.message, *envelope.fallback_id())
    except ScanMessageError as exc:
        outcome.outcome, outcome.error = ERROR, exc
        outcome.notes.append(f"{type(exc).__name__}: {exc}")
    return outcome


def assert_valid_json_text(text: str) -> None:
    text.encode("utf-8")
    assert is_valid(json.dumps(json.loads(text), ensure_ascii=False))


@FAST
@given(st.sampled_from(FIELDS), HOSTILE | NESTED)
def test_any_text_in_any_field_fails_at_parse_or_leaves_as_valid_utf8(field: str, value) -> None:
    if field not in ("error", "error_object") and not isinstance(value, str):
        value = json.dumps(value)  # only the scan error may be an object
    record = place(field, value)
    outcome = outcome_of(record)
    line = logline.render(outcome, "NS", "fn", 1_700_000_000_000)
    assert line.isascii()
    assert_valid_json_text(line)
    if outcome.scan is None:
        assert outcome.outcome == ERROR, "refused loudly, never silently"
        return
    detail = events.detail(outcome, CONFIG)
    assert_valid_json_text(events.put_events_entry(detail, CONFIG)["Detail"])
    entry = notify.message_entry(detail, chat=True, entry_id="0")
    assert_valid_json_text(entry["Message"])
    bodies = json.loads(entry["Message"])
    assert_valid_json_text(bodies["default"])
    assert_valid_json_text(bodies["https"])
    bodies["email"].encode("utf-8")
    assert entry["Subject"].isascii()
    finding = findings.finding(detail, PRODUCT, datetime(2024, 5, 1, tzinfo=UTC))
    assert_valid_json_text(json.dumps(finding, ensure_ascii=False))
    assert notify.entry_size(entry) > 0 and events.entry_size(
        {"Source": "s", "DetailType": "d", "Detail": events.render(detail)}
    )
    # The e-mail and the chat description keep their line structure: the hostile text adds none.
    reference = events.detail(outcome_of(place("status_message", "")), CONFIG)
    for built in (notify.email, lambda d: notify.chat_notification(d)["content"]["description"]):
        assert len(built(detail).splitlines()) == len(built(reference).splitlines())
