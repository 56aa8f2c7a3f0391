"""Builders for engine tests: scan-result messages, Lambda SNS and SQS events, S3 URLs, uploads."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus, urlencode

from emulator import fss

REGION = "us-east-1"
ACCOUNT = "123456789012"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:fss-stack-ScanResultTopic-1A2B3C4D5E6F"
OTHER_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:someone-elses-topic"
SNS_ENDPOINT = f"https://sns.{REGION}.amazonaws.com"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fss-post-scan"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:fss-post-scan-delivery"

# Upload time of test objects (moto's S3 clock is pinned to it, see conftest `clock`).
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
EICAR = [{"malware": "Eicar_test_file", "type": "Virus"}]
EICAR_BODY = fss.eicar()


def epoch(moment: datetime) -> float:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()


def encode_key(key: str, safe: str = "/") -> str:
    """The way S3 event notifications (and FSS) put a key into a URL."""
    return quote_plus(key, safe=safe)


# Every S3 URL form of the shared doc; `r` is a region, `b` a bucket, `k` an encoded key.
URL_FORMS: dict[str, str] = {
    "virtual": "https://{b}.s3.amazonaws.com/{k}",
    "virtual-region": "https://{b}.s3.{r}.amazonaws.com/{k}",
    "legacy-dash-region": "https://{b}.s3-{r}.amazonaws.com/{k}",
    "dualstack": "https://{b}.s3.dualstack.{r}.amazonaws.com/{k}",
    "fips": "https://{b}.s3-fips.{r}.amazonaws.com/{k}",
    "fips-dualstack": "https://{b}.s3-fips.dualstack.{r}.amazonaws.com/{k}",
    "accelerate": "https://{b}.s3-accelerate.amazonaws.com/{k}",
    "accelerate-dualstack": "https://{b}.s3-accelerate.dualstack.amazonaws.com/{k}",
    "external-1": "https://{b}.s3-external-1.amazonaws.com/{k}",
    "china": "https://{b}.s3.cn-north-1.amazonaws.com.cn/{k}",
    "china-legacy-dash": "https://{b}.s3-cn-northwest-1.amazonaws.com.cn/{k}",
    "gov-fips": "https://{b}.s3-fips.us-gov-west-1.amazonaws.com/{k}",
    "http-with-port": "http://{b}.s3.amazonaws.com:80/{k}",
    "path": "https://s3.amazonaws.com/{b}/{k}",
    "path-region": "https://s3.{r}.amazonaws.com/{b}/{k}",
    "path-legacy-dash-region": "https://s3-{r}.amazonaws.com/{b}/{k}",
    "path-dualstack": "https://s3.dualstack.{r}.amazonaws.com/{b}/{k}",
    "path-china": "https://s3.cn-north-1.amazonaws.com.cn/{b}/{k}",
    "s3-uri": "s3://{b}/{k}",
}


def s3_url(bucket: str, key: str, form: str = "virtual", region: str = "eu-west-1") -> str:
    return URL_FORMS[form].format(b=bucket, k=encode_key(key), r=region)


def scan_message(
    bucket: str,
    key: str,
    *,
    verdict: str = "malicious",
    timestamp: Any = None,
    etag: str | None = None,
    url_form: str = "virtual",
    bucket_field: bool = False,
    size: int | None = None,
    message_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A scan-result message as File Storage Security publishes it."""
    findings: list[dict[str, str]] = EICAR if verdict == "malicious" else []
    status = -2 if verdict == "failed" else 0
    result: dict[str, Any] = {
        "TotalBytesOfFile": size if size is not None else 68,
        "Findings": findings,
        "Error": "timeout" if verdict == "failed" else "",
    }
    if verdict == "incomplete":
        result["Codes"] = [101]
    message: dict[str, Any] = {
        "timestamp": epoch(T0) + 30 if timestamp is None else timestamp,
        "sqs_message_id": message_id or str(uuid.uuid4()),
        "xamz_request_id": "",
        "file_url": s3_url(bucket, key, url_form),
        "scanner_status": status,
        "scanner_status_message": "successful scan" if status == 0 else "unsuccessful scan",
        "scanning_result": result,
    }
    if etag is not None:
        message["file_attributes"] = {"etag": etag}
    if bucket_field:
        message.update({"type": "scan-result", "bucket": bucket, "bucket_region": REGION})
    message.update(extra)
    return message


def sns_record(
    message: dict[str, Any] | str,
    topic_arn: str = TOPIC_ARN,
    sns_message_id: str | None = None,
) -> dict[str, Any]:
    """One record exactly as Lambda receives it from an SNS subscription."""
    body = message if isinstance(message, str) else json.dumps(message)
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{topic_arn}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
        "Sns": {
            "Type": "Notification",
            "MessageId": sns_message_id or str(uuid.uuid4()),
            "TopicArn": topic_arn,
            "Subject": None,
            "Message": body,
            "Timestamp": "2024-05-01T12:00:31.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7",
            "SigningCertUrl": f"{SNS_ENDPOINT}/SimpleNotificationService-0000000000000000.pem",
            "UnsubscribeUrl": (
                f"{SNS_ENDPOINT}/?Action=Unsubscribe&SubscriptionArn={topic_arn}:2bcfbf39"
            ),
            "MessageAttributes": {},
        },
    }


def sns_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def sns_notification(
    message: dict[str, Any] | str,
    topic_arn: str = TOPIC_ARN,
    sns_message_id: str | None = None,
) -> dict[str, Any]:
    """The JSON document SNS sends to a SQS subscription without raw message delivery.

    Unlike the Lambda record's Sns object it spells SigningCertURL / UnsubscribeURL, has no
    Subject when none was published, and MessageAttributes only when some were.
    """
    body = message if isinstance(message, str) else json.dumps(message)
    return {
        "Type": "Notification",
        "MessageId": sns_message_id or str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Message": body,
        "Timestamp": "2024-05-01T12:00:31.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7",
        "SigningCertURL": f"{SNS_ENDPOINT}/SimpleNotificationService-0000000000000000.pem",
        "UnsubscribeURL": f"{SNS_ENDPOINT}/?Action=Unsubscribe&SubscriptionArn={topic_arn}:7c1e",
    }


def sqs_record(
    body: dict[str, Any] | str,
    message_id: str | None = None,
    receive_count: int = 1,
    queue_arn: str = QUEUE_ARN,
) -> dict[str, Any]:
    """One record exactly as Lambda's SQS event source mapping passes it.

    `body` is the SQS message body: an sns_notification(...) dict, a scan_message(...) dict
    (raw message delivery) or any string.
    """
    text = body if isinstance(body, str) else json.dumps(body)
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a" + uuid.uuid4().hex,
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1714564831000",
            "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
            "ApproximateFirstReceiveTimestamp": "1714564831050",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(text.encode("utf-8", "surrogatepass")).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def upload(
    s3: Any,
    bucket: str,
    key: str,
    body: bytes = EICAR_BODY,
    tags: dict[str, str] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """PutObject; returns {"etag": unquoted ETag, "version_id": ... or None, "size": n}."""
    extra = {"Tagging": urlencode(tags)} if tags else {}
    response = s3.put_object(Bucket=bucket, Key=key, Body=body, **extra, **kwargs)
    return {
        "etag": response["ETag"].strip('"'),
        "version_id": response.get("VersionId"),
        "size": len(body),
    }


def versions_of(s3: Any, bucket: str, key: str) -> tuple[list[dict], list[dict]]:
    """(versions, delete markers) of exactly `key`."""
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    versions = [v for v in listing.get("Versions", []) if v["Key"] == key]
    markers = [m for m in listing.get("DeleteMarkers", []) if m["Key"] == key]
    return versions, markers


def later(seconds: float) -> float:
    """A message timestamp `seconds` after T0."""
    return epoch(T0 + timedelta(seconds=seconds))
