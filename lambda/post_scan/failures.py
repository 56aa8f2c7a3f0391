"""Pure decision: can a retry cure this failure, or will it fail the same way every time?

RETRYABLE: the record fails and is received again (retries, then the dead-letter queue): throttling,
5xx, network errors, AccessDenied and other permission or credential errors, a missing bucket,
table or key (configuration an operator can fix, then replay), and anything not known to be
permanent. PERMANENT: the same request can never succeed for this object or message: a DynamoDB
ValidationException (an oversized item), an archived object that cannot be copied, a destination
key or metadata S3 cannot hold, a copy that does not verify. On a malicious verdict whose file
must leave the scanned bucket, a permanent failure is not allowed to keep it there: the pipeline
falls back to another way of making it harmless (see pipeline.py).
"""

from __future__ import annotations

from botocore.exceptions import ClientError, ParamValidationError

RETRYABLE = "retryable"
PERMANENT = "permanent"

# Error codes S3 and DynamoDB answer for requests that will never succeed as they are.
PERMANENT_CODES = frozenset(
    {
        "ValidationException",  # DynamoDB: item over 400 KB, a number it cannot store, ...
        "ItemCollectionSizeLimitExceededException",
        "InvalidObjectState",  # S3: archived (Glacier, Deep Archive, archive tiers): no copy
        "InvalidRequest",
        "InvalidArgument",
        "InvalidTag",
        "KeyTooLongError",
        "MetadataTooLarge",
        "EntityTooLarge",
        "InvalidStorageClass",
    }
)


class PermanentFailure(RuntimeError):
    """Raised by the engine itself for a failure no retry can cure (a base for its own errors)."""


def classify(exc: BaseException) -> str:
    """RETRYABLE or PERMANENT (see the module docstring); unknown failures are RETRYABLE."""
    if isinstance(exc, PermanentFailure | ParamValidationError):
        return PERMANENT
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if status >= 500 or status == 429:
            return RETRYABLE
        if str(error.get("Code", "")) in PERMANENT_CODES:
            return PERMANENT
    return RETRYABLE


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
