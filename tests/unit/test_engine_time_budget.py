"""Issue 19 finding 4: every loop over S3 calls watches the invocation's remaining time.

A slow store (every S3 call costs simulated time) and a Lambda context that counts down on the
same clock: a record that cannot finish stops with an error (retried, then dead-lettered) before
the function's timeout, and the other records of the batch are reported on their own.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from engine_kit import (
    EICAR_BODY,
    later,
    scan_message,
    sns_notification,
    sqs_event,
    sqs_record,
    upload,
    versions_of,
)

from post_scan import aws, handler

CALL_SECONDS = 0.015
# The engine's margin (post_scan.budget.TIME_MARGIN_SECONDS; checked below).
TIME_MARGIN_SECONDS = 3.0


def test_the_margin_is_the_engines() -> None:
    from post_scan import budget

    assert budget.TIME_MARGIN_SECONDS == TIME_MARGIN_SECONDS


class FakeTime:
    def __init__(self, left: float) -> None:
        self.left = left

    def context(self) -> Any:
        return SimpleNamespace(get_remaining_time_in_millis=lambda: int(self.left * 1000))


class SlowStore(aws.S3Objects):
    """Every S3 request (each page of a listing too) costs CALL_SECONDS of the invocation."""

    def __init__(self, s3: Any, clock: FakeTime) -> None:
        super().__init__()
        self._clock = clock
        s3.meta.events.register("before-call.s3", self._tick, unique_id="slow-store")
        self._events = s3.meta.events

    def _tick(self, **kwargs: Any) -> None:
        self._clock.left -= CALL_SECONDS

    def close(self) -> None:
        self._events.unregister("before-call.s3", unique_id="slow-store")


@pytest.fixture
def slow(s3: Any) -> Any:
    stores: list[SlowStore] = []

    def make(left: float) -> tuple[SlowStore, FakeTime]:
        clock = FakeTime(left)
        stores.append(SlowStore(s3, clock))
        return stores[-1], clock

    yield make
    for store in stores:
        store.close()


def env(bucket: str, **more: str) -> dict[str, str]:
    return {
        "ALLOWED_BUCKETS": bucket,
        "EXTRACT_FILE_ID": "true",
        "FILE_ID_TABLE": "app-files",
        "DELETE_MALICIOUS": "true",
        **more,
    }


def run_batch(engine: Any, clock: FakeTime, *messages: dict[str, Any]) -> tuple[Any, list]:
    records = [
        sqs_record(sns_notification(m), f"q-{i}", receive_count=1) for i, m in enumerate(messages)
    ]
    capsys = engine._capsys
    capsys.readouterr()
    result = handler.handle_event(engine.pipeline, sqs_event(*records), clock.context())
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    return result, lines


def test_a_thousand_clean_tagged_versions_cannot_run_past_the_timeout(
    s3, versioned_bucket, table, make_engine, clock, slow
) -> None:
    """Finding 4: 1,000 forged-clean versions in the scan window, 5 s left, 15 ms per call."""
    for i in range(1000):
        clock.set(i * 0.01)
        upload(
            s3,
            versioned_bucket,
            "doc.bin",
            body=EICAR_BODY,
            tags={"fss-scan-result": "no issues found", "file_id": f"c-{i}"},
        )
    store, fake = slow(5.0)
    engine = make_engine(s3_store=store, **env(versioned_bucket))
    message = scan_message(versioned_bucket, "doc.bin", timestamp=later(30))  # no ETag
    result, lines = run_batch(engine, fake, message)

    assert fake.left >= TIME_MARGIN_SECONDS - CALL_SECONDS, "ran into the function's timeout"
    (line,) = lines
    assert line["outcome"] == "error"  # never a silent success, never a timeout
    assert result == {"batchItemFailures": [{"itemIdentifier": "q-0"}]}


def test_a_record_out_of_time_stops_cleanly_and_the_batch_reports_each_record(
    s3, versioned_bucket, table, make_engine, clock, slow
) -> None:
    """50 versions with the scanned bytes (one ETag): deleting them all takes longer than the
    invocation has; the record stops before the margin, the next one fails fast, both retried."""
    first = None
    for i in range(50):
        clock.set(i * 0.1)
        made = upload(s3, versioned_bucket, "same.bin", body=EICAR_BODY, tags={"file_id": "f-1"})
        first = first or made
    upload(s3, versioned_bucket, "other.bin", body=EICAR_BODY, tags={"file_id": "f-2"})
    store, fake = slow(TIME_MARGIN_SECONDS + 0.5)
    engine = make_engine(s3_store=store, **env(versioned_bucket))
    assert first is not None
    result, lines = run_batch(
        engine,
        fake,
        scan_message(versioned_bucket, "same.bin", etag=first["etag"]),
        scan_message(versioned_bucket, "other.bin", etag=first["etag"]),
    )

    assert fake.left >= TIME_MARGIN_SECONDS - CALL_SECONDS
    assert [line["outcome"] for line in lines] == ["error", "error"]
    assert all(line["error"]["type"] == "OutOfTime" for line in lines)
    assert result == {"batchItemFailures": [{"itemIdentifier": f"q-{i}"} for i in range(2)]}


def test_with_the_time_it_needs_the_same_batch_finishes(
    s3, versioned_bucket, table, make_engine, clock, slow
) -> None:
    obj = None
    for i in range(50):
        clock.set(i * 0.1)
        obj = upload(s3, versioned_bucket, "same.bin", body=EICAR_BODY, tags={"file_id": "f-1"})
    assert obj is not None
    store, fake = slow(60.0)
    engine = make_engine(s3_store=store, **env(versioned_bucket))
    result, lines = run_batch(
        engine, fake, scan_message(versioned_bucket, "same.bin", etag=obj["etag"])
    )
    assert result == {"batchItemFailures": []}
    assert lines[0]["outcome"] == "processed", lines[0]["reason"]
    assert versions_of(s3, versioned_bucket, "same.bin") == ([], [])
