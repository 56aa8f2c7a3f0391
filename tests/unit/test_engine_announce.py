"""Announcements through the handler: the EventBridge event, the SNS notification, the Security Hub
finding; what is announced, what each carries, and the JSON Schema of the event detail."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import jsonschema
import pytest
from announce_kit import PRODUCT_ARN, SOURCE, schema
from engine_kit import (
    OTHER_TOPIC_ARN,
    scan_message,
    sns_event,
    sns_record,
    upload,
)

from post_scan import events, publishers
from post_scan.config import VERDICTS, Config, ConfigError, load_config
from post_scan.message import Finding, ScanResult
from post_scan.pipeline import Outcome

VALIDATOR = jsonschema.Draft202012Validator(schema())


def valid(detail: dict) -> dict:
    errors = sorted(VALIDATOR.iter_errors(detail), key=str)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    return detail


def publish_entries(calls) -> list[dict]:
    return [
        entry
        for params in calls.params("PublishBatch")
        for entry in params["PublishBatchRequestEntries"]
    ]


def bodies(entry: dict) -> dict:
    assert entry["MessageStructure"] == "json"
    return json.loads(entry["Message"])


# --- configuration ----------------------------------------------------------------------------


def test_notify_verdicts_default_is_every_verdict_but_clean() -> None:
    config = load_config({})
    assert config.notify_verdicts == set(VERDICTS) - {"clean"}
    assert (config.event_bus, config.notify_topic_arn, config.security_hub_product_arn) == (
        None,
        None,
        None,
    )
    assert config.event_source == "fss-post-scan" and config.notify_chat is True
    assert not config.announces


def test_announcement_variables_are_read() -> None:
    topic = "arn:aws-cn:sns:cn-north-1:123456789012:alerts"
    product = "arn:aws-cn:securityhub:cn-north-1:123456789012:product/123456789012/default"
    config = load_config(
        {
            "EVENT_BUS": "arn:aws:events:eu-west-1:210987654321:event-bus/central",
            "EVENT_SOURCE": "acme.uploads",
            "NOTIFY_TOPIC_ARN": topic,
            "NOTIFY_VERDICTS": " CLEAN, malicious ,,",
            "NOTIFY_CHAT": "false",
            "SECURITY_HUB_PRODUCT_ARN": product,
        }
    )
    assert config.event_bus == "arn:aws:events:eu-west-1:210987654321:event-bus/central"
    assert config.event_source == "acme.uploads"
    assert config.notify_topic_arn == topic
    assert config.notify_verdicts == {"clean", "malicious"}
    assert config.notify_chat is False
    assert config.security_hub_product_arn == product
    assert config.announced("clean") and not config.announced("failed")


def test_empty_notify_verdicts_announces_nothing_and_warns() -> None:
    config = load_config({"EVENT_BUS": "default", "NOTIFY_VERDICTS": ""})
    assert config.notify_verdicts == frozenset()
    assert not config.announced("malicious")
    assert any("NOTIFY_VERDICTS is empty" in w for w in config.warnings())


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EVENT_BUS", "my bus"),
        ("EVENT_BUS", "arn:aws:sqs:us-east-1:123456789012:queue"),
        ("EVENT_SOURCE", "aws.s3"),
        ("EVENT_SOURCE", "AWS.fss"),
        ("EVENT_SOURCE", "has space"),
        ("EVENT_SOURCE", ""),
        ("NOTIFY_TOPIC_ARN", "alerts"),
        ("NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:alerts.fifo"),
        ("NOTIFY_VERDICTS", "malicious,infected"),
        ("NOTIFY_CHAT", "yes"),
        ("SECURITY_HUB_PRODUCT_ARN", "arn:aws:securityhub:us-east-1::product/aws/guardduty"),
        (
            "SECURITY_HUB_PRODUCT_ARN",
            "arn:aws:securityhub:us-east-1:123456789012:product/210987654321/default",
        ),
        ("SECURITY_HUB_PRODUCT_ARN", "true"),
    ],
)
def test_bad_announcement_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config({name: value})


# --- what is announced ------------------------------------------------------------------------


def test_malicious_file_is_announced_everywhere_after_it_is_deleted(
    s3, bucket, targets, make_engine, announce_calls
) -> None:
    obj = upload(s3, bucket, "in/invoice.pdf", tags={"file_id": "f-1"})
    message = scan_message(bucket, "in/invoice.pdf", etag=obj["etag"], message_id="scan-1")
    engine = make_engine(
        ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true", EXTRACT_FILE_ID="true", **targets.env
    )

    run = engine(sns_event(sns_record(message)))

    assert run.error is None and run.line["outcome"] == "processed"
    # The announcements come after the delete, and are listed as calls in the log line.
    names = announce_calls.names()
    assert names == ["PutEvents", "PublishBatch", "BatchImportFindings"]
    assert run.line["actions"][-3:] == ["put_event", "publish", "import_finding"]
    (event,) = targets.events()
    assert (event["source"], event["detail-type"]) == (SOURCE, "Scan Result Processed")
    detail = valid(event["detail"])
    assert detail["verdict"] == "malicious" and detail["outcome"] == "processed"
    assert detail["action"] == "delete" and "delete" in detail["actions"]
    assert (detail["bucket"], detail["key"], detail["etag"]) == (
        bucket,
        "in/invoice.pdf",
        obj["etag"],
    )
    assert detail["file_id"] == "f-1"
    assert detail["findings"] == [{"malware": "Eicar_test_file", "type": "Virus"}]
    assert detail["scan_message_id"] == "scan-1" and detail["dry_run"] is False
    (notification,) = targets.notifications()
    assert notification == detail, "the SNS default body is the event detail"
    assert targets.drain(targets.malicious_queue) == [detail]
    (finding,) = targets.findings()
    assert finding["ProductArn"] == PRODUCT_ARN
    assert finding["Malware"][0]["State"] == "REMOVED"


def test_clean_is_not_announced_by_default_and_is_when_listed(
    s3, bucket, targets, make_engine, announce_calls
) -> None:
    obj = upload(s3, bucket, "ok.txt", body=b"fine", tags={"file_id": "f-ok"})
    message = scan_message(bucket, "ok.txt", verdict="clean", etag=obj["etag"])
    quiet = make_engine(ALLOWED_BUCKETS=bucket, **targets.env)
    run = quiet(sns_event(sns_record(message)))
    assert run.line["outcome"] == "processed" and announce_calls.names() == []
    assert run.line["actions"] == [], "no AWS call at all for a verdict nobody hears about"

    loud = make_engine(
        ALLOWED_BUCKETS=bucket, NOTIFY_VERDICTS="clean", EXTRACT_FILE_ID="true", **targets.env
    )
    run = loud(sns_event(sns_record(message)))
    assert run.line["outcome"] == "processed"
    (event,) = targets.events()
    assert valid(event["detail"])["verdict"] == "clean"
    # No finding for a clean file.
    assert announce_calls.names() == ["PutEvents", "PublishBatch"]
    assert targets.findings() == []
    # The malicious-only subscription's filter policy (on the verdict attribute) kept it out.
    assert len(targets.notifications()) == 1 and targets.drain(targets.malicious_queue) == []


def test_file_id_is_carried_without_a_table_and_without_recording(
    s3, bucket, table, dynamodb, targets, make_engine, announce_calls
) -> None:
    """EXTRACT_FILE_ID=true, no FILE_ID_TABLE: the file id is read for the event alone. With a
    table, an announced verdict that RECORD_VERDICTS leaves out is announced with its file id but
    not written to the table."""
    obj = upload(s3, bucket, "k.bin", body=b"fine", tags={"file_id": "f-77"})
    message = scan_message(bucket, "k.bin", verdict="clean", etag=obj["etag"])
    no_table = make_engine(
        ALLOWED_BUCKETS=bucket, EXTRACT_FILE_ID="true", NOTIFY_VERDICTS="clean", **targets.env
    )
    run = no_table(sns_event(sns_record(message)))
    assert run.line["file_id"] == "f-77"
    assert valid(targets.events()[0]["detail"])["file_id"] == "f-77"

    with_table = make_engine(
        ALLOWED_BUCKETS=bucket,
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
        NOTIFY_VERDICTS="clean",
        **targets.env,
    )
    run = with_table(sns_event(sns_record(message)))
    assert run.line["file_id"] == "f-77" and "record" not in run.line["actions"]
    assert "not in RECORD_VERDICTS" in run.line["reason"]
    assert dynamodb.get_item(TableName=table, Key={"file_id": {"S": "f-77"}}).get("Item") is None
    assert targets.events()[0]["detail"]["file_id"] == "f-77"


def test_untrusted_or_unparsed_records_are_not_announced(
    s3, bucket, targets, make_engine, announce_calls
) -> None:
    engine = make_engine(
        ALLOWED_BUCKETS=bucket, ALLOWED_TOPIC_ARNS=targets.topic_arn, **targets.env
    )
    forged = sns_record(scan_message(bucket, "x"), topic_arn=OTHER_TOPIC_ARN)
    elsewhere = sns_record(scan_message("someone-elses-bucket", "x"), topic_arn=targets.topic_arn)
    garbage = sns_record("not a scan result", topic_arn=targets.topic_arn)
    run = engine(sns_event(forged, elsewhere, garbage))
    assert [line["outcome"] for line in run.lines] == ["rejected", "rejected", "error"]
    assert announce_calls.names() == []


def test_own_copies_are_not_announced_twice(
    s3, bucket, quarantine_bucket, targets, make_engine, announce_calls
) -> None:
    engine = make_engine(
        ALLOWED_BUCKETS=f"{bucket},{quarantine_bucket}",
        ROUTE_MALICIOUS=f"{quarantine_bucket}/q/",
        **targets.env,
    )
    obj = upload(s3, bucket, "evil.exe")
    run = engine(sns_event(sns_record(scan_message(bucket, "evil.exe", etag=obj["etag"]))))
    assert run.line["outcome"] == "processed"
    copy_key = f"q/{bucket}/evil.exe"
    copy = s3.head_object(Bucket=quarantine_bucket, Key=copy_key)
    run = engine(
        sns_event(
            sns_record(scan_message(quarantine_bucket, copy_key, etag=copy["ETag"].strip('"')))
        )
    )
    assert run.line["outcome"] == "skipped_own_copy"
    assert len(targets.events()) == 1 and len(targets.findings()) == 1


def test_a_failed_record_is_announced_with_its_error(
    s3, bucket, targets, make_engine, s3_calls
) -> None:
    """A malicious file that could not be handled is the notice people need most."""
    obj = upload(s3, bucket, "stuck.exe")
    s3_calls.fail("DeleteObject", "AccessDenied", 403)
    engine = make_engine(ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true", **targets.env)
    run = engine(sns_event(sns_record(scan_message(bucket, "stuck.exe", etag=obj["etag"]))))
    assert run.line["outcome"] == "error" and run.error is not None
    detail = valid(targets.events()[0]["detail"])
    assert detail["outcome"] == "error"
    assert "AccessDenied" in detail["error"]["type"] + detail["error"]["message"]
    (finding,) = targets.findings()
    assert finding["Malware"][0]["State"] == "REMOVAL_FAILED"
    assert finding["Severity"]["Label"] == "CRITICAL"


def test_dry_run_announces_what_would_have_been_done(s3, bucket, targets, make_engine) -> None:
    obj = upload(s3, bucket, "dry.exe")
    engine = make_engine(
        ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true", DRY_RUN="true", **targets.env
    )
    run = engine(sns_event(sns_record(scan_message(bucket, "dry.exe", etag=obj["etag"]))))
    assert run.line["outcome"] == "processed"
    detail = valid(targets.events()[0]["detail"])
    assert detail["dry_run"] is True and "would_delete" in detail["actions"]
    assert targets.findings()[0]["Malware"][0]["State"] == "OBSERVED"


# --- the SNS notification ---------------------------------------------------------------------


def test_notification_has_a_body_per_protocol_a_subject_and_attributes(
    s3, bucket, targets, make_engine, announce_calls
) -> None:
    obj = upload(s3, bucket, "reports/q3.xlsx", tags={"file_id": "f-9"})
    engine = make_engine(
        ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true", EXTRACT_FILE_ID="true", **targets.env
    )
    engine(sns_event(sns_record(scan_message(bucket, "reports/q3.xlsx", etag=obj["etag"]))))
    (entry,) = publish_entries(announce_calls)
    assert entry["Subject"] == f"[fss-post-scan] Malware found in {bucket}: deleted"
    assert entry["MessageAttributes"] == {
        "verdict": {"DataType": "String", "StringValue": "malicious"},
        "outcome": {"DataType": "String", "StringValue": "processed"},
        "bucket": {"DataType": "String", "StringValue": bucket},
        "scanner": {"DataType": "String", "StringValue": "fss"},
    }
    per_protocol = bodies(entry)
    assert set(per_protocol) == {"default", "email", "https"}
    detail = valid(json.loads(per_protocol["default"]))
    email = per_protocol["email"]
    assert email.splitlines()[0] == "Malware found: deleted"
    for fact in (
        f"s3://{bucket}/reports/q3.xlsx",
        "File id:     f-9",
        "Eicar_test_file (Virus)",
        "deleted for good",
        "Next steps:",
        detail["scan_message_id"],
    ):
        assert fact in email
    chat = json.loads(per_protocol["https"])
    assert (chat["version"], chat["source"]) == ("1.0", "custom")
    assert chat["content"]["textType"] == "client-markdown"
    assert chat["content"]["title"] == ":rotating_light: Malware found: deleted"
    assert "f-9" in chat["content"]["description"] and chat["content"]["nextSteps"]
    assert chat["metadata"]["threadId"].startswith("fss-post-scan-")


def test_notify_chat_false_sends_https_subscribers_the_detail(
    s3, bucket, targets, make_engine, announce_calls
) -> None:
    obj = upload(s3, bucket, "a.exe")
    engine = make_engine(
        ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true", NOTIFY_CHAT="false", **targets.env
    )
    engine(sns_event(sns_record(scan_message(bucket, "a.exe", etag=obj["etag"]))))
    (entry,) = publish_entries(announce_calls)
    assert set(bodies(entry)) == {"default", "email"}


HOSTILE_KEY = (
    "in/<!channel> <https://evil.example|invoice>\n*URGENT*: `pay` [here](http://x) & \u202e.pdf"
)


def test_an_uploaders_key_cannot_forge_lines_mentions_or_links(
    s3, bucket, targets, make_engine, announce_calls
) -> None:
    obj = upload(s3, bucket, HOSTILE_KEY, tags={"file_id": "@here = + /x"})
    engine = make_engine(
        ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true", EXTRACT_FILE_ID="true", **targets.env
    )
    engine(sns_event(sns_record(scan_message(bucket, HOSTILE_KEY, etag=obj["etag"]))))
    per_protocol = bodies(publish_entries(announce_calls)[0])
    assert json.loads(per_protocol["default"])["key"] == HOSTILE_KEY, "machines get it exactly"
    email = per_protocol["email"]
    assert "\u202e" not in email and "\\u202e" in email
    assert not any(line.startswith("*URGENT*") for line in email.splitlines())
    chat = json.loads(per_protocol["https"])
    text = json.dumps(chat, ensure_ascii=False)
    for markup in ("<!channel>", "<https://", "\u202e", "&"):
        assert markup not in text, markup
    description = chat["content"]["description"]
    # Every value sits in its own code span: no backtick from the key closes one early.
    assert all(line.count("`") in (0, 2) for line in description.splitlines())
    assert len(description.splitlines()) == 5


# Every character Python's str.splitlines() breaks a line at (the ones mail and chat clients,
# editors and terminals break at, too): LF, CR, VT, FF, FS, GS, RS, NEL, LS (U+2028), PS (U+2029).
LINE_BREAKS = ["\n", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
# Those moto can store in a key (its XML answers fail on the other control characters).
STORABLE_BREAKS = ["\r", "\x85", "\u2028", "\u2029"]


def test_line_breaks_listed_are_all_that_python_knows() -> None:
    found = [chr(c) for c in range(0x110000) if len(f"a{chr(c)}b".splitlines()) > 1]
    assert found == LINE_BREAKS


def forged_key(name: str) -> str:
    return f"in/report{name}Verdict:     clean{name}Done:        Nothing to do{name}.pdf"


def assert_no_forged_lines(name: str, email: str, chat_description: str) -> None:
    escape = name.encode("unicode_escape").decode("ascii")
    for body in (email, chat_description):
        lines = body.splitlines()
        assert not any(line.lstrip("*").startswith("Verdict:     clean") for line in lines)
        assert not any(line.startswith("Done:        Nothing to do") for line in lines)
        assert escape in body
        assert name == "\n" or name not in body  # the bodies' own lines end in "\n"
    verdicts = [line for line in email.splitlines() if line.startswith("Verdict:")]
    assert verdicts == ["Verdict:     malicious: Eicar_test_file"]


@pytest.mark.parametrize("name", STORABLE_BREAKS, ids=[f"U+{ord(c):04X}" for c in STORABLE_BREAKS])
def test_no_line_breaking_character_in_a_key_forges_lines_in_the_email(
    s3, bucket, targets, make_engine, announce_calls, name: str
) -> None:
    """Finding 6: U+2028 / U+2029 passed plain_text, and the e-mail showed the attacker's lines."""
    key = forged_key(name)
    obj = upload(s3, bucket, key, tags={"file_id": "f-1"})
    engine = make_engine(
        ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true", EXTRACT_FILE_ID="true", **targets.env
    )
    run = engine(sns_event(sns_record(scan_message(bucket, key, etag=obj["etag"]))))
    assert run.line["outcome"] == "processed"
    per_protocol = bodies(publish_entries(announce_calls)[0])
    assert json.loads(per_protocol["default"])["key"] == key, "machines get it exactly"
    chat = json.loads(per_protocol["https"])["content"]["description"]
    email = per_protocol["email"].replace("(Virus)", "").replace("file ", "file")
    assert_no_forged_lines(name, email, chat)
    (finding,) = targets.findings()
    assert name not in finding["Title"] and name not in finding["Description"]


@pytest.mark.parametrize("name", LINE_BREAKS, ids=[f"U+{ord(c):04X}" for c in LINE_BREAKS])
def test_no_line_breaking_character_anywhere_forges_lines(name: str) -> None:
    """Every line break, in every attacker-controlled text the e-mail and chat bodies show: the
    key, the file id, the malware name, the error, the destination (from the key)."""
    outcome = _outcome(
        file_id=f"id{name}Verdict:     clean",
        destination=f"s3://q/{forged_key(name)}",
        outcome="error",
        error=ValueError(f"boom{name}Done:        Nothing to do"),
    )
    scan = outcome.scan
    outcome.scan = dataclasses.replace(scan, key=forged_key(name))
    detail = events.detail(outcome, Config())
    from post_scan import notify

    email = notify.email(detail)
    chat = notify.chat_notification(detail)["content"]["description"]
    assert_no_forged_lines(name, email, chat)


def test_plain_text_leaves_nothing_that_breaks_a_line_or_hides() -> None:
    """Every code point: what plain_text returns never splits into lines, and holds no control,
    format, surrogate, private-use or unassigned character, nor a line / paragraph separator."""
    import unicodedata

    from post_scan.notify import plain_text

    every = "".join(chr(c) for c in range(0x110000))
    text = plain_text(every, limit=10 * len(every))
    assert len(text.splitlines()) == 1
    assert not any(
        unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")
        for ch in text
    )
    assert plain_text("ordinary text: ünïcödé 日本語 \U0001f600 a\u00a0b") == (
        "ordinary text: ünïcödé 日本語 \U0001f600 a\u00a0b"
    )


def test_subject_is_short_ascii_whatever_the_bucket(
    s3, targets, announce_calls, make_engine
) -> None:
    bucket = "Legacy_Bucket_" + "x" * 120
    s3.create_bucket(Bucket="placeholder-bucket")
    engine = make_engine(ALLOWED_BUCKETS=bucket, **targets.env)
    run = engine(sns_event(sns_record(scan_message(bucket, "f", url_form="s3-uri"))))
    assert run.line["outcome"] == "processed"
    (entry,) = publish_entries(announce_calls)
    assert entry["Subject"].isascii() and len(entry["Subject"]) < 100
    assert "\n" not in entry["Subject"]


# --- Security Hub -----------------------------------------------------------------------------


def test_a_redelivered_malicious_file_updates_its_finding(
    s3, bucket, targets, make_engine, announce_calls
) -> None:
    obj = upload(s3, bucket, "twice.exe")
    message = scan_message(bucket, "twice.exe", etag=obj["etag"])
    engine = make_engine(ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true", **targets.env)
    first = engine(sns_event(sns_record(message)))
    second = engine(sns_event(sns_record(message)))
    assert [first.line["outcome"], second.line["outcome"]] == ["processed", "object_gone"]
    imports = [p["Findings"][0] for p in announce_calls.params("BatchImportFindings")]
    assert len(imports) == 2 and imports[0]["Id"] == imports[1]["Id"]
    assert imports[0]["CreatedAt"] == imports[1]["CreatedAt"]
    assert imports[1]["UpdatedAt"] > imports[0]["UpdatedAt"], "else Security Hub ignores it"
    (finding,) = targets.findings()
    assert finding["Malware"][0]["State"] == "REMOVED"


def test_only_malicious_files_get_findings_whatever_notify_verdicts_says(
    s3, bucket, targets, make_engine, announce_calls
) -> None:
    engine = make_engine(ALLOWED_BUCKETS=bucket, NOTIFY_VERDICTS="clean", **targets.env)
    for verdict in ("malicious", "incomplete", "failed", "clean"):
        engine(sns_event(sns_record(scan_message(bucket, verdict, verdict=verdict))))
    assert [e["detail"]["verdict"] for e in targets.events()] == ["clean"]
    assert [f["Malware"][0]["Name"] for f in targets.findings()] == ["Eicar_test_file"]


def test_security_hub_alone_sends_no_event_or_notification(
    s3, bucket, targets, make_engine, announce_calls
) -> None:
    engine = make_engine(ALLOWED_BUCKETS=bucket, SECURITY_HUB_PRODUCT_ARN=PRODUCT_ARN)
    engine(sns_event(sns_record(scan_message(bucket, "k"))))
    assert announce_calls.names() == ["BatchImportFindings"]


# --- nothing configured: no client, no call ---------------------------------------------------


def test_without_targets_no_announcement_client_is_created(
    s3, bucket, make_engine, monkeypatch
) -> None:
    created = []
    monkeypatch.setattr(publishers, "client", lambda *a: created.append(a))
    engine = make_engine(ALLOWED_BUCKETS=bucket)
    run = engine(sns_event(sns_record(scan_message(bucket, "k"))))
    assert run.line["outcome"] == "processed" and created == []


# --- the detail and its schema ----------------------------------------------------------------


def _outcome(**changes) -> Outcome:
    scan = ScanResult(
        message_id="m-1",
        message_id_source="sqs_message_id",
        timestamp=Decimal("1714564830.25"),
        bucket="uploads",
        key="k",
        verdict="malicious",
        scanner_status=0,
        findings=(Finding("Eicar_test_file", None),),
        codes=(),
        etag=None,
        size=None,
    )
    return dataclasses.replace(Outcome(dry_run=False, scan=scan), **changes)


def test_schema_verdicts_are_the_engines() -> None:
    assert schema()["properties"]["verdict"]["enum"] == list(VERDICTS)


def test_schema_documents_every_field_the_detail_has() -> None:
    detail = events.detail(_outcome(error=ValueError("x"), outcome="error"), Config())
    assert set(detail) == set(schema()["properties"]) == set(schema()["required"])
    valid(detail)


def test_fields_the_outcome_gains_later_flow_into_the_detail() -> None:
    """A later change adds a field to Outcome (or ScanResult): the event carries it as it is."""
    extended = dataclasses.make_dataclass(
        "ExtendedOutcome",
        [
            ("retry_hint", str | None, None),
            ("quota_state", dict, dataclasses.field(default_factory=dict)),
        ],
        bases=(Outcome,),
    )
    outcome = extended(
        dry_run=False, scan=_outcome().scan, retry_hint="later", quota_state={"n": 1}
    )
    detail = events.detail(outcome, Config())
    assert detail["retry_hint"] == "later" and detail["quota_state"] == {"n": 1}
    scan = dataclasses.make_dataclass(
        "ExtendedScan", [("engine_version", str, "2.3.1")], bases=(ScanResult,), frozen=True
    )(**dataclasses.asdict(_outcome().scan) | {"findings": (), "codes": ()})
    assert events.detail(_outcome(scan=scan), Config())["engine_version"] == "2.3.1"
    valid(detail)


def test_findings_are_capped_and_counted() -> None:
    many = tuple(Finding(f"Trojan.{n}", "Trojan") for n in range(250))
    outcome = _outcome(scan=dataclasses.replace(_outcome().scan, findings=many))
    detail = valid(events.detail(outcome, Config()))
    assert len(detail["findings"]) == events.MAX_FINDINGS and detail["findings_count"] == 250
