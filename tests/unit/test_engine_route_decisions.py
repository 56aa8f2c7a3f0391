"""The pure route decisions: scan_action, destination key, copy arguments, metadata within S3's
2 KB, tag encoding and the copy verification rules."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, unquote

import pytest
from engine_kit import scan_message
from hypothesis import given, settings
from hypothesis import strategies as st

from post_scan.config import Route, load_config
from post_scan.message import parse_scan_result
from post_scan.objects import CopyResult, StoredObject
from post_scan.route import (
    MAX_METADATA_BYTES,
    ROUTED_MARK,
    RouteError,
    at_route_destination,
    copy_arguments,
    deletes_source,
    destination_key,
    header_value,
    is_own_copy,
    metadata_size,
    planned_key,
    routed_metadata,
    scan_action,
    short_key,
    tagging,
    verify_copy,
)

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def scan(verdict: str = "malicious", key: str = "dir/a b.txt", **extra):
    message = scan_message("uploads-bucket", key, verdict=verdict, message_id="m-1", **extra)
    return parse_scan_result(json.dumps(message), "sns-1")


def stored(**fields) -> StoredObject:
    base = {"version_id": None, "etag": "0cc175b9c0f1b6a831c399e269772661", "size": 1}
    return StoredObject(**{**base, "metadata": {ROUTED_MARK: "malicious"}, **fields})


# --- what the configuration does --------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, {"malicious": "none", "clean": "none", "incomplete": "none", "failed": "none"}),
        ({"DELETE_MALICIOUS": "true"}, {"malicious": "delete", "clean": "none"}),
        (
            {
                "ROUTE_MALICIOUS": "quarantine",
                "ROUTE_CLEAN": "promote",
                "ROUTE_INCOMPLETE": "review",
                "ROUTE_FAILED": "review",
                "DELETE_MALICIOUS": "true",
            },
            {
                "malicious": "quarantine",
                "clean": "promote",
                "incomplete": "route",
                "failed": "route",
            },
        ),
        (
            {"ROUTE_CLEAN": "promote"},
            {"malicious": "none", "clean": "promote", "incomplete": "none"},
        ),
    ],
)
def test_scan_action(environ: dict[str, str], expected: dict[str, str]) -> None:
    config = load_config(environ)
    assert {verdict: scan_action(verdict, config) for verdict in expected} == expected


@pytest.mark.parametrize(
    ("environ", "deleted"),
    [
        ({"ROUTE_CLEAN": "promote"}, {"clean"}),
        ({"ROUTE_CLEAN": "promote", "ROUTE_MODE": "copy"}, set()),
        (
            {"ROUTE_CLEAN": "promote", "ROUTE_MODE": "copy", "DELETE_MALICIOUS": "true"},
            {"malicious"},
        ),
        (
            {"ROUTE_MALICIOUS": "quarantine", "ROUTE_INCOMPLETE": "review"},
            {"malicious", "incomplete"},
        ),
    ],
)
def test_which_sources_are_deleted(environ: dict[str, str], deleted: set[str]) -> None:
    config = load_config(environ)
    verdicts = ("malicious", "clean", "incomplete", "failed")
    assert {v for v in verdicts if deletes_source(v, config)} == deleted


def test_destination_key_is_prefix_source_bucket_and_key() -> None:
    assert destination_key(Route("q", "held/"), "uploads", "a/b c.txt") == "held/uploads/a/b c.txt"
    assert destination_key(Route("q"), "uploads", "x") == "uploads/x"


def test_destination_key_is_limited_to_1024_utf8_bytes() -> None:
    route = Route("q", "p/")
    fits = "ü" * ((1024 - len("p/uploads/")) // 2)
    assert len(destination_key(route, "uploads", fits).encode()) <= 1024
    with pytest.raises(RouteError, match="1026 bytes"):
        destination_key(route, "uploads", fits + "xx")


def test_short_keys_are_unique_per_key_and_version_and_fit() -> None:
    route = Route("q", "p" * 512)
    longest = "k" * 1024
    keys = {
        short_key(route, "b" * 255, longest, None),
        short_key(route, "b" * 255, longest, "v1"),
        short_key(route, "b" * 255, longest, "v2"),
        short_key(route, "b" * 255, longest[:-1], None),
        short_key(route, "c" * 255, longest, None),
    }
    assert len(keys) == 5
    assert all(len(key.encode()) <= 1024 for key in keys)
    assert short_key(route, "b", "k", "v" * 1024).count("/") == 3  # a long version id is hashed
    assert len(short_key(route, "b", "k", "v" * 1024).encode()) <= 1024


def test_planned_key_first_version_usual_key_the_others_their_own() -> None:
    route = Route("q", "held/")
    usual = planned_key(route, "uploads", "a.txt", "v2", first=True, may_shorten=False)
    other = planned_key(route, "uploads", "a.txt", "v1", first=False, may_shorten=False)
    assert usual == ("held/uploads/a.txt", None)
    assert other == (short_key(route, "uploads", "a.txt", "v1"), None)


def test_planned_key_too_long_is_an_error_unless_it_may_be_shortened() -> None:
    route = Route("q", "held/")
    key = "k" * 1020
    with pytest.raises(RouteError, match="1033 bytes"):
        planned_key(route, "uploads", key, None, first=True, may_shorten=False)
    shortened, why = planned_key(route, "uploads", key, None, first=True, may_shorten=True)
    assert shortened == short_key(route, "uploads", key, None)
    assert why is not None and "1033 bytes" in why


# --- metadata and tags ------------------------------------------------------------------------


ROUTES = {
    "malicious": Route("uploads-bucket", "quarantine/"),
    "clean": Route("clean-bucket"),  # no prefix: the whole bucket is the destination
}


SOURCES = frozenset({"uploads-bucket", "other-uploads"})


@pytest.mark.parametrize(
    ("bucket", "key", "expected"),
    [
        ("uploads-bucket", "quarantine/uploads-bucket/a.txt", True),
        ("uploads-bucket", "quarantine/other-uploads/x/y.txt", True),
        ("uploads-bucket", "quarantine/~fss-post-scan/uploads-bucket/" + "a" * 64, True),
        ("uploads-bucket", "quarantine/", False),
        ("uploads-bucket", "quarantine/a.txt", False),
        ("uploads-bucket", "quarantine/not-a-source/a.txt", False),
        ("uploads-bucket", "quarantine/uploads-bucket", False),
        ("uploads-bucket", "inbox/a.txt", False),
        ("uploads-bucket", "quarantine", False),
        ("uploads-bucket", "Quarantine/uploads-bucket/a.txt", False),
        ("other-bucket", "quarantine/uploads-bucket/a.txt", False),
        ("clean-bucket", "uploads-bucket/anything/at/all", True),
        ("clean-bucket", "anything/at/all", False),
        ("Clean-bucket", "uploads-bucket/anything/at/all", False),
    ],
)
def test_route_destinations_are_the_routes_bucket_prefix_and_a_source_bucket(
    bucket: str, key: str, expected: bool
) -> None:
    assert at_route_destination(bucket, key, ROUTES, SOURCES) is expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("quarterly-report.xlsx", False),  # issue 10 item 8: the prefix alone is not enough
        ("quarterly/report.xlsx", False),
        ("quploads-bucket/report.xlsx", True),
        ("q~fss-post-scan/uploads-bucket/" + "0" * 64, True),
    ],
)
def test_a_prefix_without_a_slash_does_not_make_every_key_a_copy(key: str, expected: bool) -> None:
    routes = {"malicious": Route("uploads-bucket", "q")}
    assert at_route_destination("uploads-bucket", key, routes, SOURCES) is expected


def test_any_bucket_allowed_trusts_a_bucket_shaped_segment_only() -> None:
    routes = {"malicious": Route("uploads-bucket", "quarantine/")}
    assert at_route_destination("uploads-bucket", "quarantine/some-bucket/a", routes, None)
    assert not at_route_destination("uploads-bucket", "quarantine/a b/c", routes, None)
    assert not at_route_destination("uploads-bucket", "quarantine/a.txt", routes, None)


def test_without_routes_nothing_is_a_route_destination() -> None:
    assert at_route_destination("uploads-bucket", "quarantine/a.txt", {}, None) is False


def test_scan_result_metadata() -> None:
    metadata, dropped = routed_metadata({"origin": "web"}, scan(codes=None), "v-1")
    assert dropped == []
    assert metadata == {
        "origin": "web",
        ROUTED_MARK: "malicious",
        "fss-post-scan-scan-date": "2024-05-01T12:00:30.000Z",
        "fss-post-scan-message-id": "m-1",
        "fss-post-scan-source-version-id": "v-1",
        "fss-post-scan-findings": "Eicar_test_file (Virus)",
        "fss-post-scan-source": "s3://uploads-bucket/dir/a b.txt",
    }


def test_codes_of_an_incomplete_scan_and_no_findings() -> None:
    metadata, _ = routed_metadata({}, scan("incomplete"), None)
    assert metadata["fss-post-scan-codes"] == "101"
    assert "fss-post-scan-findings" not in metadata
    assert "fss-post-scan-source-version-id" not in metadata


def test_forged_scan_metadata_of_the_source_is_replaced() -> None:
    metadata, _ = routed_metadata(
        {"fss-post-scan-findings": "none, trust me", "FSS-Post-Scan-Extra": "x"}, scan(), None
    )
    assert metadata["fss-post-scan-findings"] == "Eicar_test_file (Virus)"
    assert "FSS-Post-Scan-Extra" not in metadata


def test_long_values_are_cut_between_characters() -> None:
    key = "ü" * 500  # 3000 characters once percent-encoded
    metadata, _ = routed_metadata({}, scan(key=key), None)
    assert metadata_size(metadata) <= MAX_METADATA_BYTES
    source = metadata["fss-post-scan-source"]
    assert source.endswith("...")
    decoded = unquote(source.removesuffix("..."), errors="strict")
    assert len(decoded) > 300 and f"s3://uploads-bucket/{key}".startswith(decoded)


def test_no_room_for_the_mark() -> None:
    with pytest.raises(RouteError, match="no room for the fss-post-scan-routed mark"):
        routed_metadata({"note": "x" * (MAX_METADATA_BYTES - 20)}, scan(), None)


def test_making_room_for_the_mark_leaves_out_the_largest_entries_first() -> None:
    source = {"big": "x" * 1530, "medium": "y" * 490, "small": "z"}  # 2035 bytes: no room
    metadata, dropped = routed_metadata(source, scan(), None, make_room=True)
    assert dropped == ["big"]
    assert (metadata["medium"], metadata["small"]) == (source["medium"], "z")
    assert metadata[ROUTED_MARK] == "malicious"
    assert metadata_size(metadata) <= MAX_METADATA_BYTES


@settings(max_examples=150, deadline=None)
@given(
    note=st.integers(min_value=0, max_value=MAX_METADATA_BYTES),
    key=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        min_size=1,
        max_size=300,
    ),
    malware=st.text(min_size=1, max_size=400),
)
def test_metadata_never_exceeds_2kb_and_always_keeps_the_source_and_the_mark(
    note: int, key: str, malware: str
) -> None:
    message = scan_message("uploads-bucket", key, message_id="m-1")
    message["scanning_result"]["Findings"] = [{"malware": malware}]
    result = parse_scan_result(json.dumps(message), "sns-1")
    source = {"note": "n" * note}
    try:
        metadata, _ = routed_metadata(source, result, "v" * 32)
    except RouteError:
        assert note + len("note") + len(ROUTED_MARK) + len("malicious") > MAX_METADATA_BYTES
        return
    assert metadata_size(metadata) <= MAX_METADATA_BYTES
    assert metadata["note"] == source["note"]
    assert is_own_copy(metadata)
    assert all(value.isascii() and value.isprintable() for value in metadata.values())
    for value in metadata.values():
        unquote(value.removesuffix("..."), errors="strict")  # never a broken escape


@given(st.text(min_size=0, max_size=200))
def test_header_values_are_printable_ascii_and_reversible(text: str) -> None:
    value = header_value(text)
    assert value.isascii() and value.isprintable()
    assert unquote(value, errors="surrogatepass") == text


def test_tagging_round_trips_every_character_s3_allows() -> None:
    tags = {"a b": "c+d=e/f:g@h", "file_id": "x", "ü": "größe", "empty": ""}
    assert dict(parse_qsl(tagging(tags), keep_blank_values=True)) == tags
    assert "+" not in tagging({"a b": "c d"})


# --- copy arguments ---------------------------------------------------------------------------


def test_copy_arguments_of_an_unversioned_source() -> None:
    source = stored(
        headers={"ContentType": "application/pdf", "CacheControl": "no-store"},
        storage_class="STANDARD_IA",
        checksum=("SHA256", "abc="),
    )
    args = copy_arguments(source, Route("q", "p/"), {"file_id": "f 1"}, {ROUTED_MARK: "malicious"})
    assert args == {
        "MetadataDirective": "REPLACE",
        "Metadata": {ROUTED_MARK: "malicious"},
        "TaggingDirective": "REPLACE",
        "Tagging": "file_id=f%201",
        "ContentType": "application/pdf",
        "CacheControl": "no-store",
        "StorageClass": "STANDARD_IA",
        "ChecksumAlgorithm": "SHA256",
        "CopySourceIfMatch": f'"{source.etag}"',
    }


def test_copy_arguments_of_a_version_with_a_route_key() -> None:
    args = copy_arguments(stored(version_id="v1"), Route("q", "", KEY_ARN), {}, {})
    assert "CopySourceIfMatch" not in args and "Tagging" not in args
    assert (args["ServerSideEncryption"], args["SSEKMSKeyId"]) == ("aws:kms", KEY_ARN)


# --- verification -----------------------------------------------------------------------------


SINGLE, MULTIPART = CopyResult(multipart=False), CopyResult(multipart=True)


def test_a_faithful_copy_passes() -> None:
    source = stored(checksum=("CRC32", "AAAA"))
    assert verify_copy(source, stored(checksum=("CRC32", "AAAA")), SINGLE) == []


CRC = ("CRC32", "AAAA")


@pytest.mark.parametrize(
    ("copy", "result", "problem"),
    [
        (stored(size=2, checksum=CRC), SINGLE, "size 2 != source size 1"),
        (stored(size=2, checksum=CRC), MULTIPART, "size 2 != source size 1"),
        (stored(metadata={}, checksum=CRC), SINGLE, "mark is missing"),
        (stored(etag="f" * 32, checksum=CRC), SINGLE, "ETag"),
        (stored(checksum=("CRC32", "BBBB")), SINGLE, "checksum"),
        (stored(checksum=None), SINGLE, "checksum"),
    ],
)
def test_each_mismatch_is_reported(copy: StoredObject, result: CopyResult, problem: str) -> None:
    problems = verify_copy(stored(checksum=CRC), copy, result)
    assert len(problems) == 1 and problem in problems[0]


@pytest.mark.parametrize(
    ("source", "copy", "result"),
    [
        (stored(), stored(etag="a" * 32 + "-3"), MULTIPART),  # multipart copies get new ETags
        (stored(encryption="aws:kms"), stored(etag="f" * 32), SINGLE),  # KMS ETags are no MD5s
        (stored(), stored(etag="f" * 32, encryption="aws:kms"), SINGLE),
        (stored(etag="a" * 32 + "-2"), stored(etag="f" * 32), SINGLE),  # multipart-uploaded source
        (stored(checksum=("CRC32", "AAAA-2")), stored(checksum=("CRC32", "BBBB")), SINGLE),
        (stored(checksum=("CRC32", "AAAA")), stored(checksum=("CRC32", "CCCC-2")), MULTIPART),
    ],
)
def test_what_cannot_be_compared_is_not(source, copy, result) -> None:
    assert verify_copy(source, copy, result) == []
