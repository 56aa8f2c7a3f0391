"""Parsing: SNS envelope, the scan-result message, URL forms and key encodings (pure)."""

from __future__ import annotations

import json
import tracemalloc
from decimal import Decimal

import pytest
from engine_kit import URL_FORMS, s3_url, scan_message, sns_notification, sns_record, sqs_record

from post_scan.message import (
    Finding,
    ScanMessageError,
    parse_envelope,
    parse_location,
    parse_record,
    parse_scan_result,
    parse_timestamp,
)

REAL_2020 = (
    '{"timestamp": 1600350791.98, "sqs_message_id": "c8e79806-1b39-4b6e-a8f1-6f1cf3a4b5c2", '
    '"file_url": "https://filestoragesecurity-scanning-bucket-gw6i2g.s3.amazonaws.com/'
    'eicarcom2.zip", "scanner_status": 0, "scanner_status_message": "successful scan", '
    '"scanning_result": {"TotalBytesOfFile": 308, "Findings": [{"malware": "Eicar_test_file", '
    '"type": "Virus"}], "Error": ""}}'
)


def parse(message: dict | str, sns_id: str = "sns-1"):
    body = message if isinstance(message, str) else json.dumps(message)
    return parse_scan_result(body, sns_id)


# --- envelope ---------------------------------------------------------------------------------


def test_envelope_of_a_lambda_sns_record() -> None:
    record = sns_record("{}", sns_message_id="sns-42")
    envelope = parse_envelope(record)
    assert envelope.message == "{}"
    assert envelope.sns_message_id == "sns-42"
    assert envelope.topic_arn == record["Sns"]["TopicArn"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.pop("Sns"),
        lambda r: r["Sns"].pop("Message"),
        lambda r: r["Sns"].update(Message={"a": 1}),
        lambda r: r["Sns"].pop("TopicArn"),
        lambda r: r["Sns"].update(TopicArn=""),
        lambda r: r["Sns"].pop("MessageId"),
        lambda r: r.update(Sns="not an object"),
    ],
)
def test_broken_envelope(mutate) -> None:
    record = sns_record("{}")
    mutate(record)
    with pytest.raises(ScanMessageError):
        parse_envelope(record)


@pytest.mark.parametrize("record", [None, "text", ["Sns"], 42])
def test_record_that_is_not_an_object(record) -> None:
    with pytest.raises(ScanMessageError, match="no Sns"):
        parse_envelope(record)


# --- the message ------------------------------------------------------------------------------


def test_real_2020_message() -> None:
    scan = parse(REAL_2020)
    assert scan.verdict == "malicious"
    assert scan.bucket == "filestoragesecurity-scanning-bucket-gw6i2g"
    assert scan.key == "eicarcom2.zip"
    assert scan.timestamp == Decimal("1600350791.98")  # no float rounding
    assert scan.message_id == "c8e79806-1b39-4b6e-a8f1-6f1cf3a4b5c2"
    assert scan.message_id_source == "sqs_message_id"
    assert [(f.malware, f.type) for f in scan.findings] == [("Eicar_test_file", "Virus")]
    assert scan.size == 308
    assert scan.etag is None
    assert scan.codes == ()


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ({}, "clean"),
        ({"scanning_result": {"Findings": [], "Codes": [101, 150]}}, "incomplete"),
        ({"scanning_result": {"Findings": [], "Codes": []}}, "clean"),
        ({"scanner_status": -1}, "unscanned"),
        ({"scanner_status": -2, "scanning_result": {"Findings": [], "Error": "x"}}, "failed"),
        ({"scanner_status": -3}, "unscanned"),
        ({"scanner_status": -4}, "unscanned"),
        ({"scanner_status": "-2"}, "failed"),
        ({"scanner_status": "0"}, "clean"),
        ({"scanner_status": -2, "scanning_result": {"Findings": [], "Codes": [101]}}, "failed"),
        ({"scanning_result": {"Findings": [{"malware": "X"}], "Codes": [101]}}, "malicious"),
        ({"scanner_status": -2, "scanning_result": {"Findings": [{"malware": "X"}]}}, "malicious"),
    ],
)
def test_verdict(changes: dict, verdict: str) -> None:
    message = scan_message("uploads-bucket", "k", verdict="clean")
    message.update(changes)
    scan = parse(message)
    assert scan.verdict == verdict
    assert scan.scanner_status == int(message["scanner_status"])


def test_finding_type_is_optional() -> None:
    message = scan_message("uploads-bucket", "k", scanning_result={"Findings": [{"malware": "M"}]})
    assert [(f.malware, f.type) for f in parse(message).findings] == [("M", None)]


def test_message_id_falls_back_to_the_sns_message_id() -> None:
    message = scan_message("uploads-bucket", "k")
    del message["sqs_message_id"]
    scan = parse(message, sns_id="sns-77")
    assert (scan.message_id, scan.message_id_source) == ("sns-77", "sns_message_id")


@pytest.mark.parametrize(
    ("attributes", "etag"),
    [
        ({"etag": '"44d88612fea8a8f36de82e1278abb02f"'}, "44d88612fea8a8f36de82e1278abb02f"),
        ({"etag": "0b1ff1e9b24d5e0f8fad4b4e59a5a6e7-3"}, "0b1ff1e9b24d5e0f8fad4b4e59a5a6e7-3"),
        ({"etag": ""}, None),
        ({"etag": '""'}, None),
        ({"etag": 5}, None),
        ({}, None),
        ("not an object", None),
    ],
)
def test_etag(attributes, etag) -> None:
    message = scan_message("uploads-bucket", "k", file_attributes=attributes)
    assert parse(message).etag == etag


@pytest.mark.parametrize(("size", "expected"), [(0, 0), (308, 308), (-1, None), ("9", None)])
def test_size(size, expected) -> None:
    message = scan_message("uploads-bucket", "k")
    message["scanning_result"]["TotalBytesOfFile"] = size
    assert parse(message).size == expected


# --- timestamps -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1600424846.74, Decimal("1600424846.74")),
        (1600424846, Decimal(1600424846)),
        ("1600424846.74", Decimal("1600424846.74")),
        ("2020-09-18T10:27:26.740Z", Decimal("1600424846.74")),
        ("2020-09-18T10:27:26.74+00:00", Decimal("1600424846.74")),
        ("2020-09-18T12:27:26.74+02:00", Decimal("1600424846.74")),
        ("2020-09-18T10:27:26.74", Decimal("1600424846.74")),  # naive = UTC
        ("2020-09-18 10:27:26", Decimal(1600424846)),
    ],
)
def test_timestamp_forms(raw, expected) -> None:
    message = scan_message("uploads-bucket", "k", timestamp=raw)
    assert parse(message).timestamp == expected


@pytest.mark.parametrize(
    "raw",
    ["yesterday", "", -5, 0, True, None, [], {}, "1e5", "NaN", "Infinity", 1e300, "99999-01-01"],
)
def test_bad_timestamp(raw) -> None:
    message = scan_message("uploads-bucket", "k")
    message["timestamp"] = raw
    with pytest.raises(ScanMessageError, match="timestamp"):
        parse(message)


def test_missing_timestamp() -> None:
    message = scan_message("uploads-bucket", "k")
    del message["timestamp"]
    with pytest.raises(ScanMessageError, match="timestamp"):
        parse(message)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_are_not_numbers(constant: str) -> None:
    body = json.dumps(scan_message("uploads-bucket", "k", timestamp=1.5)).replace("1.5", constant)
    with pytest.raises(ScanMessageError):
        parse(body)


def test_timestamp_function_directly() -> None:
    assert parse_timestamp(Decimal("1600424846.5")) == Decimal("1600424846.5")
    with pytest.raises(ScanMessageError):
        parse_timestamp(Decimal("sNaN"))


NOW = 1_714_564_800  # 2024-05-01T12:00:00Z


@pytest.mark.parametrize(
    "raw",
    [
        "2015-01-01T00:00:00Z",
        1420070400,
        NOW + 86400,
        "2024-05-02T12:00:00Z",
        Decimal("1714564830.123456789012345678901234567"),  # 37 digits
        Decimal("17145648301E-1"),
    ],
)
def test_plausible_scan_times_are_accepted(raw) -> None:
    assert parse_timestamp(raw, now=NOW) > 0


@pytest.mark.parametrize(
    "raw",
    [
        "2014-12-31T23:59:59Z",
        1420070399,
        NOW + 86401,
        "2024-05-02T12:00:01Z",
        "9999-12-31T23:59:59Z",
        253402300799,
        Decimal("1e-60000000"),
        Decimal("1.7e9999999"),
        Decimal("1714564830.12345678901234567890123456789"),  # 39 digits: no DynamoDB number
        Decimal("Infinity"),
        Decimal("NaN"),
        10**4000,
    ],
)
def test_implausible_scan_times_are_refused(raw) -> None:
    with pytest.raises(ScanMessageError, match="timestamp is out of range"):
        parse_timestamp(raw, now=NOW)


def test_a_huge_exponent_is_refused_without_being_expanded() -> None:
    """Issue 10 item 7: 1e-60000000 would be a 60-million-character number once written."""
    body = json.dumps(scan_message("uploads-bucket", "k", timestamp=0))
    body = body.replace('"timestamp": 0', '"timestamp": 1e-60000000')
    assert "1e-60000000" in body
    tracemalloc.start()
    try:
        with pytest.raises(ScanMessageError, match="timestamp is out of range"):
            parse(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_codes_must_be_64_bit_integers() -> None:
    message = scan_message("uploads-bucket", "k", verdict="incomplete")
    message["scanning_result"]["Codes"] = [10**30]
    with pytest.raises(ScanMessageError, match="Codes"):
        parse(message)


# --- not a scan result ------------------------------------------------------------------------


STR_DICT_LOOKALIKE = str(
    {
        "file_url": "https://uploads-bucket.s3.amazonaws.com/a.txt",
        "scanner_status": 0,
        "scanning_result": {"foundMalwares": [{"fileName": "a.txt", "malwareName": "Eicar"}]},
    }
)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("not json", "not JSON"),
        ("", "not JSON"),
        (STR_DICT_LOOKALIKE, "not JSON"),
        ('["a list"]', "not a JSON object"),
        ('"a string"', "not a JSON object"),
        ("null", "not a JSON object"),
        ("[" * 100_000, "not JSON"),
    ],
)
def test_not_json_objects(body: str, match: str) -> None:
    with pytest.raises(ScanMessageError, match=match):
        parse(body)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        # The SDK sample look-alike, but as JSON: no Findings, so not a scan result.
        ({"scanning_result": {"foundMalwares": [{"malwareName": "Eicar"}]}}, "Findings"),
        ({"scanning_result": None}, "scanning_result"),
        ({"scanning_result": "clean"}, "scanning_result"),
        ({"scanning_result": {"Findings": "Eicar"}}, "Findings"),
        ({"scanning_result": {"Findings": [{"name": "Eicar"}]}}, "malware"),
        ({"scanning_result": {"Findings": ["Eicar"]}}, "malware"),
        ({"scanning_result": {"Findings": [{"malware": "E", "type": 3}]}}, "type"),
        ({"scanning_result": {"Findings": [], "Codes": ["101"]}}, "Codes"),
        ({"scanning_result": {"Findings": [], "Codes": [True]}}, "Codes"),
        ({"scanning_result": {"Findings": [], "Codes": 101}}, "Codes"),
        ({"scanner_status": True}, "scanner_status"),
        ({"scanner_status": None}, "scanner_status"),
        ({"scanner_status": "ok"}, "scanner_status"),
        ({"scanner_status": 0.0}, "scanner_status"),
        ({"file_url": None}, "location"),
        ({"file_url": ""}, "location"),
    ],
)
def test_wrong_shapes(changes: dict, match: str) -> None:
    message = scan_message("uploads-bucket", "k")
    message.update(changes)
    with pytest.raises(ScanMessageError, match=match):
        parse(message)


def test_missing_status() -> None:
    message = scan_message("uploads-bucket", "k")
    del message["scanner_status"]
    with pytest.raises(ScanMessageError, match="scanner_status"):
        parse(message)


# Lone surrogates (the JSON escape "\ud800" decodes to one): identifying text is refused, text
# that only describes is repaired (U+FFFD), so a malicious verdict is never lost over it.
LONE = "\\ud800"  # as it appears in the JSON text


@pytest.mark.parametrize(
    ("path", "what"),
    [
        (("sqs_message_id",), "sqs_message_id"),
        (("file_attributes", "etag"), "etag"),
        (("file_url",), "key"),
    ],
)
def test_identifying_text_that_is_not_valid_unicode_is_refused(path: tuple, what: str) -> None:
    message = scan_message("uploads-bucket", "k", etag="abc")
    target = message
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = target[path[-1]] + "@@LONE@@"
    body = json.dumps(message).replace("@@LONE@@", LONE)
    with pytest.raises(ScanMessageError, match="not valid U"):
        parse(body)


@pytest.mark.parametrize("field", ["TopicArn", "MessageId"])
def test_an_envelope_naming_itself_in_invalid_unicode_is_refused(field: str) -> None:
    notification = sns_notification(scan_message("uploads-bucket", "k"))
    notification[field] += "@@LONE@@"
    record = sqs_record(json.dumps(notification).replace("@@LONE@@", LONE))
    with pytest.raises(ScanMessageError, match=f"body.{field} is not valid Unicode"):
        parse_record(record)


def test_descriptions_that_are_not_valid_unicode_are_repaired() -> None:
    message = scan_message("uploads-bucket", "k")
    message["scanning_result"]["Findings"] = [{"malware": "Eicar@@LONE@@", "type": "V@@LONE@@"}]
    message["scanner_status"] = -2
    message["scanner_status_message"] = "bad @@LONE@@ scan"
    message["file_name"] = "f@@LONE@@.exe"
    message["scanning_result"]["Error"] = {"e@@LONE@@": ["\U0001f600", "x@@LONE@@"]}
    result = parse(json.dumps(message, ensure_ascii=False).replace("@@LONE@@", LONE))
    assert result.verdict == "malicious"
    assert result.findings == (Finding("Eicar\ufffd", "V\ufffd"),)
    assert result.scanner_status_message == "bad \ufffd scan"
    assert result.file_name == "f\ufffd.exe"
    assert result.scan_error == 'bad \ufffd scan: {"e\ufffd": ["\U0001f600", "x\ufffd"]}'


def test_a_scan_error_string_that_is_not_valid_unicode_is_repaired() -> None:
    message = scan_message("uploads-bucket", "k", verdict="failed")
    message["scanning_result"]["Error"] = "timeout @@LONE@@"
    result = parse(json.dumps(message).replace("@@LONE@@", LONE))
    assert result.scan_error == "unsuccessful scan: timeout \ufffd"


# --- location: URL forms and key encodings ----------------------------------------------------

KEYS = [
    "eicarcom2.zip",
    "folder/sub folder/file name.txt",
    "a+b.txt",
    "100% sure.txt",
    "ünïcödé/日本語 ファイル.pdf",
    "emoji 😀.bin",
    "literal?query#fragment&x=1.txt",
    "percent%2Bencoded-looking.txt",
    "/leading-slash",
    "trailing/",
    "semi;colon,comma'quote\"dq",
]
BUCKETS = ["uploads-bucket", "my.dotted.bucket", "a.s3.bucket"]


@pytest.mark.parametrize("form", URL_FORMS)
@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("bucket", BUCKETS)
def test_every_url_form_and_key_encoding(form: str, key: str, bucket: str) -> None:
    assert parse_location(s3_url(bucket, key, form)) == (bucket, key)


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://uploads-bucket.s3.amazonaws.com/my+file.txt", "my file.txt"),
        ("https://uploads-bucket.s3.amazonaws.com/my%20file.txt", "my file.txt"),
        ("https://uploads-bucket.s3.amazonaws.com/a%2Bb.txt", "a+b.txt"),
        ("https://uploads-bucket.s3.amazonaws.com/100%25.txt", "100%.txt"),
        ("https://uploads-bucket.s3.amazonaws.com/caf%C3%A9.txt", "café.txt"),
        ("https://uploads-bucket.s3.amazonaws.com/dir%2Ffile", "dir/file"),
        ("https://uploads-bucket.s3.amazonaws.com/a?b#c", "a?b#c"),
        ("https://uploads-bucket.s3.amazonaws.com/raw café", "raw café"),
        ("HTTPS://Uploads-Bucket.S3.Amazonaws.COM/Key.TXT", "Key.TXT"),
    ],
)
def test_key_decoding(url: str, key: str) -> None:
    assert parse_location(url) == ("uploads-bucket", key)


def test_path_style_keeps_legacy_bucket_case() -> None:
    assert parse_location("https://s3.amazonaws.com/Legacy_Bucket/k") == ("Legacy_Bucket", "k")


def test_bucket_field_is_preferred_and_must_agree() -> None:
    url = s3_url("my.dotted.bucket", "k", "virtual-region")
    assert parse_location(url, "my.dotted.bucket") == ("my.dotted.bucket", "k")
    with pytest.raises(ScanMessageError, match="inconsistent"):
        parse_location(url, "other-bucket")
    with pytest.raises(ScanMessageError, match="inconsistent"):
        parse_location(s3_url("my.dotted.bucket", "k", "path"), "other-bucket")


def test_bucket_field_with_an_unknown_host() -> None:
    assert parse_location("https://minio.internal:9000/uploads-bucket/a+b", "uploads-bucket") == (
        "uploads-bucket",
        "a b",
    )
    assert parse_location("https://cdn.example.com/files/a.txt", "uploads-bucket") == (
        "uploads-bucket",
        "files/a.txt",
    )


def test_vision_one_message_uses_the_bucket_field() -> None:
    message = scan_message("my.dotted.bucket", "x y", bucket_field=True, url_form="path")
    scan = parse(message)
    assert (scan.bucket, scan.key) == ("my.dotted.bucket", "x y")


@pytest.mark.parametrize(
    ("url", "bucket", "match"),
    [
        ("https://example.com/uploads-bucket/k", None, "not an S3 URL"),
        ("https://uploads-bucket.s3.amazonaws.com/", None, "no object key"),
        ("https://uploads-bucket.s3.amazonaws.com", None, "no object key"),
        ("https://s3.amazonaws.com/uploads-bucket", None, "no object key"),
        ("https://s3.amazonaws.com/", None, "no bucket"),
        ("https://uploads-bucket.s3.amazonaws.com/%C3%28", None, "UTF-8"),
        ("https://uploads-bucket.s3.amazonaws.com/" + "k" * 1025, None, "1024"),
        ("ftp://uploads-bucket/k", None, "scheme"),
        ("uploads-bucket/k", None, "not a URL"),
        ("https://user@uploads-bucket.s3.amazonaws.com/k", None, "bad host"),
        ("https://UP_LOADS.s3.amazonaws.com/k", None, "bad bucket"),
        ("https://uploads-bucket.s3.amazonaws.com/k", "bad/bucket", "bucket"),
        (42, None, "file_url"),
    ],
)
def test_unusable_locations(url, bucket, match) -> None:
    with pytest.raises(ScanMessageError, match=match):
        parse_location(url, bucket)
