"""Property tests: the parser's only failure is ScanMessageError; keys survive every URL form."""

from __future__ import annotations

import json

from engine_kit import (
    URL_FORMS,
    encode_key,
    scan_message,
    sns_notification,
    sns_record,
    sqs_record,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from post_scan.message import (
    ScanMessageError,
    ScanResult,
    parse_envelope,
    parse_location,
    parse_record,
    parse_scan_result,
)

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parses_or_says_why(message: str) -> None:
    """Sns.Message of a real Lambda SNS record in, a ScanResult or a ScanMessageError out."""
    envelope = parse_envelope(sns_record(message))
    try:
        result = parse_scan_result(envelope.message, envelope.sns_message_id)
    except ScanMessageError:
        return
    assert isinstance(result, ScanResult)
    assert result.verdict in ("malicious", "clean", "incomplete", "failed")
    assert result.key and result.bucket


@FAST
@given(st.text())
@example("[" * 50_000)
@example('{"timestamp": 1e999999, "scanning_result": {"Findings": []}}')
@example('{"a": ' + "9" * 5000 + "}")
@example("{'scanning_result': {'foundMalwares': []}}")
def test_any_string_parses_or_raises_scan_message_error(message: str) -> None:
    parses_or_says_why(message)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(
        ["0", "-2", "2020-09-18T10:27:26Z", "1600424846.74", "https://b-1.s3.amazonaws.com/k"]
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
FIELDS = st.sampled_from(
    ["timestamp", "sqs_message_id", "file_url", "scanner_status", "bucket", "file_attributes"]
)


@FAST
@given(
    base=st.sampled_from(["malicious", "clean", "incomplete", "failed"]),
    overrides=st.dictionaries(FIELDS, JSON_VALUES, max_size=3),
    result_overrides=st.dictionaries(
        st.sampled_from(["Findings", "Codes", "TotalBytesOfFile"]), JSON_VALUES, max_size=2
    ),
)
def test_almost_valid_messages_parse_or_raise_scan_message_error(
    base: str, overrides: dict, result_overrides: dict
) -> None:
    message = scan_message("uploads-bucket", "k", verdict=base)
    message.update(overrides)
    message["scanning_result"].update(result_overrides)
    parses_or_says_why(json.dumps(message))


def queue_body_parses_or_says_why(body: str) -> None:
    """Body of a real Lambda SQS record in, a ScanResult or a ScanMessageError out."""
    try:
        envelope = parse_record(sqs_record(body))
        result = parse_scan_result(envelope.message, *envelope.fallback_id())
    except ScanMessageError:
        return
    assert isinstance(result, ScanResult)
    assert envelope.delivery in ("sqs", "sqs-raw")
    assert (envelope.topic_arn is None) == (envelope.delivery == "sqs-raw")


@FAST
@given(st.text())
@example('{"Type": "Notification"}')
@example('{"Type": "Notification", "Message": "{}", "TopicArn": "t", "MessageId": 1}')
@example('{"Type": ' + "[" * 5000 + "]" * 5000 + "}")
def test_any_sqs_body_parses_or_raises_scan_message_error(body: str) -> None:
    queue_body_parses_or_says_why(body)


@FAST
@given(
    base=st.sampled_from(["malicious", "clean", "incomplete", "failed"]),
    overrides=st.dictionaries(
        st.sampled_from(["Type", "Message", "TopicArn", "MessageId", "Subject"]),
        JSON_VALUES,
        max_size=3,
    ),
    raw=st.booleans(),
)
def test_almost_valid_sqs_bodies_parse_or_raise_scan_message_error(
    base: str, overrides: dict, raw: bool
) -> None:
    message = scan_message("uploads-bucket", "k", verdict=base)
    body = message if raw else sns_notification(message)
    body.update(overrides)
    queue_body_parses_or_says_why(json.dumps(body))


# Any S3 key (1-1024 UTF-8 bytes, no lone surrogates) and any valid DNS-style bucket name.
KEYS = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=200).filter(
    lambda key: len(key.encode("utf-8")) <= 1024
)
LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
BUCKETS = (
    st.lists(LABEL, min_size=1, max_size=4).map(".".join).filter(lambda name: 3 <= len(name) <= 63)
)


@settings(max_examples=400, deadline=None)
@given(
    key=KEYS,
    bucket=BUCKETS,
    form=st.sampled_from(sorted(URL_FORMS)),
    safe=st.sampled_from(["/", ""]),
)
@example(key="a+b c%2B/ü?#", bucket="my.dotted.bucket", form="virtual", safe="/")
@example(key="x", bucket="s3.s3-fips.s3", form="fips-dualstack", safe="")
@example(key="x", bucket="b.s3-us-west-2.s3.dualstack", form="legacy-dash-region", safe="")
def test_encoded_key_round_trips_through_every_url_form(
    key: str, bucket: str, form: str, safe: str
) -> None:
    url = URL_FORMS[form].format(b=bucket, k=encode_key(key, safe=safe), r="ap-southeast-2")
    assert parse_location(url) == (bucket, key)
