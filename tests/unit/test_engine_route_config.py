"""Runtime contract of routes: ROUTE_<VERDICT>, ROUTE_<VERDICT>_KMS_KEY_ARN and ROUTE_MODE."""

from __future__ import annotations

import pytest

from post_scan import handler
from post_scan.config import Config, ConfigError, Route, load_config

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VARIABLES = {
    "malicious": "ROUTE_MALICIOUS",
    "clean": "ROUTE_CLEAN",
    "incomplete": "ROUTE_INCOMPLETE",
    "failed": "ROUTE_FAILED",
}


def test_no_routes_and_move_mode_by_default() -> None:
    config = load_config({"ALLOWED_BUCKETS": "uploads"})
    assert (config.routes, config.route_mode, config.moves) == ({}, "move", True)
    assert load_config({name: "" for name in VARIABLES.values()}).routes == {}


@pytest.mark.parametrize(("verdict", "name"), VARIABLES.items())
def test_each_verdict_has_its_route(verdict: str, name: str) -> None:
    config = load_config(
        {"ALLOWED_BUCKETS": "uploads", name: " quarantine ", f"{name}_KMS_KEY_ARN": KEY_ARN}
    )
    assert config.routes == {verdict: Route("quarantine", "", KEY_ARN)}


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [
        ("dest/q/", "q/"),
        ("dest/held-", "held-"),  # kept as given: no / is added
        ("dest/a/b/c/", "a/b/c/"),
        ("dest/", ""),
        ("dest/(x)!_'.-", "(x)!_'.-"),
    ],
)
def test_bucket_and_prefix(raw: str, prefix: str) -> None:
    route = load_config({"ROUTE_CLEAN": raw}).routes["clean"]
    assert (route.bucket, route.prefix, route.kms_key_arn) == ("dest", prefix, None)


@pytest.mark.parametrize(("raw", "mode"), [("move", "move"), (" COPY ", "copy"), ("", "move")])
def test_route_mode(raw: str, mode: str) -> None:
    config = load_config({"ROUTE_MODE": raw})
    assert (config.route_mode, config.moves) == (mode, mode == "move")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ROUTE_MODE": "moved"}, "ROUTE_MODE must be move or copy, got 'moved'"),
        ({"ROUTE_MALICIOUS": "Bad Bucket/q/"}, "ROUTE_MALICIOUS: 'Bad Bucket' is not a bucket"),
        ({"ROUTE_CLEAN": "ab"}, "ROUTE_CLEAN: 'ab' is not a bucket"),
        ({"ROUTE_CLEAN": "arn:aws:s3:::dest"}, "ROUTE_CLEAN: 'arn:aws:s3:::dest' is not a bucket"),
        ({"ROUTE_FAILED": "dest//q/"}, "ROUTE_FAILED: prefix '/q/'"),
        ({"ROUTE_FAILED": "dest/q/*"}, "ROUTE_FAILED: prefix 'q/*'"),
        ({"ROUTE_FAILED": "dest/${aws:username}/"}, "ROUTE_FAILED: prefix"),
        ({"ROUTE_FAILED": "dest/q?/"}, "ROUTE_FAILED: prefix"),
        ({"ROUTE_FAILED": "dest/with space/"}, "ROUTE_FAILED: prefix"),
        ({"ROUTE_INCOMPLETE": "dest/" + "p" * 513}, "ROUTE_INCOMPLETE: prefix"),
        (
            {"ROUTE_CLEAN": "dest", "ROUTE_CLEAN_KMS_KEY_ARN": "alias/quarantine"},
            "ROUTE_CLEAN_KMS_KEY_ARN: 'alias/quarantine' is not a KMS key ARN",
        ),
        (
            {"ROUTE_CLEAN_KMS_KEY_ARN": KEY_ARN},
            "ROUTE_CLEAN_KMS_KEY_ARN is set but ROUTE_CLEAN is empty",
        ),
    ],
)
def test_bad_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(environ)
    assert message in str(info.value)


def test_longest_prefix_is_accepted() -> None:
    assert load_config({"ROUTE_CLEAN": "dest/" + "p" * 512}).routes["clean"].prefix == "p" * 512


@pytest.mark.parametrize("allowed", ["uploads", "other, uploads", "*"])
@pytest.mark.parametrize("raw", ["uploads", "uploads/"])
def test_route_into_a_source_bucket_without_prefix_is_refused(allowed: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=r"ROUTE_MALICIOUS: destination bucket 'uploads' is a"):
        load_config({"ALLOWED_BUCKETS": allowed, "ROUTE_MALICIOUS": raw})


@pytest.mark.parametrize("allowed", ["uploads", "*"])
def test_route_into_a_source_bucket_with_a_prefix_is_accepted(allowed: str) -> None:
    config = load_config({"ALLOWED_BUCKETS": allowed, "ROUTE_MALICIOUS": "uploads/quarantine/"})
    assert config.routes["malicious"] == Route("uploads", "quarantine/")


def test_defaults_compare_equal_to_the_documented_config() -> None:
    assert load_config({}) == Config()
    assert str(Route("dest", "q/")) == "s3://dest/q/"


def test_cold_start_fails_on_a_bad_route(monkeypatch) -> None:
    with pytest.raises(ConfigError, match="ROUTE_CLEAN"):
        handler.cold_start({"ALLOWED_BUCKETS": "uploads", "ROUTE_CLEAN": "uploads"})
