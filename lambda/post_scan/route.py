"""Pure decisions for routes: where a copy goes, what it carries, whether it is a faithful copy.

No boto3 here: the pipeline reads the source with aws.S3Objects, asks this module for the copy's
key and arguments, copies, and asks it again whether the copy's HEAD matches the source's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from post_scan.config import BUCKET_NAME, Config, Route
from post_scan.failures import PermanentFailure
from post_scan.message import CLEAN, MALICIOUS, ScanResult
from post_scan.objects import COPIED_HEADERS, CopyResult, StoredObject

# Every object the function writes carries this user-metadata key (x-amz-meta-...): the function
# does not act on an object that has it AND lies at a route destination, so a destination that is
# itself scanned cannot loop. Anyone who can upload can set the key, so it is trusted nowhere else.
ROUTED_MARK = "fss-post-scan-routed"
METADATA_PREFIX = "fss-post-scan-"
MAX_METADATA_BYTES = 2048  # S3: keys + values of user metadata, in UTF-8 bytes
MAX_KEY_BYTES = 1024
# Where a copy goes when its usual key cannot be used (the key is too long, or another version of
# the same key holds it): PREFIX + this + <source bucket>/<SHA-256 of the source key>[/<version>].
# "~" is in no bucket name, so no source key's usual destination ever lands here.
SHORT_KEYS = "~fss-post-scan/"
TRUNCATED = "..."
_MIN_TRUNCATED_VALUE = 16
# Metadata travels in HTTP headers: keep printable ASCII, percent-encode the rest (and %).
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")
_KMS_ENCRYPTIONS = ("aws:kms", "aws:kms:dsse")

ACTION_BY_VERDICT = {MALICIOUS: "quarantine", CLEAN: "promote"}


class RouteError(PermanentFailure):
    """This object cannot be routed as configured (key too long, no room for the mark)."""


class CopyVerificationError(PermanentFailure):
    """The destination's HEAD does not match the scanned source: the source is kept."""


def scan_action(verdict: str, config: Config, routed: bool | None = None) -> str:
    """The row's scan_action: what the configuration does with a verdict (same on each delivery).

    `routed` False: the verdict has a route but this result is not routed (its scan type).
    """
    if verdict in config.routes if routed is None else routed:
        return ACTION_BY_VERDICT.get(verdict, "route")
    if config.delete_malicious and verdict == MALICIOUS:
        return "delete"
    return "none"


def deletes_source(verdict: str, config: Config, routed: bool | None = None) -> bool:
    routed_and_moved = (verdict in config.routes if routed is None else routed) and config.moves
    return routed_and_moved or (config.delete_malicious and verdict == MALICIOUS)


def destination_key(route: Route, bucket: str, key: str) -> str:
    """<prefix><source bucket>/<source key>: copies from several buckets never collide."""
    destination = f"{route.prefix}{bucket}/{key}"
    size = _bytes(destination)
    if size > MAX_KEY_BYTES:
        raise RouteError(
            f"destination key would be {size} bytes (S3 allows {MAX_KEY_BYTES}): "
            f"{route} + {bucket}/ + the source key is too long"
        )
    return destination


def short_key(route: Route, bucket: str, key: str, version_id: str | None) -> str:
    """<prefix>~fss-post-scan/<source bucket>/<SHA-256 of the key>[/<version id>]: at most
    512 + 15 + 255 + 1 + 64 + 1 + 64 bytes, unique per source key (and version)."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    destination = f"{route.prefix}{SHORT_KEYS}{bucket}/{digest}"
    if version_id is None:
        return destination
    if _bytes(f"{destination}/{version_id}") > MAX_KEY_BYTES:  # version ids are ~32 characters
        version_id = hashlib.sha256(version_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{destination}/{version_id}"


def planned_key(
    route: Route,
    bucket: str,
    key: str,
    version_id: str | None,
    *,
    first: bool,
    may_shorten: bool,
) -> tuple[str, str | None]:
    """(destination key, why it is not the usual one) of one scanned version.

    The first (newest) version takes the usual key; the others of the same record take their
    own short key, so that copies of several versions never overwrite each other, whatever the
    destination's versioning. A usual key over 1024 bytes is a RouteError unless `may_shorten`
    (a malicious file that must leave the scanned bucket): then the short key is the fallback.
    """
    if not first:
        return short_key(route, bucket, key, version_id), None
    try:
        return destination_key(route, bucket, key), None
    except RouteError as exc:
        if not may_shorten:
            raise
        return short_key(route, bucket, key, version_id), str(exc)


def destination_url(route: Route, bucket: str, key: str) -> str:
    return f"s3://{route.bucket}/{destination_key(route, bucket, key)}"


def is_own_copy(metadata: Mapping[str, str] | None) -> bool:
    """The object carries the mark (say nothing about who set it: see at_route_destination)."""
    return metadata is not None and any(k.lower() == ROUTED_MARK for k in metadata)


def at_route_destination(
    bucket: str, key: str, routes: Mapping[str, Route], sources: frozenset[str] | None
) -> bool:
    """True when bucket/key is where one of the routes writes its copies: under the route's
    prefix, then a scanned bucket's name (`sources`; None: any bucket) and "/", or the short keys.

    Only there can the mark be this module's: elsewhere it was set by whoever uploaded the object.
    A bare prefix is not enough: with prefix "q", "quarterly-report.xlsx" is not a copy.
    """
    for route in routes.values():
        if bucket != route.bucket or not key.startswith(route.prefix):
            continue
        rest = key[len(route.prefix) :]
        if rest.startswith(SHORT_KEYS):
            return True
        source, slash, _ = rest.partition("/")
        if slash and (source in sources if sources is not None else _is_bucket(source)):
            return True
    return False


def _is_bucket(name: str) -> bool:
    return re.fullmatch(BUCKET_NAME, name) is not None


def _bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def header_value(text: str) -> str:
    return quote(text, safe=_HEADER_SAFE, errors="surrogatepass")


def metadata_size(metadata: Mapping[str, str]) -> int:
    return sum(len(k.encode("utf-8")) + len(v.encode("utf-8")) for k, v in metadata.items())


def _scan_date(scan: ScanResult) -> str:
    moment = datetime.fromtimestamp(float(scan.timestamp), UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _findings(scan: ScanResult) -> str:
    return "; ".join(f"{f.malware} ({f.type})" if f.type else f.malware for f in scan.findings)


def scan_metadata_fields(scan: ScanResult, version_id: str | None) -> list[tuple[str, str, bool]]:
    """(key, value, may be truncated) in order of importance; values not yet encoded."""
    fields = [
        (ROUTED_MARK, scan.verdict, False),
        (METADATA_PREFIX + "scan-date", _scan_date(scan), False),
        (METADATA_PREFIX + "message-id", scan.message_id, False),
    ]
    if version_id is not None:
        fields.append((METADATA_PREFIX + "source-version-id", version_id, False))
    if scan.codes:
        fields.append((METADATA_PREFIX + "codes", ",".join(map(str, scan.codes)), False))
    if scan.findings:
        fields.append((METADATA_PREFIX + "findings", _findings(scan), True))
    fields.append((METADATA_PREFIX + "source", f"s3://{scan.bucket}/{scan.key}", True))
    return fields


def routed_metadata(
    source_metadata: Mapping[str, str],
    scan: ScanResult,
    version_id: str | None,
    *,
    make_room: bool = False,
) -> tuple[dict[str, str], list[str]]:
    """The source's user metadata plus the scan result, within S3's 2 KB; and the names of the
    source's metadata entries left out (only with `make_room`).

    The scan result is added in order of importance; findings and source URL are cut (ending in
    "...", never inside a character) or left out when the rest is full. Only the mark is
    required: without room for it the object cannot be routed (RouteError), unless `make_room`
    (a malicious file that must leave the scanned bucket): then the source's own entries are
    left out, largest first, until the mark fits.
    """
    result = {k: v for k, v in source_metadata.items() if not k.lower().startswith(METADATA_PREFIX)}
    mark = len(ROUTED_MARK) + len(header_value(scan.verdict))
    dropped: list[str] = []
    if make_room:
        for name in sorted(result, key=lambda n: (-_entry_size(n, result[n]), n)):
            if metadata_size(result) + mark <= MAX_METADATA_BYTES:
                break
            del result[name]
            dropped.append(name)
    used = metadata_size(result)
    for name, raw, truncatable in scan_metadata_fields(scan, version_id):
        value = header_value(raw)
        room = MAX_METADATA_BYTES - used - len(name)
        if len(value) > room:
            if name == ROUTED_MARK:
                raise RouteError(
                    f"the source's user metadata takes {used} of {MAX_METADATA_BYTES} bytes: "
                    f"no room for the {ROUTED_MARK} mark every routed copy must carry"
                )
            if not truncatable or room < _MIN_TRUNCATED_VALUE:
                continue
            value = _truncate(raw, room)
        result[name] = value
        used += len(name) + len(value)
    return result, dropped


def _entry_size(name: str, value: str) -> int:
    return len(name.encode("utf-8")) + len(value.encode("utf-8"))


def _truncate(raw: str, room: int) -> str:
    """The longest encoded prefix of raw (whole characters) that fits room with the marker."""
    low, high = 0, len(raw)
    while low < high:
        middle = (low + high + 1) // 2
        if len(header_value(raw[:middle])) + len(TRUNCATED) <= room:
            low = middle
        else:
            high = middle - 1
    return header_value(raw[:low]) + TRUNCATED


def tagging(tags: Mapping[str, str]) -> str:
    """The x-amz-tagging form of a tag set; %20 for spaces so '+' is never ambiguous."""
    return urlencode(list(tags.items()), quote_via=quote)


def copy_arguments(
    source: StoredObject, route: Route, tags: Mapping[str, str], metadata: Mapping[str, str]
) -> dict[str, Any]:
    """ExtraArgs of the managed copy: the same for CopyObject and for a multipart copy."""
    args: dict[str, Any] = {
        # REPLACE, with everything given explicitly: a multipart copy never copies metadata
        # or tags by itself, so both paths write exactly the same object.
        "MetadataDirective": "REPLACE",
        "Metadata": dict(metadata),
        "TaggingDirective": "REPLACE",
        **{name: source.headers[name] for name in COPIED_HEADERS if name in source.headers},
    }
    if tags:
        args["Tagging"] = tagging(tags)
    if source.storage_class:
        args["StorageClass"] = source.storage_class
    if source.checksum is not None:
        args["ChecksumAlgorithm"] = source.checksum[0]
    if route.kms_key_arn:
        args["ServerSideEncryption"] = "aws:kms"
        args["SSEKMSKeyId"] = route.kms_key_arn
    if source.version_id is None:
        # Unversioned: the copy must fail (412) if the key was overwritten since the scan.
        args["CopySourceIfMatch"] = f'"{source.etag}"'
    return args


def verify_copy(source: StoredObject, copy: StoredObject, result: CopyResult) -> list[str]:
    """What is wrong with the copy (empty: it is the scanned content, marked)."""
    problems = []
    if copy.size != source.size:
        problems.append(f"size {copy.size} != source size {source.size}")
    if not is_own_copy(copy.metadata):
        problems.append(f"the {ROUTED_MARK} mark is missing")
    # A single-part copy keeps the MD5 ETag unless either side is KMS-encrypted (those ETags are
    # not MD5s) or the source was a multipart upload (its ETag is not an MD5 of the content).
    plain = not (_kms(source.encryption) or _kms(copy.encryption) or "-" in source.etag)
    if not result.multipart and plain and copy.etag != source.etag:
        problems.append(f"ETag {copy.etag} != source ETag {source.etag}")
    # A full-object checksum (no -N part count) of a single-part copy must be the source's.
    full_object = source.checksum is not None and "-" not in source.checksum[1]
    if not result.multipart and full_object and copy.checksum != source.checksum:
        problems.append(f"checksum {copy.checksum} != source checksum {source.checksum}")
    return problems


def _kms(encryption: str | None) -> bool:
    return encryption in _KMS_ENCRYPTIONS
