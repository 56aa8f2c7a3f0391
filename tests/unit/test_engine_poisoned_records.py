"""One record never fails another (issue 19, finding 3): a queue batch of genuine malicious results
plus one poisoned record, with events, notifications and Security Hub configured. Each layer is
tested on its own: the parser (no invalid Unicode gets past it), the announcer (a record whose
announcement cannot be built, sized or sent fails alone), the handler (an announcer that raises
fails only the records it had to announce; a log line that cannot be rendered is replaced by a
minimal one and fails its record only)."""

from __future__ import annotations

import json

import pytest
from engine_kit import scan_message, sns_notification, sqs_event, sqs_record, upload

from post_scan import announce, events, logline, message
from post_scan.valid_text import is_valid

LONE = "\\ud800"  # a lone surrogate, as the JSON text of a message spells it


def batch(s3, bucket: str, poison) -> tuple[dict, list[str], str]:
    """3 genuine malicious results and a 4th, passed through poison(message) -> JSON text.
    (event, the 3 genuine messageIds, the poisoned messageId)."""
    records = []
    for number in range(3):
        key = f"batch/{number}.exe"
        obj = upload(s3, bucket, key, tags={"file_id": f"f-{number}"})
        records.append(sqs_record(sns_notification(scan_message(bucket, key, etag=obj["etag"]))))
    obj = upload(s3, bucket, "batch/poisoned.exe", tags={"file_id": "f-p"})
    message = scan_message(bucket, "batch/poisoned.exe", etag=obj["etag"])
    records.append(sqs_record(sns_notification(poison(message))))
    return sqs_event(*records), [r["messageId"] for r in records[:3]], records[3]["messageId"]


def error_object_with_a_lone_surrogate(message: dict) -> str:
    message["scanning_result"]["Error"] = {"e": "@@LONE@@"}
    return json.dumps(message).replace("@@LONE@@", LONE)


@pytest.fixture
def engine(bucket, targets, make_engine):
    return make_engine(
        ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true", EXTRACT_FILE_ID="true", **targets.env
    )


def failed(run) -> list[str]:
    assert run.error is None, run.error
    return [item["itemIdentifier"] for item in run.result["batchItemFailures"]]


def assert_valid_utf8_everywhere(run, announce_calls) -> None:
    for raw in run.raw:
        assert raw.isascii()
        assert is_valid(json.dumps(json.loads(raw), ensure_ascii=False))
    for name, params in announce_calls.calls:
        text = json.dumps(params, ensure_ascii=False)
        assert is_valid(text), name
        text.encode("utf-8")


def test_a_scan_error_object_with_a_lone_surrogate_is_repaired_and_sinks_nothing(
    s3, bucket, targets, engine, announce_calls
) -> None:
    """The reproduction of finding 3: it used to raise UnicodeEncodeError out of the handler (no
    batchItemFailures, no log line, nothing announced, the whole batch back on the queue)."""
    event, genuine, poisoned = batch(s3, bucket, error_object_with_a_lone_surrogate)
    run = engine(event)
    assert failed(run) == []
    assert [line["outcome"] for line in run.lines] == ["processed"] * 4
    assert [line["queue_message_id"] for line in run.lines] == [*genuine, poisoned]
    assert run.lines[3]["scan_error"] == '{"e": "\ufffd"}'
    assert all("delete" in line["actions"] for line in run.lines)
    assert len(targets.events()) == 4
    assert len(targets.notifications()) == 4
    assert len(targets.findings()) == 4
    assert_valid_utf8_everywhere(run, announce_calls)


@pytest.mark.parametrize("poison", ["envelope", "sqs_message_id"])
def test_a_record_naming_itself_in_invalid_unicode_fails_alone_and_loudly(
    s3, bucket, targets, engine, announce_calls, poison
) -> None:
    """Identifying text is refused at parse: an error outcome (Errors = 1, in batchItemFailures,
    retried, then dead-lettered), never a silent success; the others are untouched by it."""

    def forge(message: dict) -> str:
        if poison == "sqs_message_id":
            message["sqs_message_id"] += "@@LONE@@"
            return json.dumps(message).replace("@@LONE@@", LONE)
        return json.dumps(message)

    event, _genuine, poisoned = batch(s3, bucket, forge)
    if poison == "envelope":  # the SNS notification's MessageId
        body = json.loads(event["Records"][3]["body"])
        body["MessageId"] += "@@LONE@@"
        event["Records"][3]["body"] = json.dumps(body).replace("@@LONE@@", LONE)
    run = engine(event)
    assert failed(run) == [poisoned]
    assert [line["outcome"] for line in run.lines] == ["processed"] * 3 + ["error"]
    assert run.lines[3]["Errors"] == 1 and "not valid Unicode" in run.lines[3]["reason"]
    assert len(targets.events()) == 3 and len(targets.findings()) == 3
    assert_valid_utf8_everywhere(run, announce_calls)


def test_an_announcement_that_cannot_be_encoded_fails_its_record_only(
    s3, bucket, targets, engine, announce_calls, monkeypatch
) -> None:
    """Defence in depth: were invalid text to reach the announcer anyway (here: the detail is not
    repaired, neither by the parser nor in the detail), sizing is per record, and a batch call that
    fails on one entry's data is retried entry by entry: the poisoned record fails with the
    reason, the 3 others are announced."""
    monkeypatch.setattr(message, "repaired", lambda text: text)
    monkeypatch.setattr(events, "repaired_data", lambda body: body)
    event, _genuine, poisoned = batch(s3, bucket, error_object_with_a_lone_surrogate)
    run = engine(event)
    assert failed(run) == [poisoned]
    assert [line["outcome"] for line in run.lines] == ["processed"] * 3 + ["error"]
    reason = run.lines[3]["reason"]
    for what in ("event", "notification"):
        assert f"{what} not sent: UnicodeEncodeError" in reason, reason
    assert run.lines[3]["Errors"] == 1 and "delete" in run.lines[3]["actions"]
    assert len(targets.events()) == 3
    assert len(targets.notifications()) == 3
    assert len(targets.findings()) == 4, "the finding carries no scan error: it went out"
    for line in run.lines[:3]:
        assert {"put_event", "publish", "import_finding"} <= set(line["actions"])


def test_a_sender_failing_on_one_entrys_data_fails_that_record_only(
    s3, bucket, targets, engine, announce_calls, monkeypatch
) -> None:
    """The batch call itself raises (e.g. parameter validation on one entry): each entry is then
    sent alone, so only the entry that fails alone fails its record."""
    sender = announce.Announcer(engine.pipeline.config).sender
    real = type(sender).put_events

    def put_events(self, entries):
        if any("poisoned" in e["Detail"] for e in entries):
            raise TypeError("cannot serialize this entry")
        return real(self, entries)

    monkeypatch.setattr(type(sender), "put_events", put_events)
    event, _genuine, poisoned = batch(s3, bucket, json.dumps)
    run = engine(event)
    assert failed(run) == [poisoned]
    assert "event not sent: TypeError: cannot serialize this entry" in run.lines[3]["reason"]
    assert len(targets.events()) == 3
    assert len(targets.notifications()) == 4, "the other targets are not affected"


def test_a_service_failure_of_a_batch_call_is_not_retried_entry_by_entry(
    s3, bucket, targets, engine, announce_calls
) -> None:
    """A throttled or failing service fails the batch's records (retried later) without 4 more
    calls that would fail the same way."""
    announce_calls.fail("PutEvents", "InternalFailure", status=500, times=10)
    event, genuine, poisoned = batch(s3, bucket, json.dumps)
    run = engine(event)
    assert sorted(failed(run)) == sorted([*genuine, poisoned])
    assert announce_calls.names().count("PutEvents") == 1


def test_an_announcer_that_raises_fails_the_records_it_had_to_announce(
    s3, bucket, targets, engine, monkeypatch
) -> None:
    """The last net: a bug that escapes the announcer fails every record it had to announce, each
    with its log line; nothing escapes the handler."""

    def broken(self, outcomes):
        raise RuntimeError("a bug")

    monkeypatch.setattr(announce.Announcer, "plan", broken)
    event, genuine, poisoned = batch(s3, bucket, json.dumps)
    run = engine(event)
    assert failed(run) == [*genuine, poisoned]
    assert len(run.lines) == 4
    for line in run.lines:
        assert line["outcome"] == "error" and line["Errors"] == 1
        assert "announcing failed: RuntimeError: a bug" in line["reason"]


def test_a_log_line_that_cannot_be_rendered_is_replaced_and_fails_its_record(
    s3, bucket, targets, engine, monkeypatch
) -> None:
    real = logline.build

    def build(outcome, *args):
        if outcome.scan is not None and outcome.scan.key.endswith("poisoned.exe"):
            raise ValueError("no line for this one")
        return real(outcome, *args)

    monkeypatch.setattr(logline, "build", build)
    event, _genuine, poisoned = batch(s3, bucket, json.dumps)
    run = engine(event)
    assert failed(run) == [poisoned]
    assert len(run.lines) == 4, "a line per record, whatever happens"
    assert [line["outcome"] for line in run.lines[:3]] == ["processed"] * 3
    fallback = run.lines[3]
    assert fallback["outcome"] == "error" and fallback["handled_outcome"] == "processed"
    assert fallback["queue_message_id"] == poisoned
    assert fallback["key"] == "batch/poisoned.exe" and fallback["verdict"] == "malicious"
    assert fallback["error"]["type"] == "LogLineError"
    assert "no line for this one" in fallback["error"]["message"]
    assert fallback["Errors"] == 1 and fallback["ScanResults"] == 1
    assert fallback["ObjectsDeleted"] == 1, "what was done still counts"
    names = {m["Name"] for d in fallback["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"ScanResults", "Errors", "ObjectsDeleted"} <= names


def test_the_fallback_line_renders_whatever_the_outcome_holds() -> None:
    from post_scan.pipeline import Outcome

    outcome = Outcome(dry_run=False, queue_message_id="q-\udc80", topic_arn=object())  # type: ignore[arg-type]
    outcome.actions.append(object())  # type: ignore[arg-type]
    text = logline.fallback(outcome, "NS", "fn", 1, RuntimeError("x \ud800"))
    line = json.loads(text)
    assert text.isascii() and is_valid(json.dumps(line, ensure_ascii=False))
    assert line["queue_message_id"] == "q-\ufffd" and line["outcome"] == "error"
    assert line["Verdict"] == "unparsed" and line["Errors"] == 1
