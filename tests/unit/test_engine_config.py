"""Runtime contract: every environment variable, its default, and the cold-start failures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from emulator.environ import environ_copy
from post_scan import aws, handler
from post_scan.config import Config, ConfigError, load_config

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"
TOPIC = "arn:aws:sns:us-east-1:123456789012:fss-ScanResultTopic-ABC"


def test_defaults_are_the_documented_ones() -> None:
    config = load_config({})
    assert config == Config(
        allowed_buckets=frozenset(),
        allowed_topic_arns=frozenset(),
        delete_malicious=False,
        extract_file_id=False,
        file_id_tag_key="file_id",
        file_id_table=None,
        file_id_table_key="file_id",
        record_verdicts=frozenset({"malicious", "incomplete", "failed", "unscanned"}),
        dry_run=False,
        log_level="INFO",
        file_id_table_upsert=True,
        metrics_namespace="FSSPostScan",
        function_name="local",
        route_scan_types=frozenset({"object created"}),
        scanner_routed_verdicts=frozenset(),
    )
    assert not config.bucket_allowed("any-bucket")
    assert config.topic_allowed(TOPIC)


BOOLEANS = {
    "DELETE_MALICIOUS": "delete_malicious",
    "EXTRACT_FILE_ID": "extract_file_id",
    "DRY_RUN": "dry_run",
    "FILE_ID_TABLE_UPSERT": "file_id_table_upsert",
}


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), (" TRUE ", True), ("False", False), ("false", False)]
)
def test_booleans_accept_true_false_any_case(name: str, raw: str, expected: bool) -> None:
    assert getattr(load_config({name: raw}), BOOLEANS[name]) is expected


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize("raw", ["", "   "])
def test_empty_boolean_means_default(name: str, raw: str) -> None:
    assert getattr(load_config({name: raw}), BOOLEANS[name]) == getattr(Config(), BOOLEANS[name])


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize("raw", ["yes please", "1", "yes", "on", "truee"])
def test_wrong_boolean_names_the_variable(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name) as info:
        load_config({name: raw})
    assert repr(raw) in str(info.value)


def test_allowed_buckets_list_is_stripped_and_checked() -> None:
    config = load_config({"ALLOWED_BUCKETS": " uploads-a , my.dotted.bucket,, Legacy_Bucket "})
    assert config.allowed_buckets == {"uploads-a", "my.dotted.bucket", "Legacy_Bucket"}
    assert config.bucket_allowed("my.dotted.bucket")
    assert not config.bucket_allowed("uploads-b")


def test_allowed_buckets_star_alone_means_any() -> None:
    config = load_config({"ALLOWED_BUCKETS": " * "})
    assert config.allowed_buckets is None
    assert config.bucket_allowed("whatever-bucket")


@pytest.mark.parametrize("raw", ["*,uploads-a", "ab", "bad/bucket", "x" * 256, "bucket name"])
def test_bad_allowed_buckets_names_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="ALLOWED_BUCKETS"):
        load_config({"ALLOWED_BUCKETS": raw})


def test_empty_allowed_buckets_refuses_all_and_warns() -> None:
    config = load_config({"ALLOWED_BUCKETS": " , "})
    assert config.allowed_buckets == frozenset()
    assert not config.bucket_allowed("uploads-a")
    assert any("ALLOWED_BUCKETS" in warning for warning in config.warnings())
    assert load_config({"ALLOWED_BUCKETS": "uploads-a"}).warnings() == []


def test_allowed_topic_arns() -> None:
    other = "arn:aws-cn:sns:cn-north-1:123456789012:other_topic"
    config = load_config({"ALLOWED_TOPIC_ARNS": f"{TOPIC}, {other}"})
    assert config.allowed_topic_arns == {TOPIC, other}
    assert config.topic_allowed(other)
    assert not config.topic_allowed(TOPIC + "X")


@pytest.mark.parametrize(
    "raw",
    [
        "fss-ScanResultTopic",
        "arn:aws:sns:us-east-1:1234:topic",
        "arn:aws:sqs:us-east-1:123456789012:queue",
        f"{TOPIC}, not-an-arn",
    ],
)
def test_bad_topic_arn_names_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="ALLOWED_TOPIC_ARNS"):
        load_config({"ALLOWED_TOPIC_ARNS": raw})


# Python's \d also matches non-ASCII digits (Arabic-Indic, full-width): an account id must be
# 12 ASCII digits, or S3 / the ARN comparisons fail at every message instead of at cold start.
NON_ASCII_ACCOUNT = "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662"
FULL_WIDTH_ACCOUNT = "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10\uff11\uff12"


@pytest.mark.parametrize("account", [NON_ASCII_ACCOUNT, FULL_WIDTH_ACCOUNT])
@pytest.mark.parametrize(
    ("name", "template", "extra"),
    [
        ("EXPECTED_BUCKET_OWNER", "{}", {}),
        ("ROUTE_MALICIOUS_BUCKET_OWNER", "{}", {"ROUTE_MALICIOUS": "quarantine/q/"}),
        ("ALLOWED_TOPIC_ARNS", "arn:aws:sns:us-east-1:{}:topic", {}),
        ("NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:{}:topic", {}),
        ("FILE_ID_TABLE", "arn:aws:dynamodb:us-east-1:{}:table/files", {}),
        ("EVENT_BUS", "arn:aws:events:us-east-1:{}:event-bus/bus", {}),
        (
            "ROUTE_MALICIOUS_KMS_KEY_ARN",
            "arn:aws:kms:us-east-1:{}:key/1234abcd",
            {"ROUTE_MALICIOUS": "quarantine/q/"},
        ),
        (
            "SECURITY_HUB_PRODUCT_ARN",
            "arn:aws:securityhub:us-east-1:{0}:product/{0}/default",
            {},
        ),
    ],
)
def test_account_ids_are_ascii_digits(account: str, name: str, template: str, extra: dict) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config({name: template.format(account), **extra})
    load_config({name: template.format("123456789012"), **extra})


@pytest.mark.parametrize("raw", [",", " , , ", ",,"])
def test_topic_list_of_separators_only_fails_instead_of_allowing_any_topic(raw: str) -> None:
    with pytest.raises(ConfigError, match="ALLOWED_TOPIC_ARNS"):
        load_config({"ALLOWED_TOPIC_ARNS": raw})
    assert load_config({"ALLOWED_TOPIC_ARNS": "  "}).topic_allowed(TOPIC)  # empty: any topic


def test_lists_too_long_for_the_environment_are_read_from_the_package(tmp_path: Path) -> None:
    """ALLOWED_*=file:NAME (the module's form past Lambda's 4 KB): NAME at the package root."""
    buckets = [f"uploads-{i:04d}" for i in range(1000)]
    topics = [f"arn:aws:sns:us-east-1:123456789012:stack-{i}-ScanResultTopic-X" for i in range(300)]
    (tmp_path / "allowed_buckets.txt").write_text("\n".join(buckets) + "\n")
    (tmp_path / "allowed_topic_arns.txt").write_text("\n".join(topics) + "\n\n")
    environ = {
        "ALLOWED_BUCKETS": "file:allowed_buckets.txt",
        "ALLOWED_TOPIC_ARNS": "file:allowed_topic_arns.txt",
    }
    config = load_config(environ, tmp_path)
    assert config.allowed_buckets == frozenset(buckets)
    assert config.allowed_topic_arns == frozenset(topics)
    assert config.topic_allowed(topics[299]) and not config.topic_allowed(TOPIC)
    assert not config.bucket_allowed("uploads-1000")


@pytest.mark.parametrize("name", ["ALLOWED_BUCKETS", "ALLOWED_TOPIC_ARNS"])
@pytest.mark.parametrize(
    ("raw", "files", "message"),
    [
        ("file:missing.txt", {}, "cannot read missing.txt"),
        ("file:empty.txt", {"empty.txt": "\n \n"}, "lists nothing"),
        ("file:../etc/passwd", {}, "not a file name"),
        ("file:/etc/passwd", {}, "not a file name"),
        ("file:", {}, "not a file name"),
    ],
)
def test_unreadable_list_file_fails_closed(
    tmp_path: Path, name: str, raw: str, files: dict[str, str], message: str
) -> None:
    """Never an empty list instead: an empty ALLOWED_TOPIC_ARNS would accept any topic."""
    for file_name, text in files.items():
        (tmp_path / file_name).write_text(text)
    with pytest.raises(ConfigError, match=f"{name}: .*{message}"):
        load_config({name: raw}, tmp_path)


def test_list_file_items_are_checked_like_inline_ones(tmp_path: Path) -> None:
    (tmp_path / "topics.txt").write_text(f"{TOPIC}\nnot-an-arn\n")
    with pytest.raises(ConfigError, match="ALLOWED_TOPIC_ARNS: 'not-an-arn'"):
        load_config({"ALLOWED_TOPIC_ARNS": "file:topics.txt"}, tmp_path)


def test_record_verdicts() -> None:
    assert load_config({"RECORD_VERDICTS": "Clean, malicious"}).record_verdicts == {
        "clean",
        "malicious",
    }
    assert load_config({"RECORD_VERDICTS": ""}).record_verdicts == frozenset()
    with pytest.raises(ConfigError, match=r"RECORD_VERDICTS.*'infected'"):
        load_config({"RECORD_VERDICTS": "malicious,infected"})


@pytest.mark.parametrize("name", ["FILE_ID_TAG_KEY", "FILE_ID_TABLE_KEY"])
def test_key_names(name: str) -> None:
    attribute = name.lower()
    assert getattr(load_config({name: " doc_id "}), attribute) == "doc_id"
    with pytest.raises(ConfigError, match=name):
        load_config({name: "  "})


def test_tag_key_is_at_most_128_characters() -> None:
    assert load_config({"FILE_ID_TAG_KEY": "k" * 128}).file_id_tag_key == "k" * 128
    with pytest.raises(ConfigError, match="FILE_ID_TAG_KEY"):
        load_config({"FILE_ID_TAG_KEY": "k" * 129})


@pytest.mark.parametrize(
    "raw",
    ["app-files", "App_Files.v2", "arn:aws:dynamodb:eu-west-1:123456789012:table/app-files"],
)
def test_file_id_table_name_or_arn(raw: str) -> None:
    assert load_config({"FILE_ID_TABLE": raw}).file_id_table == raw


@pytest.mark.parametrize("raw", ["ab", "app files", "arn:aws:dynamodb:eu-west-1:1:table/x"])
def test_bad_file_id_table_names_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="FILE_ID_TABLE"):
        load_config({"FILE_ID_TABLE": raw})


def test_table_without_extraction_is_a_warning_not_an_error() -> None:
    config = load_config({"ALLOWED_BUCKETS": "uploads-a", "FILE_ID_TABLE": "app-files"})
    assert config.warnings() == [
        "FILE_ID_TABLE is set but EXTRACT_FILE_ID is false: the table is ignored"
    ]
    extracting = {"ALLOWED_BUCKETS": "uploads-a", "FILE_ID_TABLE": "app-files"}
    assert load_config({**extracting, "EXTRACT_FILE_ID": "true"}).warnings() == []


def test_log_level() -> None:
    assert load_config({"LOG_LEVEL": "debug"}).log_level == "DEBUG"
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_config({"LOG_LEVEL": "verbose"})


def test_metrics_namespace() -> None:
    assert load_config({"METRICS_NAMESPACE": "Team/FSS"}).metrics_namespace == "Team/FSS"
    for raw in ["a:b", "n" * 256, "AWS/Lambda", "Team\tFSS", "Équipe/FSS"]:
        with pytest.raises(ConfigError, match="METRICS_NAMESPACE"):
            load_config({"METRICS_NAMESPACE": raw})


def test_unknown_and_deprecated_variables_are_ignored() -> None:
    assert load_config({"QUARANTINE_BUCKET": "x", "DELETE": "maybe"}) == load_config({})


def test_function_name_comes_from_the_lambda_environment() -> None:
    assert load_config({"AWS_LAMBDA_FUNCTION_NAME": "fss-post-scan"}).function_name == (
        "fss-post-scan"
    )


# --- cold start: the real import of the handler module ---------------------------------------


def _import_handler(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = environ_copy(("ALLOWED_", "FILE_ID"))
    return subprocess.run(
        [sys.executable, "-c", "import post_scan.handler"],
        env={**clean, **env, "PYTHONPATH": str(LAMBDA_DIR)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_wrong_value_fails_at_import_naming_the_variable() -> None:
    result = _import_handler({"DELETE_MALICIOUS": "yes please"})
    assert result.returncode != 0
    assert "ConfigError: DELETE_MALICIOUS must be true or false, got 'yes please'" in (
        result.stderr
    )


def test_valid_config_imports_and_logs_cold_start_warnings() -> None:
    result = _import_handler({"ALLOWED_BUCKETS": "", "FILE_ID_TABLE": "app-files"})
    assert result.returncode == 0, result.stderr
    assert "ALLOWED_BUCKETS is empty" in result.stderr
    assert "FILE_ID_TABLE is set but EXTRACT_FILE_ID is false" in result.stderr


def test_cold_start_refuses_deletes_without_conditional_delete_support(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(aws, "supports_conditional_delete", lambda: False)
    with pytest.raises(handler.BotocoreTooOld, match="IfMatch"):
        handler.cold_start({"DELETE_MALICIOUS": "true"})
    # Without deletes the old botocore is fine.
    assert handler.cold_start({"DELETE_MALICIOUS": "false"}).config.delete_malicious is False


def test_cold_start_refuses_move_routes_without_conditional_delete_support(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A move deletes the unversioned source with IfMatch too, with or without DELETE_MALICIOUS."""
    old_botocore = _session_with_delete_members({"Bucket": 1, "Key": 1})
    real_check = aws.supports_conditional_delete
    monkeypatch.setattr(aws, "supports_conditional_delete", lambda: real_check(old_botocore))
    routes = {"ROUTE_CLEAN": "promote-bucket", "ROUTE_MALICIOUS": "quarantine-bucket/q/"}
    for mode in ({}, {"ROUTE_MODE": "move"}):  # move is the default
        with pytest.raises(handler.BotocoreTooOld) as raised:
            handler.cold_start({**routes, **mode})
        message = str(raised.value)
        assert "ROUTE_MODE=move with ROUTE_MALICIOUS, ROUTE_CLEAN" in message
        assert "IfMatch" in message and "DELETE_MALICIOUS" not in message
    with pytest.raises(handler.BotocoreTooOld, match="DELETE_MALICIOUS=true and ROUTE_MODE=move"):
        handler.cold_start({**routes, "DELETE_MALICIOUS": "true"})
    # Copy routes never delete: the old botocore is fine.
    assert handler.cold_start({**routes, "ROUTE_MODE": "copy"}).config.route_mode == "copy"


def _session_with_delete_members(members: dict[str, object]) -> SimpleNamespace:
    """An S3 client whose service model's DeleteObject takes `members`."""
    operation = SimpleNamespace(input_shape=SimpleNamespace(members=members))
    model = SimpleNamespace(operation_model=lambda name: operation)
    return SimpleNamespace(meta=SimpleNamespace(service_model=model))


def test_conditional_delete_support_is_read_from_the_botocore_model() -> None:
    assert aws.supports_conditional_delete() is True  # the pinned botocore has it
    assert aws.supports_conditional_delete(_session_with_delete_members({"IfMatch": 1})) is True
    assert (
        aws.supports_conditional_delete(_session_with_delete_members({"Bucket": 1, "Key": 1}))
        is False
    )


_COUNT_S3_MODEL_LOADS = """
import re
import botocore.loaders
loads = []
original = botocore.loaders.JSONFileLoader.load_file
def load_file(self, file_path):
    if re.search(r"/s3/[^/]+/service-2$", file_path):
        loads.append(file_path)
    return original(self, file_path)
botocore.loaders.JSONFileLoader.load_file = load_file
import post_scan.handler
post_scan.aws.s3_client()
print(len(loads))
"""


def test_cold_start_loads_the_s3_model_once() -> None:
    """The conditional-delete check reads the model of the client the function then uses."""
    clean = environ_copy(("AWS_", "PYTHON"))
    result = subprocess.run(
        [sys.executable, "-c", _COUNT_S3_MODEL_LOADS],
        env={
            **clean,
            "PYTHONPATH": str(LAMBDA_DIR),
            "AWS_DEFAULT_REGION": "us-east-1",
            "ALLOWED_BUCKETS": "uploads",
            "DELETE_MALICIOUS": "true",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


@pytest.mark.parametrize("raw", [".source", "/source", "AWS.s3", "aws.s3", "a b", "s" * 257])
def test_event_source_refusals_are_the_documented_ones(raw: str) -> None:
    with pytest.raises(ConfigError, match="EVENT_SOURCE"):
        load_config({"EVENT_SOURCE": raw})
