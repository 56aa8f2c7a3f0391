"""Thin boto3 calls. No decisions here: errors are only translated into ObjectGone / results.

Clients are created on first use (so tests can start moto first) and cached for the life of the
execution environment.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from post_scan.objects import (
    ALREADY_GONE,
    DELETED,
    PRECONDITION_FAILED,
    Head,
    ObjectGone,
    ObjectVersion,
)

GONE_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404"})
_BOTO_CONFIG = BotoConfig(retries={"mode": "standard"})


@functools.cache
def s3_client() -> Any:
    return boto3.client("s3", config=_BOTO_CONFIG)


@functools.cache
def dynamodb_client() -> Any:
    return boto3.client("dynamodb", config=_BOTO_CONFIG)


_FACTORIES = (s3_client, dynamodb_client)


def reset_clients() -> None:
    """Forget the cached clients (tests; a new process gets new ones anyway)."""
    for factory in _FACTORIES:
        factory.cache_clear()


def supports_conditional_delete(session: Any = None) -> bool:
    """True when this botocore knows DeleteObject's IfMatch (S3 conditional deletes)."""
    model = (session or botocore.session.get_session()).get_service_model("s3")
    return "IfMatch" in model.operation_model("DeleteObject").input_shape.members


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _unquote(etag: str) -> str:
    return etag.strip('"')


class S3Objects:
    """The S3 reads and deletes the pipeline needs, for any bucket/key."""

    def __init__(self, client_factory: Any = None) -> None:
        self._client_factory = client_factory or s3_client

    @property
    def _s3(self) -> Any:
        return self._client_factory()

    def head(self, bucket: str, key: str) -> Head:
        try:
            response = self._s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) not in GONE_CODES:
                raise
            headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            return Head(None, delete_marker=headers.get("x-amz-delete-marker") == "true")
        current = ObjectVersion(
            version_id=response.get("VersionId"),
            etag=_unquote(response["ETag"]),
            last_modified=response["LastModified"],
            size=response["ContentLength"],
        )
        return Head(current)

    def tags(self, bucket: str, key: str, version_id: str | None) -> dict[str, str]:
        extra = {"VersionId": version_id} if version_id else {}
        try:
            response = self._s3.get_object_tagging(Bucket=bucket, Key=key, **extra)
        except ClientError as exc:
            if error_code(exc) in GONE_CODES:
                raise ObjectGone(error_code(exc)) from exc
            raise
        return {tag["Key"]: tag["Value"] for tag in response.get("TagSet", [])}

    def versions(self, bucket: str, key: str) -> list[ObjectVersion]:
        """Versions of exactly `key`, newest first (S3's order), without delete markers."""
        found: list[ObjectVersion] = []
        pages = self._s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
        for page in pages:
            for item in page.get("Versions", []):
                if item["Key"] == key:
                    found.append(
                        ObjectVersion(
                            version_id=item["VersionId"],
                            etag=_unquote(item["ETag"]),
                            last_modified=item["LastModified"],
                            size=item["Size"],
                        )
                    )
            # Keys come sorted and `key` sorts first among keys it prefixes: once the listing
            # has moved past it, the remaining pages hold other keys only.
            if page.get("NextKeyMarker", key) != key:
                break
        return found

    def delete_version(self, bucket: str, key: str, version_id: str) -> str:
        try:
            self._s3.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
        except ClientError as exc:
            if error_code(exc) in GONE_CODES:
                return ALREADY_GONE
            raise
        return DELETED

    def delete_if_match(self, bucket: str, key: str, etag: str) -> str:
        try:
            self._s3.delete_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')
        except ClientError as exc:
            code = error_code(exc)
            if code in ("PreconditionFailed", "412"):
                return PRECONDITION_FAILED
            if code in GONE_CODES:
                return ALREADY_GONE
            raise
        return DELETED
