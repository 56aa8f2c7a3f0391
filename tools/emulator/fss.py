"""What File Storage Security publishes and writes, for the demo and the apply tests.

Shapes follow the scan-result facts in docs/how-it-works.md ("How the function works") and FSS's
public documentation: one JSON message per scanned object on the storage stack's scan-result topic,
and ``fss-*`` tags on the scanned object.
"""

from __future__ import annotations

import time
import urllib.parse
import uuid
from typing import Any

EICAR_FINDING = {"malware": "Eicar_test_file", "type": "Virus"}

# Scanner statuses (anything but 0 means the file was not scanned). -1, -3 and -4 are the
# scanner's own conditions (the verdict `unscanned`); -2 concerns the file (`failed`).
SUCCESSFUL_SCAN = 0
INVALID_LICENSE_STATUS = -1
UNSUCCESSFUL_SCAN = -2
SCANNER_ERROR = -3
UNSUCCESSFUL_SCANNER_INVOCATION = -4
STATUS_MESSAGES = {
    SUCCESSFUL_SCAN: "successful scan",
    INVALID_LICENSE_STATUS: "invalid license status",
    UNSUCCESSFUL_SCAN: "unsuccessful scan",
    SCANNER_ERROR: "scanner error",
    UNSUCCESSFUL_SCANNER_INVOCATION: "unsuccessful scanner invocation",
}


def eicar() -> bytes:
    """The EICAR anti-malware test file, put together at run time.

    It is harmless, but virus scanners flag any file that holds it in one piece, so the repository
    never does.
    """
    parts = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-", "ANTIVIRUS-TEST-FILE!$H+H*")
    return "".join(parts).encode("ascii")


def file_url(bucket: str, key: str, region: str) -> str:
    """Virtual-hosted S3 URL, key encoded like S3 event notifications (space -> +, + -> %2B)."""
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{bucket}.s3.{region}.{domain}/{urllib.parse.quote_plus(key, safe='/')}"


def scan_result(
    bucket: str,
    key: str,
    region: str,
    *,
    size: int,
    etag: str | None = None,
    findings: list[dict[str, str]] | None = None,
    codes: list[int] | None = None,
    scanner_status: int = SUCCESSFUL_SCAN,
    error: str = "",
) -> dict[str, Any]:
    """The scan-result message FSS publishes for one object (JSON-serialise it for SNS)."""
    message: dict[str, Any] = {
        "timestamp": time.time(),
        "sqs_message_id": str(uuid.uuid4()),
        "xamz_request_id": "",
        "file_url": file_url(bucket, key, region),
        "scanner_status": scanner_status,
        "scanner_status_message": STATUS_MESSAGES.get(scanner_status, "unsuccessful scan"),
        "scanning_result": {
            "TotalBytesOfFile": size,
            "Findings": list(findings or []),
            "Error": error,
            "Codes": list(codes or []),
        },
    }
    if etag is not None:
        message["file_attributes"] = {"etag": etag}
    return message


INCOMPLETE_CODE = 152  # any of 100-199: the scanner skipped part of the file
VERDICTS = ("malicious", "clean", "incomplete", "failed", "unscanned")


def verdict_message(
    verdict: str, bucket: str, key: str, region: str, *, size: int, etag: str | None
) -> dict[str, Any]:
    """The scan result FSS publishes for a file the engine will judge `verdict`: malicious (the
    EICAR finding), clean, incomplete (a code of 100-199), failed (scanner_status -2, the file
    could not be scanned) or unscanned (-3, a scanner error that says nothing about the file)."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    status = {"failed": UNSUCCESSFUL_SCAN, "unscanned": SCANNER_ERROR}.get(verdict, SUCCESSFUL_SCAN)
    return scan_result(
        bucket,
        key,
        region,
        size=size,
        etag=etag,
        findings=[EICAR_FINDING] if verdict == "malicious" else [],
        codes=[INCOMPLETE_CODE] if verdict == "incomplete" else [],
        scanner_status=status,
        error="scanner could not read the file" if status != SUCCESSFUL_SCAN else "",
    )


def scan_tags(verdict: str) -> dict[str, str]:
    """The tags FSS writes on a scanned object (separate-tags format); a clean result's detail
    code is 0 (what read_protection = until_clean requires), an incomplete one's its code."""
    failures = ("failed", "unscanned")
    result = "malicious" if verdict == "malicious" else "no issues found"
    result = "failure" if verdict in failures else result
    tags = {
        "fss-scanned": "true",
        "fss-scan-date": time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime()),
        "fss-scan-result": result,
    }
    detail = {"clean": "0", "incomplete": str(INCOMPLETE_CODE)}.get(verdict)
    if detail is not None:
        tags["fss-scan-detail-code"] = detail
    return tags
