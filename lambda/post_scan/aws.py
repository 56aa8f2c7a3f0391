"""Thin boto3 calls. No decisions here: errors are only translated into ObjectGone / results.

Clients are created on first use (so tests can start moto first) and cached for the life of the
execution environment.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

import boto3
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from s3transfer.subscribers import BaseSubscriber

from post_scan.objects import (
    ALREADY_GONE,
    COPIED_HEADERS,
    DELETED,
    PRECONDITION_FAILED,
    CopyResult,
    Head,
    ObjectChanged,
    ObjectGone,
    ObjectVersion,
    StoredObject,
)

GONE_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404"})
CHANGED_CODES = frozenset({"PreconditionFailed", "412"})
CHECKSUM_ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
_BOTO_CONFIG = BotoConfig(retries={"mode": "standard"})
_MIB = 1024 * 1024
# Up to 256 MiB one CopyObject (the copy keeps the source's ETag, so it can be compared);
# above, a multipart copy (UploadPartCopy, 10 parts at a time): objects over CopyObject's 5 GB
# limit work, up to S3's 5 TB (s3transfer grows the parts to stay within 10,000).
COPY_TRANSFER_CONFIG = TransferConfig(
    multipart_threshold=256 * _MIB, multipart_chunksize=128 * _MIB, max_concurrency=10
)


@functools.cache
def s3_client() -> Any:
    return boto3.client("s3", config=_BOTO_CONFIG)


@functools.cache
def dynamodb_client() -> Any:
    return boto3.client("dynamodb", config=_BOTO_CONFIG)


@functools.cache
def sqs_client() -> Any:
    return boto3.client("sqs", config=_BOTO_CONFIG)


_FACTORIES = (s3_client, dynamodb_client, sqs_client)


def send_dead_letter(queue_arn: str, body: str) -> None:
    """SendMessage to the queue of this ARN (the function's dead-letter queue, in its account and
    region; the URL is built on the client's own endpoint, so no GetQueueUrl right is needed)."""
    client = sqs_client()
    account, name = queue_arn.split(":")[4:6]
    client.send_message(QueueUrl=f"{client.meta.endpoint_url}/{account}/{name}", MessageBody=body)


def reset_clients() -> None:
    """Forget the cached clients (tests; a new process gets new ones anyway)."""
    for factory in _FACTORIES:
        factory.cache_clear()


def supports_conditional_delete(client: Any = None) -> bool:
    """True when this botocore knows DeleteObject's IfMatch (S3 conditional deletes).

    Read from the S3 client's own service model (the function's cached client by default): the
    model is loaded once per cold start, for the check and the client together.
    """
    model = (client or s3_client()).meta.service_model
    return "IfMatch" in model.operation_model("DeleteObject").input_shape.members


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _unquote(etag: str) -> str:
    return etag.strip('"')


def _raise_gone_or_changed(exc: ClientError) -> None:
    code = error_code(exc)
    if code in GONE_CODES:
        raise ObjectGone(code) from exc
    if code in CHANGED_CODES:
        raise ObjectChanged(code) from exc


class _KnownSource(BaseSubscriber):
    """Hands s3transfer the source's size and ETag, already read, so it does not HEAD it again.

    The ETag also guards every part of a multipart copy (CopySourceIfMatch).
    """

    def __init__(self, source: StoredObject) -> None:
        self._source = source

    def on_queued(self, future: Any, **kwargs: Any) -> None:
        future.meta.provide_transfer_size(self._source.size)
        if hasattr(future.meta, "provide_object_etag"):  # s3transfer >= 0.11
            future.meta.provide_object_etag(f'"{self._source.etag}"')


# bucket -> the 12-digit account that must own it (ExpectedBucketOwner), or None: not checked.
OwnerOf = Callable[[str], str | None]


def _nobody(bucket: str) -> str | None:
    return None


def _copy_source_bucket(source: Any) -> str | None:
    """The bucket of a CopySource parameter: a dict, or botocore's "bucket/key?versionId=..."."""
    if isinstance(source, dict):
        return source.get("Bucket")
    if isinstance(source, str):
        return unquote(source.lstrip("/").split("/", 1)[0])
    return None


class S3Objects:
    """The S3 reads, copies and deletes the pipeline needs, for any bucket/key.

    Every request names the account that must own its bucket (ExpectedBucketOwner, and
    ExpectedSourceBucketOwner on copies), as `owner_of` says: S3 refuses the request (403) when
    another account owns the bucket, e.g. a deleted destination whose name was registered again.
    """

    def __init__(
        self,
        client_factory: Any = None,
        transfer_config: Any = None,
        owner_of: OwnerOf = _nobody,
    ) -> None:
        self._client_factory = client_factory or s3_client
        self._transfer_config = transfer_config or COPY_TRANSFER_CONFIG
        self._owner_of = owner_of

    @property
    def _s3(self) -> Any:
        return self._client_factory()

    def _owner(self, bucket: str) -> dict[str, str]:
        owner = self._owner_of(bucket)
        return {"ExpectedBucketOwner": owner} if owner else {}

    def _add_owners(self, params: dict[str, Any], **kwargs: Any) -> None:
        """botocore hook: the owners of the request's buckets, whoever builds the request."""
        bucket = params.get("Bucket")
        if isinstance(bucket, str):
            params.pop("ExpectedBucketOwner", None)
            params.update(self._owner(bucket))
        source = _copy_source_bucket(params.get("CopySource"))
        if source is not None:
            params.pop("ExpectedSourceBucketOwner", None)
            owner = self._owner_of(source)
            if owner:
                params["ExpectedSourceBucketOwner"] = owner

    @contextmanager
    def _owners_on_every_request(self, client: Any) -> Iterator[None]:
        """While s3transfer works: it sends no ExpectedSourceBucketOwner (CopyObject,
        UploadPartCopy), none on AbortMultipartUpload, and would HEAD a source with the
        destination's owner. One copy at a time per client (the pipeline is sequential)."""
        events, unique_id = client.meta.events, f"fss-post-scan-owners-{id(self)}"
        events.register("before-parameter-build.s3", self._add_owners, unique_id=unique_id)
        try:
            yield
        finally:
            events.unregister("before-parameter-build.s3", self._add_owners, unique_id=unique_id)

    def head(self, bucket: str, key: str) -> Head:
        try:
            response = self._s3.head_object(Bucket=bucket, Key=key, **self._owner(bucket))
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
            metadata=response.get("Metadata", {}),
        )
        return Head(current)

    def describe(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        etag: str | None = None,
        checksums: bool = False,
    ) -> StoredObject:
        """HEAD of one version (or of the object with this ETag): everything a copy carries.

        Raises ObjectGone (404) or ObjectChanged (412: the key holds another ETag now).
        Checksums are only asked for when needed: for SSE-KMS objects they need kms:Decrypt.
        """
        extra: dict[str, str] = {}
        if version_id:
            extra["VersionId"] = version_id
        if etag:
            extra["IfMatch"] = f'"{etag}"'
        if checksums:
            extra["ChecksumMode"] = "ENABLED"
        try:
            response = self._s3.head_object(Bucket=bucket, Key=key, **extra, **self._owner(bucket))
        except ClientError as exc:
            _raise_gone_or_changed(exc)
            raise
        checksum = next(
            (
                (name, response[f"Checksum{name}"])
                for name in CHECKSUM_ALGORITHMS
                if response.get(f"Checksum{name}")
            ),
            None,
        )
        version = response.get("VersionId")
        return StoredObject(
            version_id=None if version in (None, "null") else version,
            etag=_unquote(response["ETag"]),
            size=response["ContentLength"],
            metadata=response.get("Metadata", {}),
            headers={name: response[name] for name in COPIED_HEADERS if response.get(name)},
            storage_class=response.get("StorageClass"),
            checksum=checksum,
            encryption=response.get("ServerSideEncryption"),
            kms_key_id=response.get("SSEKMSKeyId"),
            last_modified=response.get("LastModified"),
        )

    def copy(
        self,
        source_bucket: str,
        source_key: str,
        source: StoredObject,
        destination_bucket: str,
        destination_key: str,
        extra_args: dict[str, Any],
    ) -> CopyResult:
        """boto3's managed copy (CopyObject, or a multipart copy above the threshold).

        A failed multipart copy is aborted by s3transfer. Raises ObjectGone / ObjectChanged
        when the source version is gone or the key holds another upload.
        """
        copy_source = {"Bucket": source_bucket, "Key": source_key}
        if source.version_id:
            copy_source["VersionId"] = source.version_id
        client = self._s3
        arguments = {**extra_args, **self._owner(destination_bucket)}
        try:
            with (
                self._owners_on_every_request(client),
                create_transfer_manager(client, self._transfer_config) as manager,
            ):
                manager.copy(
                    copy_source,
                    destination_bucket,
                    destination_key,
                    extra_args=arguments,
                    subscribers=[_KnownSource(source)],
                ).result()
        except ClientError as exc:
            _raise_gone_or_changed(exc)
            raise
        return CopyResult(multipart=source.size >= self._transfer_config.multipart_threshold)

    def tags(self, bucket: str, key: str, version_id: str | None) -> dict[str, str]:
        extra = {"VersionId": version_id} if version_id else {}
        try:
            response = self._s3.get_object_tagging(
                Bucket=bucket, Key=key, **extra, **self._owner(bucket)
            )
        except ClientError as exc:
            if error_code(exc) in GONE_CODES:
                raise ObjectGone(error_code(exc)) from exc
            raise
        return {tag["Key"]: tag["Value"] for tag in response.get("TagSet", [])}

    def versions(
        self, bucket: str, key: str, on_page: Callable[[], None] | None = None
    ) -> list[ObjectVersion]:
        """Versions of exactly `key`, newest first (S3's order), without delete markers.

        on_page is called before each page is requested (the pipeline's time budget: it raises
        to stop a listing that would run past the invocation's timeout).
        """
        found: list[ObjectVersion] = []
        pages = self._s3.get_paginator("list_object_versions").paginate(
            Bucket=bucket, Prefix=key, **self._owner(bucket)
        )
        if on_page is not None:
            on_page()
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
            if on_page is not None and page.get("IsTruncated"):
                on_page()
        return found

    def delete_version(self, bucket: str, key: str, version_id: str) -> str:
        try:
            self._s3.delete_object(
                Bucket=bucket, Key=key, VersionId=version_id, **self._owner(bucket)
            )
        except ClientError as exc:
            if error_code(exc) in GONE_CODES:
                return ALREADY_GONE
            raise
        return DELETED

    def delete_if_match(self, bucket: str, key: str, etag: str) -> str:
        try:
            self._s3.delete_object(
                Bucket=bucket, Key=key, IfMatch=f'"{etag}"', **self._owner(bucket)
            )
        except ClientError as exc:
            code = error_code(exc)
            if code in CHANGED_CODES:
                return PRECONDITION_FAILED
            if code in GONE_CODES:
                return ALREADY_GONE
            raise
        return DELETED
