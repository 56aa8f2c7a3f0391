"""Pure parsing: Lambda event -> records, SNS, SQS or EventBridge record -> Envelope, scan-result
JSON -> ScanResult, S3 URL -> bucket/key. (GuardDuty's events are read by post_scan.guardduty.)

Every problem with the input raises ScanMessageError and nothing else: a message that is not a
well-formed scan result must fail loudly, never be mistaken for a clean file.

No invalid Unicode gets into an Envelope or a ScanResult (JSON escapes such as "\\ud800" decode
to lone surrogates, which no AWS call, notification or log reader accepts). Text that identifies
something (topic ARN, message ids, key, ETag) is refused with ScanMessageError when it holds one:
it would name nothing that exists. Text that only describes (malware names and types, file name,
scanner status message, scan error, nested JSON in the scan error) has each lone surrogate
replaced by U+FFFD instead: a malicious verdict is never lost over a garbled description.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_plus

from post_scan.valid_text import repaired

SNS = "sns"  # SNS invoked the function
SQS = "sqs"  # SQS record whose body is the SNS notification (raw message delivery off)
SQS_RAW = "sqs-raw"  # SQS record whose body is the scan result itself (topic unknown)
EVENTBRIDGE = "eventbridge"  # an EventBridge rule invoked the function with the event
SQS_EVENTBRIDGE = "sqs-eventbridge"  # SQS record whose body is an EventBridge event (a rule's)

# The field of an SNS notification (a queued body, or a replayed Lambda SNS record) that carries
# the rows a final receive left to a replay (post_scan.pending).
PENDING_FIELD = "PostScanPending"

# ScanResult.scanner values.
FSS = "fss"
GUARDDUTY = "guardduty"

MALICIOUS = "malicious"
CLEAN = "clean"
INCOMPLETE = "incomplete"
FAILED = "failed"
UNSCANNED = "unscanned"

# The `type` of a scan result (message field on Vision One, SNS message attribute on the account
# scanner's topic): anything else published on the topic is not a scan result.
SCAN_RESULT_TYPE = "scan-result"
# scanner_status values that say nothing about the file: -1 invalid licence, -3 scanner error,
# -4 unsuccessful scanner invocation (timeout, throttling). -2 (unsuccessful scan) is the file's.
UNSCANNED_STATUSES = frozenset({-1, -3, -4})
# Longest scan_error kept (log line and row); the rest is cut, ending in "...".
MAX_SCAN_ERROR = 1000

# Scan times accepted: from 2015-01-01 (before File Storage Security existed) to a day from now.
EARLIEST_SCAN = Decimal(1420070400)
LATEST_SCAN_AHEAD = 86400
# DynamoDB numbers keep 38 significant digits; epoch seconds in range have 10 integer digits.
_MAX_TIMESTAMP_DIGITS = 38
# Codes are small integers; one with thousands of digits is not a scan result (nor a DynamoDB N).
_MAX_CODE = 2**63
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMERIC = re.compile(r"\d+(\.\d+)?")
_INTEGER = re.compile(r"-?\d{1,10}")
_MAX_KEY_BYTES = 1024

_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
_ENDPOINT = (
    r"s3(?:"
    r"-external-1"
    r"|-accelerate(?:\.dualstack)?"
    rf"|[.-]{_REGION}"
    rf"|-fips(?:\.dualstack)?\.{_REGION}"
    rf"|\.dualstack\.{_REGION}"
    r")?\.amazonaws\.com(?:\.cn)?"
)
# Greedy bucket part: no valid endpoint is a dot-suffix of another one, so the longest bucket
# that leaves a valid endpoint is the only parse (bucket names may contain dots).
_S3_HOST = re.compile(r"(?:(?P<bucket>.+)\.)?" + _ENDPOINT)
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/]*)(?P<path>/.*)?", re.S)
_AUTHORITY = re.compile(r"(?P<host>[^:@]*)(?::\d*)?")
_DNS_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION_NAME = re.compile(_REGION)
# The region an S3 host names (s3.REGION, s3-REGION, s3-fips.REGION, dualstack.REGION), if any.
_HOST_REGION = re.compile(
    r"(?:^|\.)s3(?:[.-]|-fips\.)(?:dualstack\.)?(" + _REGION + r")\.amazonaws"
)
_ANY_BUCKET = re.compile(r"[A-Za-z0-9._-]{3,255}")


class ScanMessageError(ValueError):
    """The record or message is not a usable scan result."""


class NotAScanResult(ScanMessageError):
    """A message that says it is something other than a scan result (its `type`)."""


class EventError(ScanMessageError):
    """The event as a whole is unusable: no records, mixed SNS/SQS, a SQS record without id."""


@dataclass(frozen=True)
class Envelope:
    """One record unwrapped: the scanner's message and how it was delivered."""

    message: str
    topic_arn: str | None  # None: raw queue delivery, the topic is unknown
    sns_message_id: str | None
    delivery: str = SNS
    queue_message_id: str | None = None
    receive_count: int | None = None
    # The `type` message attribute, when the publisher set one (the account scanner does).
    message_type: str | None = None
    # EVENTBRIDGE / SQS_EVENTBRIDGE: the EventBridge event (message is then empty).
    event: dict[str, Any] | None = None

    @property
    def from_eventbridge(self) -> bool:
        return self.event is not None

    # The SNS notification a queued record's body holds (None: SNS invoked, or raw delivery).
    notification: dict[str, Any] | None = None
    # PostScanPending: rows a final receive left to a replay (post_scan.pending); never set by
    # SNS, only by this function (or whoever can send to its queues or invoke it).
    pending: Any = None

    def fallback_id(self) -> tuple[str, str]:
        """The delivery's id and its name, for a scan result without its own sqs_message_id."""
        if self.sns_message_id:
            return self.sns_message_id, "sns_message_id"
        if self.queue_message_id:
            return self.queue_message_id, "queue_message_id"
        raise ScanMessageError("the record carries no message id")


@dataclass(frozen=True)
class QueueRecord:
    """What a SQS record says about itself, read without judging its body."""

    message_id: str | None
    receive_count: int | None


def event_records(event: Any) -> tuple[str, list[Any]]:
    """(SNS, SQS or EVENTBRIDGE, the records) of a Lambda event; EventError when it cannot be
    handled at all. An EventBridge event (a rule's direct target) is one record: itself.

    Every record of a SQS event must be a SQS record with a messageId: a partial batch response
    can only name a failed record by that id.
    """
    if isinstance(event, dict) and "Records" not in event and is_eventbridge_event(event):
        return EVENTBRIDGE, [event]
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise EventError("event has no Records list")
    queued = [is_queue_record(record) for record in records]
    if not any(queued):
        return SNS, records
    if not all(queued):
        raise EventError("event mixes SQS records with other (SNS) records")
    for index, record in enumerate(records):
        if queue_record(record).message_id is None:
            raise EventError(f"SQS record {index} has no messageId: cannot report it alone")
    return SQS, records


def is_queue_record(record: Any) -> bool:
    return isinstance(record, dict) and record.get("eventSource") == "aws:sqs"


def is_eventbridge_event(data: Any) -> bool:
    """An EventBridge event as a rule delivers it (whatever its source): the guard decides."""
    return isinstance(data, dict) and "detail-type" in data and "source" in data


def queue_record(record: Any) -> QueueRecord:
    """messageId and attributes.ApproximateReceiveCount (an int when usable); never raises."""
    fields = record if isinstance(record, dict) else {}
    message_id = fields.get("messageId")
    attributes = fields.get("attributes")
    count = attributes.get("ApproximateReceiveCount") if isinstance(attributes, dict) else None
    if isinstance(count, str) and count.isascii() and count.isdigit() and len(count) < 10:
        count = int(count)
    return QueueRecord(
        message_id=message_id if isinstance(message_id, str) and message_id else None,
        receive_count=count if _is_int(count) else None,
    )


def parse_record(record: Any) -> Envelope:
    """One entry of event["Records"], from SNS or from SQS, or an EventBridge event."""
    if is_queue_record(record):
        return parse_queue_envelope(record)
    if is_eventbridge_event(record):
        return Envelope(
            message="", topic_arn=None, sns_message_id=None, delivery=EVENTBRIDGE, event=record
        )
    return parse_envelope(record)


@dataclass(frozen=True)
class Finding:
    """One piece of malware the scanner named."""

    malware: str
    type: str | None


@dataclass(frozen=True)
class ScanResult:
    """One scan result, whichever scanner sent it (parsed at the edge)."""

    message_id: str
    message_id_source: str  # "sqs_message_id", else "sns_message_id" or "queue_message_id"
    timestamp: Decimal  # epoch seconds, full precision
    bucket: str
    key: str
    verdict: str
    scanner_status: int
    findings: tuple[Finding, ...]
    codes: tuple[int, ...]
    etag: str | None  # without surrounding quotes
    size: int | None
    # When the scan began (newer scanners); `timestamp` is then when the result was published.
    scan_started: Decimal | None = None
    # scanner_status_message (when the status is not 0) and scanning_result.Error, joined.
    scan_error: str | None = None
    bucket_region: str | None = None
    file_name: str | None = None
    scanner_status_message: str | None = None
    # Which scanner spoke (FSS = File Storage Security, GUARDDUTY = GuardDuty Malware Protection).
    scanner: str = FSS
    # The exact version scanned, when the scanner names it (GuardDuty); None: not named.
    version_id: str | None = None


def parse_envelope(record: Any) -> Envelope:
    """One entry of event["Records"] as Lambda receives it from SNS."""
    sns = record.get("Sns") if isinstance(record, dict) else None
    if not isinstance(sns, dict):
        raise ScanMessageError("record has no Sns object")
    message, topic, message_id = _notification_fields(sns, "Sns")
    return Envelope(
        message=message,
        topic_arn=topic,
        sns_message_id=message_id,
        message_type=_attribute_type(sns.get("MessageAttributes"), "Value"),
        pending=sns.get(PENDING_FIELD),
    )


def _attribute_type(attributes: Any, value_name: str) -> str | None:
    """The string value of the `type` message attribute (Value in SNS, stringValue in SQS)."""
    entry = attributes.get("type") if isinstance(attributes, dict) else None
    value = entry.get(value_name) if isinstance(entry, dict) else None
    return value if isinstance(value, str) else None


def _notification_fields(notification: dict[str, Any], where: str) -> tuple[str, str, str]:
    """Message, TopicArn and MessageId of an SNS notification, checked."""
    message = notification.get("Message")
    topic, message_id = notification.get("TopicArn"), notification.get("MessageId")
    if not isinstance(message, str):
        raise ScanMessageError(f"{where}.Message is missing or not a string")
    if not isinstance(topic, str) or not topic:
        raise ScanMessageError(f"{where}.TopicArn is missing")
    if not isinstance(message_id, str) or not message_id:
        raise ScanMessageError(f"{where}.MessageId is missing")
    return message, _text(topic, f"{where}.TopicArn"), _text(message_id, f"{where}.MessageId")


def parse_queue_envelope(record: Any) -> Envelope:
    """A SQS record: its body is an SNS notification, an EventBridge event (a rule's target), or
    (raw message delivery) the message."""
    meta = queue_record(record)
    if meta.message_id is None:
        raise ScanMessageError("SQS record has no messageId")
    body = record.get("body") if isinstance(record, dict) else None
    if not isinstance(body, str):
        raise ScanMessageError("SQS record body is missing or not a string")
    data = _json_object(body)
    notification = data if data is not None and data.get("Type") == "Notification" else None
    if notification is None and is_eventbridge_event(data):
        return Envelope(
            message="",
            topic_arn=None,
            sns_message_id=None,
            delivery=SQS_EVENTBRIDGE,
            queue_message_id=meta.message_id,
            receive_count=meta.receive_count,
            event=data,
        )
    message, delivery = body, SQS_RAW
    topic: str | None = None
    message_id: str | None = None
    # Raw delivery: SNS message attributes become the SQS message's attributes.
    message_type = _attribute_type(record.get("messageAttributes"), "stringValue")
    if notification is not None:
        message, topic, message_id = _notification_fields(notification, "body")
        message_type = _attribute_type(notification.get("MessageAttributes"), "Value")
        delivery = SQS
    return Envelope(
        message=message,
        topic_arn=topic,
        sns_message_id=message_id,
        delivery=delivery,
        queue_message_id=meta.message_id,
        receive_count=meta.receive_count,
        message_type=message_type,
        notification=notification,
        pending=notification.get(PENDING_FIELD) if notification is not None else None,
    )


def _json_object(body: str) -> dict[str, Any] | None:
    """The JSON object a body holds (an SNS notification, an EventBridge event or a raw scan
    result), or None when it holds no JSON object."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def parse_scan_result(
    message: str,
    fallback_id: str,
    fallback_source: str = "sns_message_id",
    now: float | None = None,
) -> ScanResult:
    """Validate the JSON scan result published by File Storage Security.

    Its own sqs_message_id identifies it; without one, `fallback_id` (the delivery's id) does.
    `now` (epoch seconds, default the current time) bounds the scan time it may claim.
    """
    data = _load_json(message)
    kind = data.get("type")
    if kind is not None and kind != SCAN_RESULT_TYPE:
        raise NotAScanResult(f"type is {_short(kind)}, not {SCAN_RESULT_TYPE!r}")
    result = data.get("scanning_result")
    if not isinstance(result, dict):
        raise ScanMessageError("not a scan result: no scanning_result object")
    findings = _findings(result.get("Findings"))
    codes = _codes(result.get("Codes"))
    status = _status(data.get("scanner_status"))
    bucket, key = parse_location(data.get("file_url"), data.get("bucket"))
    region = _bucket_region(data.get("bucket_region"), data.get("file_url"))
    timestamp = parse_timestamp(data.get("timestamp"), now)
    started = _scan_started(data.get("scan_start_timestamp"), timestamp)
    status_message = _description(data.get("scanner_status_message"), "scanner_status_message")
    message_id, id_source = fallback_id, fallback_source
    if isinstance(data.get("sqs_message_id"), str) and data["sqs_message_id"]:
        message_id, id_source = _text(data["sqs_message_id"], "sqs_message_id"), "sqs_message_id"
    return ScanResult(
        message_id=message_id,
        message_id_source=id_source,
        timestamp=timestamp,
        bucket=bucket,
        key=key,
        verdict=_verdict(findings, status, codes),
        scanner_status=status,
        findings=findings,
        codes=codes,
        etag=_etag(data.get("file_attributes")),
        size=_size(result.get("TotalBytesOfFile")),
        scan_started=started,
        scan_error=_scan_error(status, status_message, result.get("Error")),
        bucket_region=region,
        file_name=_description(data.get("file_name"), "file_name"),
        scanner_status_message=status_message,
    )


def _load_json(message: str) -> dict[str, Any]:
    try:
        data = json.loads(message, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        raise ScanMessageError(f"message is not JSON: {_short(message)}") from exc
    if not isinstance(data, dict):
        raise ScanMessageError(f"message is not a JSON object: {_short(message)}")
    return data


def _verdict(findings: tuple[Finding, ...], status: int, codes: tuple[int, ...]) -> str:
    if findings:
        return MALICIOUS
    if status in UNSCANNED_STATUSES:
        return UNSCANNED
    if status != 0:
        return FAILED
    return INCOMPLETE if codes else CLEAN


def _scan_started(value: Any, published: Decimal) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        started = parse_timestamp(value)
    except ScanMessageError as exc:
        raise ScanMessageError(f"scan_start_{exc}") from exc
    if started > published:
        raise ScanMessageError(
            f"inconsistent message: scan_start_timestamp {started} is after timestamp {published}"
        )
    return started


def _description(value: Any, what: str) -> str | None:
    """An optional descriptive string of the message, lone surrogates replaced."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ScanMessageError(f"{what} is not a string: {_short(value)}")
    return repaired(value)


def _scan_error(status: int, status_message: str | None, error: Any) -> str | None:
    """What went wrong, in the scanner's words: its status message (status not 0), then Error."""
    parts = []
    if status != 0 and status_message and status_message.strip():
        parts.append(status_message.strip())
    if isinstance(error, str) and error.strip():
        parts.append(repaired(error.strip()))
    elif error not in (None, ""):  # an object, a number...: its JSON, strings and keys repaired
        parts.append(repaired(json.dumps(error, default=str, ensure_ascii=False)))
    text = ": ".join(parts)
    if len(text) > MAX_SCAN_ERROR:
        text = text[: MAX_SCAN_ERROR - 3] + "..."
    return text or None


def _bucket_region(value: Any, file_url: Any) -> str | None:
    """bucket_region when given: a region name that agrees with the region file_url names."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _REGION_NAME.fullmatch(value):
        raise ScanMessageError(f"bucket_region is not a region name: {_short(value)}")
    match = _URL.fullmatch(file_url) if isinstance(file_url, str) else None
    host = _AUTHORITY.fullmatch(match["authority"]) if match else None
    named = _HOST_REGION.search(host["host"].lower()) if host else None
    if named is not None and named.group(1) != value:
        raise ScanMessageError(
            f"inconsistent message: bucket_region {value!r} but file_url names {named.group(1)!r}"
        )
    return value


def _findings(value: Any) -> tuple[Finding, ...]:
    if not isinstance(value, list):
        raise ScanMessageError("not a scan result: scanning_result.Findings is not a list")
    findings = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("malware"), str):
            raise ScanMessageError("scanning_result.Findings item has no string 'malware'")
        kind = item.get("type")
        if kind is not None and not isinstance(kind, str):
            raise ScanMessageError("scanning_result.Findings item has a non-string 'type'")
        malware = repaired(item["malware"])
        findings.append(Finding(malware=malware, type=None if kind is None else repaired(kind)))
    return tuple(findings)


def _codes(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        _is_int(code) and -_MAX_CODE < code < _MAX_CODE for code in value
    ):
        raise ScanMessageError("scanning_result.Codes is not a list of (64-bit) integers")
    return tuple(value)


def _status(value: Any) -> int:
    if _is_int(value):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise ScanMessageError(f"scanner_status is missing or not an integer: {_short(value)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _etag(value: Any) -> str | None:
    etag = value.get("etag") if isinstance(value, dict) else None
    if isinstance(etag, str) and etag.strip('"'):
        return _text(etag.strip('"'), "etag")
    return None


def _size(value: Any) -> int | None:
    return value if _is_int(value) and value >= 0 else None


def _text(value: str, what: str) -> str:
    """Identifying text: refused when it is not valid Unicode (it would name nothing)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ScanMessageError(f"{what} is not valid Unicode (a lone surrogate)") from exc
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def parse_timestamp(value: Any, now: float | None = None) -> Decimal:
    """Epoch seconds (number or numeric string) or an ISO-8601 string (naive = UTC).

    Only a plausible scan time is accepted: finite, from 2015-01-01 to a day after `now`, with at
    most 38 significant digits. The checks look at the number's digits and exponent first, so a
    value such as 1e-60000000 is refused without ever being expanded.
    """
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        seconds = Decimal(value)
    elif isinstance(value, str) and _NUMERIC.fullmatch(value.strip()):
        seconds = Decimal(value.strip())
    elif isinstance(value, str):
        seconds = _iso_seconds(value.strip())
    else:
        raise ScanMessageError(f"timestamp is missing or not a time: {_short(value)}")
    latest = Decimal(int(time.time() if now is None else now) + LATEST_SCAN_AHEAD)
    # Epoch seconds from 2015 to 2286 have exactly 10 integer digits: adjusted() == 9.
    plausible = (
        seconds.is_finite()
        and seconds.adjusted() == 9
        and len(seconds.as_tuple().digits) <= _MAX_TIMESTAMP_DIGITS
    )
    if not (plausible and EARLIEST_SCAN <= seconds <= latest):
        raise ScanMessageError(
            f"timestamp is out of range (2015-01-01 to a day from now): {_short(value)}"
        )
    return seconds


def _iso_seconds(value: str) -> Decimal:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ScanMessageError(f"timestamp is not a time: {_short(value)}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return epoch_seconds(moment)


def epoch_seconds(moment: datetime) -> Decimal:
    """Exact epoch seconds of an aware datetime (no float rounding)."""
    delta = moment - _EPOCH
    whole = Decimal(delta.days * 86400 + delta.seconds)
    return whole + Decimal(delta.microseconds) / Decimal(1_000_000) if delta.microseconds else whole


def parse_location(file_url: Any, bucket_field: Any = None) -> tuple[str, str]:
    """Bucket and decoded key from `file_url`, preferring the message's `bucket` field."""
    bucket = bucket_field if isinstance(bucket_field, str) and bucket_field else None
    if bucket is not None and not _ANY_BUCKET.fullmatch(bucket):
        raise ScanMessageError(f"bucket is not a bucket name: {_short(bucket)}")
    if not isinstance(file_url, str) or not file_url:
        raise ScanMessageError("no usable location: file_url is missing")
    match = _URL.fullmatch(file_url)
    if not match:
        raise ScanMessageError(f"no usable location: file_url is not a URL: {_short(file_url)}")
    scheme = match["scheme"].lower()
    path = match["path"] or ""
    if scheme == "s3":
        url_bucket, raw_key = match["authority"], path[1:]
    elif scheme in ("http", "https"):
        url_bucket, raw_key = _http_location(match["authority"], path, bucket, file_url)
    else:
        raise ScanMessageError(f"no usable location: unsupported URL scheme {scheme!r}")
    if bucket is not None and url_bucket is not None and url_bucket != bucket:
        raise ScanMessageError(
            f"inconsistent message: bucket {bucket!r} but file_url names {url_bucket!r}"
        )
    bucket = bucket or url_bucket
    if bucket is None or not _ANY_BUCKET.fullmatch(bucket):
        raise ScanMessageError(f"no usable location: no bucket in {_short(file_url)}")
    return bucket, _decode_key(raw_key)


def _http_location(
    authority: str, path: str, bucket: str | None, file_url: str
) -> tuple[str | None, str]:
    authority_match = _AUTHORITY.fullmatch(authority)
    if not authority_match:
        raise ScanMessageError(f"no usable location: bad host in {_short(file_url)}")
    host = _S3_HOST.fullmatch(authority_match["host"].lower())
    if host is not None and host["bucket"] is not None:
        if not _DNS_BUCKET.fullmatch(host["bucket"]):
            raise ScanMessageError(f"no usable location: bad bucket in {_short(file_url)}")
        return host["bucket"], path[1:]
    if host is not None:  # path-style: /<bucket>/<key>
        url_bucket, _, raw_key = path[1:].partition("/")
        return url_bucket, raw_key
    if bucket is None:
        raise ScanMessageError(f"no usable location: not an S3 URL: {_short(file_url)}")
    # Unknown host (custom endpoint): trust the bucket field, accept an optional /<bucket>/.
    prefix = f"/{bucket}/"
    return None, path[len(prefix) :] if path.startswith(prefix) else path[1:]


def _decode_key(raw_key: str) -> str:
    """Decode the way S3 event notifications encode keys ('+' is a space, %2B a plus)."""
    try:
        key = unquote_plus(raw_key, errors="strict")
        size = len(key.encode("utf-8"))
    except UnicodeError as exc:
        raise ScanMessageError("no usable location: key is not valid UTF-8") from exc
    if not key:
        raise ScanMessageError("no usable location: file_url has no object key")
    if size > _MAX_KEY_BYTES:
        raise ScanMessageError("no usable location: key is longer than 1024 bytes")
    return key
