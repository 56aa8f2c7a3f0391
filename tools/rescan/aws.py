"""The boto3 side of rescan: S3 listing and tags, GuardDuty's SendObjectMalwareScan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rescan.run import Current


class S3Bucket:
    """One bucket's current versions and their tags, as the account `owner` owns it (when given,
    every request names it: ExpectedBucketOwner)."""

    def __init__(self, client: Any, name: str, owner: str | None = None) -> None:
        self._s3, self.name = client, name
        self._owner = {"ExpectedBucketOwner": owner} if owner else {}

    def current_versions(self, prefix: str, after: str | None) -> Iterator[Current]:
        arguments: dict[str, Any] = {"Bucket": self.name, "Prefix": prefix, **self._owner}
        if after:
            arguments["KeyMarker"] = after  # listing starts with the keys after it
        for page in self._s3.get_paginator("list_object_versions").paginate(**arguments):
            for version in page.get("Versions", []):
                if version.get("IsLatest"):
                    found = version.get("VersionId")
                    yield Current(version["Key"], None if found in (None, "null") else found)

    def tags(self, item: Current) -> dict[str, str]:
        extra = {"VersionId": item.version_id} if item.version_id else {}
        response = self._s3.get_object_tagging(
            Bucket=self.name, Key=item.key, **extra, **self._owner
        )
        return {tag["Key"]: tag["Value"] for tag in response.get("TagSet", [])}

    def count(self, prefix: str, after: str | None) -> int:
        return sum(1 for _ in self.current_versions(prefix, after))


def scanner(client: Any, bucket: str) -> Any:
    """scan(item): SendObjectMalwareScan of exactly that version (the current one when the
    bucket never had versioning). The bucket must be protected by a Malware Protection plan."""

    def scan(item: Current) -> None:
        target: dict[str, str] = {"Bucket": bucket, "Key": item.key}
        if item.version_id:
            target["VersionId"] = item.version_id
        client.send_object_malware_scan(S3Object=target)

    return scan
