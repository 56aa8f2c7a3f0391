"""ExposureSeconds, ScanSeconds, ActionDelaySeconds: the figures, when they apply, and clock skew.

moto stamps LastModified with the pinned clock (T0 unless moved); the function's own clock is
the pipeline's wall_clock, replaced here by a list of moments it returns one by one, so each
figure can be traced to the moment it was taken (the delete, the end of the record).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from engine_kit import T0, epoch, later, scan_message, sns_event, sns_record, upload

from post_scan import events, notify
from post_scan.config import Config

TIMINGS = ("ExposureSeconds", "ScanSeconds", "ActionDelaySeconds")


class Moments:
    """wall_clock stand-in: the given seconds after T0, one per call; the last one repeats."""

    def __init__(self, *seconds_after_t0: float) -> None:
        self._left: Iterator[float] = iter(seconds_after_t0)
        self._last = seconds_after_t0[-1]
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        self._last = next(self._left, self._last)
        return epoch(T0) + self._last


def _run(make_engine, event: dict[str, Any], moments: Moments, **env: str) -> dict[str, Any]:
    engine = make_engine(**env)
    engine.pipeline.wall_clock = moments
    return engine(event).line


def _declared(line: dict[str, Any]) -> dict[str, str]:
    """Metric name -> unit, as the line's EMF block declares them."""
    return {
        m["Name"]: m["Unit"]
        for directive in line["_aws"]["CloudWatchMetrics"]
        for m in directive["Metrics"]
    }


def test_a_deleted_malicious_upload_reports_all_three(s3, bucket, make_engine):
    """Uploaded at T0, scanned (published) at T0+30, deleted at T0+40, record done at T0+50."""
    obj = upload(s3, bucket, "x.exe")
    line = _run(
        make_engine,
        sns_event(sns_record(scan_message(bucket, "x.exe", etag=obj["etag"]))),
        Moments(40, 50),
        ALLOWED_BUCKETS=bucket,
        DELETE_MALICIOUS="true",
    )
    assert line["actions"][-1] == "delete"
    assert (line["exposure_seconds"], line["scan_seconds"], line["action_delay_seconds"]) == (
        40.0,
        30.0,
        20.0,
    )
    assert (line["ExposureSeconds"], line["ScanSeconds"], line["ActionDelaySeconds"]) == (
        40.0,
        30.0,
        20.0,
    )
    declared = _declared(line)
    assert {name: declared.get(name) for name in TIMINGS} == dict.fromkeys(TIMINGS, "Seconds")
    assert line["ClampedTimings"] == 0


def test_scan_seconds_run_to_the_scan_start_when_the_message_has_one(s3, bucket, make_engine):
    obj = upload(s3, bucket, "x.exe")
    message = scan_message(
        bucket, "x.exe", etag=obj["etag"], timestamp=later(30), scan_start_timestamp=later(12.25)
    )
    line = _run(
        make_engine,
        sns_event(sns_record(message)),
        Moments(40),
        ALLOWED_BUCKETS=bucket,
        DELETE_MALICIOUS="true",
    )
    assert line["scan_seconds"] == 12.25


def test_several_versions_report_the_one_readable_longest(s3, versioned_bucket, clock, make_engine):
    """The same bytes uploaded at T0 and T0+5 (then a clean file on top): both versions are
    deleted, each readable from its own LastModified; the figure is the longest."""
    clock.set(0)
    first = upload(s3, versioned_bucket, "twice.exe")
    clock.set(5)
    upload(s3, versioned_bucket, "twice.exe")
    clock.set(8)
    upload(s3, versioned_bucket, "twice.exe", body=b"a clean file now")
    line = _run(
        make_engine,
        sns_event(sns_record(scan_message(versioned_bucket, "twice.exe", etag=first["etag"]))),
        Moments(20, 21, 30),
        ALLOWED_BUCKETS=versioned_bucket,
        DELETE_MALICIOUS="true",
    )
    assert len(line["targets"]) == 2 and line["actions"].count("delete") == 1  # once for both
    # Deletes run oldest first: the T0 version at T0+20 (20 s), the T0+5 one at T0+21 (16 s).
    assert line["exposure_seconds"] == 20.0
    assert line["scan_seconds"] == 25.0  # the newest version (first target): T0+5 to T0+30


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"DELETE_MALICIOUS": "true", "DRY_RUN": "true"}, "dry run: nothing deleted"),
        ({"DELETE_MALICIOUS": "false", "EXTRACT_FILE_ID": "true"}, "no delete configured"),
    ],
)
def test_no_exposure_when_nothing_was_removed(s3, bucket, make_engine, env, why):
    obj = upload(s3, bucket, "x.exe", tags={"file_id": "f-1"})
    line = _run(
        make_engine,
        sns_event(sns_record(scan_message(bucket, "x.exe", etag=obj["etag"]))),
        Moments(40, 50),
        ALLOWED_BUCKETS=bucket,
        **env,
    )
    assert line["exposure_seconds"] is None, why
    assert "ExposureSeconds" not in line and "ExposureSeconds" not in _declared(line)
    assert (line["scan_seconds"], line["action_delay_seconds"]) == (30.0, 10.0)


def test_copy_mode_keeps_the_file_readable_move_mode_removes_it(
    s3, bucket, quarantine_bucket, make_engine
):
    for mode, expected in (("copy", None), ("move", 40.0)):
        obj = upload(s3, bucket, f"{mode}.exe")
        line = _run(
            make_engine,
            sns_event(sns_record(scan_message(bucket, f"{mode}.exe", etag=obj["etag"]))),
            Moments(40, 50),
            ALLOWED_BUCKETS=bucket,
            ROUTE_MALICIOUS=f"{quarantine_bucket}/held/",
            ROUTE_MODE=mode,
        )
        assert "verify" in line["actions"], line
        assert line["exposure_seconds"] == expected, mode


def test_a_moved_clean_file_has_no_exposure(s3, bucket, promote_bucket, make_engine):
    obj = upload(s3, bucket, "ok.txt", body=b"fine")
    line = _run(
        make_engine,
        sns_event(sns_record(scan_message(bucket, "ok.txt", verdict="clean", etag=obj["etag"]))),
        Moments(40, 50),
        ALLOWED_BUCKETS=bucket,
        ROUTE_CLEAN=f"{promote_bucket}/in/",
    )
    assert "delete" in line["actions"]
    assert line["exposure_seconds"] is None and line["scan_seconds"] == 30.0


def test_a_failed_delete_has_no_exposure_but_a_delay(s3, bucket, s3_calls, make_engine):
    obj = upload(s3, bucket, "x.exe")
    s3_calls.fail("DeleteObject", "SlowDown", 503, times=10)
    line = _run(
        make_engine,
        sns_event(sns_record(scan_message(bucket, "x.exe", etag=obj["etag"]))),
        Moments(40, 50),
        ALLOWED_BUCKETS=bucket,
        DELETE_MALICIOUS="true",
    )
    assert line["outcome"] == "error"
    assert line["exposure_seconds"] is None
    assert line["action_delay_seconds"] == 10.0  # the first wall-clock reading: the record's end


def test_a_rejected_result_reports_no_timing(s3, bucket, make_engine):
    """Its timestamp is not trusted (a bucket not in ALLOWED_BUCKETS): it must not move the
    percentiles."""
    obj = upload(s3, bucket, "x.exe")
    message = scan_message(bucket, "x.exe", etag=obj["etag"])
    line = _run(
        make_engine,
        sns_event(sns_record(message)),
        Moments(40),
        ALLOWED_BUCKETS="another-bucket",
        DELETE_MALICIOUS="true",
    )
    assert line["outcome"] == "rejected"
    assert (line["exposure_seconds"], line["scan_seconds"], line["action_delay_seconds"]) == (
        None,
        None,
        None,
    )
    assert not set(TIMINGS) & (set(line) | set(_declared(line)))


def test_clock_skew_is_reported_as_zero_and_counted(s3, bucket, clock, make_engine):
    """S3 stamped the upload at T0+60, the scanner says it published at T0+30 and the function's
    clock reads T0+20: every difference is negative."""
    clock.set(60)
    obj = upload(s3, bucket, "x.exe")
    line = _run(
        make_engine,
        sns_event(sns_record(scan_message(bucket, "x.exe", etag=obj["etag"]))),
        Moments(20),
        ALLOWED_BUCKETS=bucket,
        DELETE_MALICIOUS="true",
    )
    assert (line["exposure_seconds"], line["scan_seconds"], line["action_delay_seconds"]) == (
        0.0,
        0.0,
        0.0,
    )
    assert line["ClampedTimings"] == 1


def test_no_clamp_without_skew(s3, bucket, make_engine):
    obj = upload(s3, bucket, "x.exe")
    line = _run(
        make_engine,
        sns_event(sns_record(scan_message(bucket, "x.exe", etag=obj["etag"]))),
        Moments(30, 30),
        ALLOWED_BUCKETS=bucket,
        DELETE_MALICIOUS="true",
    )
    assert (line["exposure_seconds"], line["action_delay_seconds"]) == (30.0, 0.0)
    assert line["ClampedTimings"] == 0


def test_the_event_and_the_notification_say_how_long_it_was_readable(s3, bucket, make_engine):
    obj = upload(s3, bucket, "x.exe")
    engine = make_engine(ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true")
    engine.pipeline.wall_clock = Moments(4.2, 5)
    event = sns_event(sns_record(scan_message(bucket, "x.exe", etag=obj["etag"])))
    outcome = engine.pipeline.process(event["Records"][0])
    detail = events.detail(outcome, Config())
    assert detail["exposure_seconds"] == 4.2
    assert "It was readable for 4.2 s" in notify.email(detail)
    chat = notify.chat_notification(detail)["content"]["description"]
    assert "readable for 4.2 s" in chat
    outcome.exposure_seconds = None  # other outcomes: no such sentence
    assert "readable for" not in notify.email(events.detail(outcome, Config()))


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(4.2, "4.2 s"), (59.94, "59.9 s"), (61, "1 min 1 s"), (3725, "1 h 2 min")],
)
def test_durations_in_words(seconds, words):
    from post_scan import timing

    assert timing.words(seconds) == words
