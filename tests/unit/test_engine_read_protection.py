"""READ_PROTECTION in the engine: routed copies carry the result tags the module's bucket
policies key on, and until_clean reports clean objects the scanner has not tagged clean
(UntaggedCleanObjects), after looking once more (the scanner tags in parallel with the function).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from engine_kit import scan_message, sns_event, sns_record, upload

from post_scan import handler
from post_scan.config import ConfigError, load_config
from post_scan.pipeline import RECHECK_SECONDS
from post_scan.protection import copy_tags, result_tags, tagged_clean

KEY = "inbox/report 7.pdf"
CLEAN_TAGS = {"fss-scan-result": "no issues found", "fss-scan-detail-code": "0"}


def tags_of(s3: Any, bucket: str, key: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["off", "malicious", "until_clean", "UNTIL_CLEAN", " malicious "])
def test_read_protection_values(value: str) -> None:
    assert load_config({"READ_PROTECTION": value}).read_protection == value.strip().lower()


def test_read_protection_defaults_to_off() -> None:
    assert load_config({}).read_protection == "off"
    assert load_config({"READ_PROTECTION": ""}).read_protection == "off"


@pytest.mark.parametrize("value", ["on", "clean", "until-clean", "true"])
def test_bad_read_protection_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="READ_PROTECTION"):
        load_config({"READ_PROTECTION": value})


# --- pure decisions ---------------------------------------------------------------------------


def test_tagged_clean_needs_both_tags_exactly() -> None:
    assert tagged_clean(CLEAN_TAGS)
    assert tagged_clean({**CLEAN_TAGS, "file_id": "f-1"})
    assert not tagged_clean({})
    assert not tagged_clean({"fss-scan-result": "no issues found"})
    assert not tagged_clean({**CLEAN_TAGS, "fss-scan-detail-code": "107"})  # encrypted archive
    assert not tagged_clean({**CLEAN_TAGS, "fss-scan-result": "No issues found"})
    assert not tagged_clean({**CLEAN_TAGS, "fss-scan-result": "malicious"})


@pytest.mark.parametrize(
    ("verdict", "mode", "expected"),
    [
        ("clean", "until_clean", CLEAN_TAGS),
        ("clean", "malicious", {}),  # untagged objects are readable there anyway
        ("clean", "off", {}),
        ("malicious", "malicious", {"fss-scan-result": "malicious"}),
        ("malicious", "until_clean", {"fss-scan-result": "malicious"}),
        ("malicious", "off", {}),
        ("incomplete", "until_clean", {}),
        ("failed", "malicious", {}),
    ],
)
def test_result_tags_per_verdict_and_mode(verdict: str, mode: str, expected: dict) -> None:
    assert result_tags(verdict, mode) == expected


def test_copy_of_an_untagged_source_gets_the_result_tags() -> None:
    tags, note = copy_tags("clean", {"file_id": "f-1"}, "until_clean")
    assert tags == {"file_id": "f-1", **CLEAN_TAGS}
    assert "had not tagged the source" in note


def test_copy_of_a_tagged_source_keeps_the_scanners_tags() -> None:
    source = {"file_id": "f-1", **CLEAN_TAGS, "fss-scan-date": "2024/05/01 12:00:01"}
    assert copy_tags("clean", source, "until_clean") == (source, "")


def test_copy_of_a_source_tagged_incomplete_stays_unreadable() -> None:
    source = {"file_id": "f-1", "fss-scan-result": "no issues found", "fss-scan-detail-code": "104"}
    tags, note = copy_tags("clean", source, "until_clean")
    assert tags == source and not tagged_clean(tags)
    assert "fss-scan-detail-code=104 says it is not clean" in note


# --- finding 5: the copy's result tags are the verdict's, never the uploader's -----------------

FORGED_CLEAN = {"fss-scan-result": "no issues found", "fss-scan-detail-code": "0"}


@pytest.mark.parametrize("mode", ["malicious", "until_clean"])
@pytest.mark.parametrize(
    "forged",
    [
        FORGED_CLEAN,
        {"FSS-SCAN-RESULT": "no issues found"},
        {"fss-scan-result": "no issues found", "Fss-Scan-Result": "No Issues Found"},
        {"fss-scan-result": "malicious ", "FSS-scan-result": "x"},
        {"fss-a": "scan-result=no issues found"},
    ],
)
def test_a_quarantined_copy_is_always_tagged_malicious(mode: str, forged: dict) -> None:
    tags, note = copy_tags("malicious", {"file_id": "f-1", **forged}, mode, file_id_key="file_id")
    assert tags["fss-scan-result"] == "malicious"
    assert [k for k in tags if k.lower() == "fss-scan-result"] == ["fss-scan-result"]
    assert tags["file_id"] == "f-1"
    if "fss-a" in forged:  # not a spelling of the result key: kept, says nothing to the policy
        assert tags["fss-a"] == forged["fss-a"]
    else:
        assert "by the malicious verdict, not with the source's" in note


@pytest.mark.parametrize("forged_clean", [False, True])
def test_a_quarantined_copy_at_the_tag_limit_drops_an_uploader_tag_not_the_result(
    forged_clean: bool,
) -> None:
    source = {f"app-{i}": str(i) for i in range(9)}
    source["file_id"] = "f-1"
    if forged_clean:  # the forged tag is replaced in place: nothing else goes
        del source["app-8"]
        source["FSS-Scan-Result"] = "no issues found"
    tags, note = copy_tags("malicious", source, "malicious", file_id_key="file_id")
    assert len(tags) == 10 and tags["fss-scan-result"] == "malicious"
    assert tags["file_id"] == "f-1", "kept first: a replay finds the row by it"
    if forged_clean:
        assert "FSS-Scan-Result" not in tags and "without the source's tags" not in note
    else:
        assert "app-8" not in tags
        assert "without the source's tags app-8 (S3 allows 10 tags per object)" in note


def test_a_quarantined_copy_keeps_the_scanners_own_tags_before_the_uploaders() -> None:
    source = {f"app-{i}": str(i) for i in range(8)}
    source.update({"fss-scan-date": "2024/05/01 12:00:01", "fss-scanned": "true"})
    tags, _ = copy_tags("malicious", source, "until_clean", file_id_key="file_id")
    assert {"fss-scan-result", "fss-scan-date", "fss-scanned"} <= set(tags)
    assert len(tags) == 10 and "app-7" not in tags


@pytest.mark.parametrize(
    "objection",
    [
        {"FSS-SCAN-RESULT": "malicious"},
        {"fss-scan-result": "failure"},
        {"Fss-Scan-Detail-Code": "107"},
        {"fss-x": "scan-result=malicious"},
    ],
)
def test_a_promoted_copy_is_not_tagged_clean_against_a_tag_that_says_otherwise(
    objection: dict,
) -> None:
    """Uploader-writable evidence makes the copy more careful (hidden), never less."""
    source = {"file_id": "f-1", **FORGED_CLEAN, **objection}
    tags, note = copy_tags("clean", source, "until_clean")
    assert not tagged_clean(tags)
    assert "says it is not clean" in note


@pytest.mark.parametrize("verdict", ["incomplete", "failed", "unscanned"])
def test_a_copy_of_a_non_clean_verdict_never_carries_a_clean_tag(verdict: str) -> None:
    tags, note = copy_tags(verdict, {"file_id": "f-1", **FORGED_CLEAN}, "until_clean")
    assert tags == {"file_id": "f-1"}
    assert "does not carry the source's fss-scan-result=no issues found" in note


def test_a_promoted_copy_gets_the_clean_tags_by_the_verdict_not_the_uploaders_spelling() -> None:
    source = {"file_id": "f-1", "FSS-SCAN-RESULT": "no issues found"}
    tags, note = copy_tags("clean", source, "until_clean")
    assert tags == {"file_id": "f-1", **CLEAN_TAGS}
    assert "by the clean verdict, not with the source's FSS-SCAN-RESULT=no issues found" in note


def test_copy_tags_fill_up_to_ten() -> None:
    source = {f"app-{i}": str(i) for i in range(8)}
    tags, _ = copy_tags("clean", source, "until_clean")
    assert tags == {**source, **CLEAN_TAGS} and len(tags) == 10


@pytest.mark.parametrize("count", [9, 10])
def test_copy_tags_never_drop_an_application_tag_at_the_limit(count: int) -> None:
    source = {f"app-{i}": str(i) for i in range(count)}
    tags, note = copy_tags("clean", source, "until_clean")
    assert tags == source
    assert "S3 allows 10 tags" in note and "unreadable under until_clean" in note


def test_copy_tags_are_the_sources_when_protection_is_off() -> None:
    assert copy_tags("clean", {"a": "1"}, "off") == ({"a": "1"}, "")


# --- routed copies ----------------------------------------------------------------------------


def promote_env(source: str, promote: str, mode: str, **more: str) -> dict[str, str]:
    return {"ALLOWED_BUCKETS": source, "ROUTE_CLEAN": promote, "READ_PROTECTION": mode, **more}


def test_promoted_copy_of_an_untagged_source_is_tagged_clean(
    s3, bucket, promote_bucket, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, body=b"harmless", tags={"file_id": "f-1"})
    engine = make_engine(**promote_env(bucket, promote_bucket, "until_clean"))
    run = engine(
        sns_event(sns_record(scan_message(bucket, KEY, verdict="clean", etag=obj["etag"])))
    )
    assert run.error is None, run.line
    assert tags_of(s3, promote_bucket, f"{bucket}/{KEY}") == {"file_id": "f-1", **CLEAN_TAGS}
    assert "had not tagged the source" in run.line["reason"]
    assert run.line["UntaggedCleanObjects"] == 0


def test_promoted_copy_of_a_tagged_source_has_exactly_its_tags(
    s3, bucket, promote_bucket, make_engine
) -> None:
    source_tags = {"file_id": "f-1", **CLEAN_TAGS, "fss-scan-date": "2024/05/01 12:00:01"}
    obj = upload(s3, bucket, KEY, body=b"harmless", tags=source_tags)
    engine = make_engine(**promote_env(bucket, promote_bucket, "until_clean"))
    run = engine(
        sns_event(sns_record(scan_message(bucket, KEY, verdict="clean", etag=obj["etag"])))
    )
    assert run.error is None, run.line
    assert tags_of(s3, promote_bucket, f"{bucket}/{KEY}") == source_tags
    assert "had not tagged" not in run.line["reason"]


def test_promoted_copy_is_not_tagged_without_until_clean(
    s3, bucket, promote_bucket, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, body=b"harmless", tags={"file_id": "f-1"})
    for mode in ("off", "malicious"):
        engine = make_engine(**promote_env(bucket, promote_bucket, mode, ROUTE_MODE="copy"))
        message = scan_message(bucket, KEY, verdict="clean", etag=obj["etag"])
        assert engine(sns_event(sns_record(message))).error is None
        assert tags_of(s3, promote_bucket, f"{bucket}/{KEY}") == {"file_id": "f-1"}


def test_promoted_copy_at_the_tag_limit_keeps_the_applications_tags_and_says_so(
    s3, bucket, promote_bucket, make_engine
) -> None:
    source_tags = {f"app-{i}": str(i) for i in range(10)}
    obj = upload(s3, bucket, KEY, body=b"harmless", tags=source_tags)
    engine = make_engine(**promote_env(bucket, promote_bucket, "until_clean"))
    run = engine(
        sns_event(sns_record(scan_message(bucket, KEY, verdict="clean", etag=obj["etag"])))
    )
    assert run.error is None, run.line
    assert tags_of(s3, promote_bucket, f"{bucket}/{KEY}") == source_tags
    assert "S3 allows 10 tags" in run.line["reason"]
    assert run.line["UntaggedCleanObjects"] == 1


def test_quarantined_copy_of_a_forged_clean_upload_with_ten_tags_is_tagged_malicious(
    s3, bucket, quarantine_bucket, make_engine
) -> None:
    """Finding 5 through the handler: the upload carries a forged clean result and 9 more tags;
    the quarantined copy is tagged malicious and keeps the file id."""
    source = {"fss-scan-result": "no issues found", "file_id": "f-1"}
    source.update({f"app-{i}": str(i) for i in range(8)})
    obj = upload(s3, bucket, KEY, tags=source)
    engine = make_engine(
        ALLOWED_BUCKETS=bucket,
        ROUTE_MALICIOUS=quarantine_bucket,
        READ_PROTECTION="malicious",
        EXTRACT_FILE_ID="true",
    )
    run = engine(sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"]))))
    assert run.error is None, run.line
    copy = tags_of(s3, quarantine_bucket, f"{bucket}/{KEY}")
    assert copy == {**source, "fss-scan-result": "malicious"}
    assert "not with the source's fss-scan-result=no issues found" in run.line["reason"]


def test_quarantined_copy_of_an_untagged_source_is_tagged_malicious(
    s3, bucket, quarantine_bucket, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    engine = make_engine(
        ALLOWED_BUCKETS=bucket, ROUTE_MALICIOUS=quarantine_bucket, READ_PROTECTION="malicious"
    )
    run = engine(sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"]))))
    assert run.error is None, run.line
    copy = tags_of(s3, quarantine_bucket, f"{bucket}/{KEY}")
    assert copy == {"file_id": "f-1", "fss-scan-result": "malicious"}


# --- until_clean: is the clean object tagged clean? ------------------------------------------


class Pauses:
    """Stands in for time.sleep; can run something during the pause (the scanner tagging)."""

    def __init__(self, during: Any = None) -> None:
        self.seconds: list[float] = []
        self._during = during

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        if self._during:
            self._during()


def check_engine(make_engine, bucket: str, pauses: Pauses, **more: str):
    engine = make_engine(ALLOWED_BUCKETS=bucket, READ_PROTECTION="until_clean", **more)
    engine.pipeline._sleep = pauses
    return engine


def clean_event(s3, bucket: str, tags: dict[str, str] | None) -> dict:
    obj = upload(s3, bucket, KEY, body=b"harmless", tags=tags)
    return sns_event(sns_record(scan_message(bucket, KEY, verdict="clean", etag=obj["etag"])))


def test_clean_object_tagged_clean_is_fine(s3, bucket, make_engine) -> None:
    pauses = Pauses()
    run = check_engine(make_engine, bucket, pauses)(clean_event(s3, bucket, CLEAN_TAGS))
    assert run.error is None, run.line
    assert run.line["actions"] == ["head", "read_tags"]
    assert run.line["UntaggedCleanObjects"] == 0
    assert pauses.seconds == []


def test_clean_object_never_tagged_is_reported(s3, bucket, make_engine) -> None:
    pauses = Pauses()
    run = check_engine(make_engine, bucket, pauses)(clean_event(s3, bucket, {"file_id": "f-1"}))
    assert run.error is None, run.line
    assert pauses.seconds == [RECHECK_SECONDS]
    assert run.line["actions"] == ["head", "read_tags", "read_tags"]
    assert run.line["UntaggedCleanObjects"] == 1
    assert run.line["outcome"] == "processed"
    assert "until_clean denies every read" in run.line["reason"]


def test_incomplete_scan_tags_on_a_clean_verdict_are_reported(s3, bucket, make_engine) -> None:
    tags = {**CLEAN_TAGS, "fss-scan-detail-code": "107"}
    run = check_engine(make_engine, bucket, Pauses())(clean_event(s3, bucket, tags))
    assert run.line["UntaggedCleanObjects"] == 1
    assert "'fss-scan-detail-code': '107'" in run.line["reason"]


def test_clean_object_tagged_during_the_pause_is_fine(s3, bucket, make_engine) -> None:
    def scanner_tags() -> None:
        tag_set = [{"Key": k, "Value": v} for k, v in CLEAN_TAGS.items()]
        s3.put_object_tagging(Bucket=bucket, Key=KEY, Tagging={"TagSet": tag_set})

    pauses = Pauses(during=scanner_tags)
    run = check_engine(make_engine, bucket, pauses)(clean_event(s3, bucket, None))
    assert pauses.seconds == [RECHECK_SECONDS]
    assert run.line["UntaggedCleanObjects"] == 0


def test_no_second_look_without_the_time_for_it(s3, bucket, make_engine, capsys) -> None:
    pauses = Pauses()
    engine = check_engine(make_engine, bucket, pauses)
    event = clean_event(s3, bucket, None)
    context = SimpleNamespace(get_remaining_time_in_millis=lambda: 5_000)
    capsys.readouterr()
    handler.handle_event(engine.pipeline, event, context)
    line = capsys.readouterr().out
    assert pauses.seconds == []
    assert '"UntaggedCleanObjects":0' in line and "no time left to look again" in line


def test_second_look_when_the_invocation_has_time(s3, bucket, make_engine, capsys) -> None:
    pauses = Pauses()
    engine = check_engine(make_engine, bucket, pauses)
    context = SimpleNamespace(get_remaining_time_in_millis=lambda: 60_000)
    handler.handle_event(engine.pipeline, clean_event(s3, bucket, None), context)
    assert pauses.seconds == [RECHECK_SECONDS]
    assert '"UntaggedCleanObjects":1' in capsys.readouterr().out


@pytest.mark.parametrize("mode", ["off", "malicious"])
def test_no_check_without_until_clean(s3, bucket, make_engine, mode: str) -> None:
    engine = make_engine(ALLOWED_BUCKETS=bucket, READ_PROTECTION=mode)
    run = engine(clean_event(s3, bucket, None))
    assert run.line["actions"] == []
    assert run.line["UntaggedCleanObjects"] == 0


@pytest.mark.parametrize("verdict", ["malicious", "incomplete", "failed"])
def test_only_clean_verdicts_are_checked(s3, bucket, make_engine, verdict: str) -> None:
    obj = upload(s3, bucket, KEY)
    engine = check_engine(make_engine, bucket, Pauses())
    run = engine(
        sns_event(sns_record(scan_message(bucket, KEY, verdict=verdict, etag=obj["etag"])))
    )
    assert run.line["actions"] == []
    assert run.line["UntaggedCleanObjects"] == 0


def test_moved_clean_source_is_not_checked_its_copy_is_tagged(
    s3, bucket, promote_bucket, make_engine
) -> None:
    pauses = Pauses()
    engine = check_engine(make_engine, bucket, pauses, ROUTE_CLEAN=promote_bucket)
    run = engine(clean_event(s3, bucket, None))
    assert run.error is None, run.line
    assert run.line["actions"][-1] == "delete"
    assert pauses.seconds == []
    assert tagged_clean(tags_of(s3, promote_bucket, f"{bucket}/{KEY}"))


def test_copied_clean_source_is_checked(s3, bucket, promote_bucket, make_engine) -> None:
    pauses = Pauses()
    engine = check_engine(
        make_engine, bucket, pauses, ROUTE_CLEAN=promote_bucket, ROUTE_MODE="copy"
    )
    run = engine(clean_event(s3, bucket, None))
    assert run.error is None, run.line
    assert pauses.seconds == [RECHECK_SECONDS]
    assert run.line["UntaggedCleanObjects"] == 1


def test_check_runs_in_dry_run_too(s3, bucket, make_engine) -> None:
    pauses = Pauses()
    run = check_engine(make_engine, bucket, pauses, DRY_RUN="true")(clean_event(s3, bucket, None))
    assert run.line["UntaggedCleanObjects"] == 1


def test_object_gone_before_the_check_is_not_reported(s3, bucket, make_engine) -> None:
    event = clean_event(s3, bucket, None)
    pauses = Pauses(during=lambda: s3.delete_object(Bucket=bucket, Key=KEY))
    run = check_engine(make_engine, bucket, pauses)(event)
    assert run.error is None, run.line
    assert run.line["outcome"] == "object_gone"
    assert run.line["UntaggedCleanObjects"] == 0
