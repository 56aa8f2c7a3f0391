"""The locate rules, pure: which version(s) hold the scanned content (fake S3 reads).

Only S3's own evidence decides (ETag, version ids, LastModified, size): the fake reader has no
tag read at all, so a rule that looked at tags could not pass."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from engine_kit import T0, later, scan_message

from post_scan import locate as locate_module
from post_scan.locate import (
    FOUND,
    GONE,
    SUPERSEDED,
    UNPROVEN,
    Location,
    TooManyCandidates,
    locate,
)
from post_scan.message import parse_scan_result
from post_scan.objects import Head, ObjectVersion


def version(vid: str | None, etag: str, seconds: float, size: int = 68) -> ObjectVersion:
    return ObjectVersion(vid, etag, T0 + timedelta(seconds=seconds), size)


class FakeReader:
    def __init__(self, head: Head, versions=()) -> None:
        self._head = head
        self._versions = list(versions)
        self.calls: list[tuple] = []

    def head(self) -> Head:
        self.calls.append(("head",))
        return self._head

    def versions(self):
        self.calls.append(("versions",))
        return list(self._versions)


def scan(verdict="malicious", etag=None, at=30.0, size=68, started=None):
    message = scan_message("uploads-bucket", "k", verdict=verdict, etag=etag, timestamp=later(at))
    if size is None:
        del message["scanning_result"]["TotalBytesOfFile"]
    else:
        message["scanning_result"]["TotalBytesOfFile"] = size
    if started is not None:
        message["scan_start_timestamp"] = later(started)
    return parse_scan_result(json.dumps(message), "sns-1")


def test_no_object_and_no_delete_marker_is_gone_after_one_head() -> None:
    reader = FakeReader(Head(None))
    assert locate(scan(etag="e1"), reader).status == GONE
    assert locate(scan(), reader).status == GONE
    assert reader.calls == [("head",), ("head",)]


# --- with the message's ETag ------------------------------------------------------------------


@pytest.mark.parametrize("vid", [None, "null"])
def test_etag_of_the_current_unversioned_object(vid) -> None:
    current = version(vid, "e1", 0)
    reader = FakeReader(Head(current))
    location = locate(scan(etag="e1"), reader)
    assert (location.status, location.targets) == (FOUND, (current,))
    assert location.versioned is False
    assert location.ambiguous is False
    assert reader.calls == [("head",)]  # no listing


def test_etag_of_the_current_version_lists_the_other_copies_of_the_same_bytes() -> None:
    """Issue 19: an older version with the scanned ETag is the scanned content too; acting on
    the current one only would leave the same bytes readable by their version id."""
    current, other, older = version("v3", "e1", 20), version("v2", "e2", 10), version("v1", "e1", 0)
    reader = FakeReader(Head(current), [current, other, older])
    location = locate(scan(etag="e1"), reader)
    assert (location.status, location.targets, location.versioned) == (
        FOUND,
        (current, older),
        True,
    )
    assert location.ambiguous is False  # same ETag, same bytes: nothing to guess
    assert reader.calls == [("head",), ("versions",)]


def test_etag_differs_in_an_unversioned_bucket_is_superseded() -> None:
    reader = FakeReader(Head(version(None, "e-new", 60)))
    location = locate(scan(etag="e1"), reader)
    assert location.status == SUPERSEDED
    assert "e-new" in location.reason and "e1" in location.reason
    assert reader.calls == [("head",)]


def test_etag_of_older_versions_in_a_versioned_bucket() -> None:
    newest = version("v3", "e-clean", 60)
    old_copy, original = version("v2", "e1", 10), version("v1", "e1", 0)
    reader = FakeReader(Head(newest), [newest, old_copy, original])
    location = locate(scan(etag="e1"), reader)
    # Same ETag = same bytes: every copy of the scanned content is a target.
    assert (location.status, location.targets, location.versioned) == (
        FOUND,
        (old_copy, original),
        True,
    )


def test_etag_behind_a_delete_marker() -> None:
    original = version("v1", "e1", 0)
    reader = FakeReader(Head(None, delete_marker=True), [original])
    assert locate(scan(etag="e1"), reader).targets == (original,)


def test_etag_no_longer_in_any_version_is_gone() -> None:
    current = version("v2", "e2", 0)
    reader = FakeReader(Head(current), [current])
    location = locate(scan(etag="e1"), reader)
    assert (location.status, location.targets) == (GONE, ())


# --- without an ETag: LastModified and size, never tags ----------------------------------------


def test_unversioned_object_as_old_as_the_scan_with_its_size_is_the_target() -> None:
    current = version(None, "e1", 0)
    reader = FakeReader(Head(current))
    location = locate(scan(), reader)
    assert (location.status, location.targets, location.ambiguous) == (FOUND, (current,), False)
    assert reader.calls == [("head",)]


@pytest.mark.parametrize("verdict", ["malicious", "clean"])
def test_unversioned_object_newer_than_the_scan_or_of_another_size_is_superseded(verdict) -> None:
    newer = FakeReader(Head(version(None, "e2", 31)))
    assert locate(scan(verdict, at=30, started=5), newer).status == SUPERSEDED
    assert locate(scan(verdict, at=30), newer).status == SUPERSEDED
    other_size = FakeReader(Head(version(None, "e2", 0, size=500)))
    location = locate(scan(verdict, size=68, started=5), other_size)
    assert location.status == SUPERSEDED and "500 bytes" in location.reason


def test_the_scan_start_bounds_the_candidates_when_the_message_has_it() -> None:
    during = version("v2", "e2", 10)  # uploaded while the scan ran (began at +5, published +30)
    scanned = version("v1", "e1", 0)
    reader = FakeReader(Head(during), [during, scanned])
    assert locate(scan(started=5), reader).targets == (scanned,)
    assert locate(scan(), reader).targets == (during, scanned)  # bound: the publication


def test_a_malicious_verdict_is_acted_on_for_every_candidate() -> None:
    """Tags cannot hide the scanned version: every version S3's evidence leaves in is a target
    (an older one of the same size too: the documented collateral), newest first."""
    newer = version("v4", "e4", 45)  # after the scan: never a candidate
    other = version("v3", "e3", 10, size=12)  # another size
    scanned, older = version("v2", "e2", 5), version("v1", "e1", -600)
    reader = FakeReader(Head(newer), [newer, other, scanned, older])
    location = locate(scan(), reader)
    assert (location.status, location.targets) == (FOUND, (scanned, older))
    assert location.ambiguous is True and "each is acted on" in location.reason
    assert reader.calls == [("head",), ("versions",)]


def test_a_malicious_verdict_without_the_scanned_size_takes_every_version_as_old_as_the_scan() -> (
    None
):
    sizes = [version("v2", "e2", 5, size=12), version("v1", "e1", 0, size=99)]
    assert locate(scan(size=None), FakeReader(Head(sizes[0]), sizes)).targets == tuple(sizes)


def test_no_candidate_left_is_gone() -> None:
    current = version("v2", "e2", 45)
    reader = FakeReader(Head(current), [current, version("v1", "e1", 0, size=5)])
    location = locate(scan(), reader)
    assert (location.status, location.targets) == (GONE, ())


def test_versioned_current_delete_marker_lists_versions() -> None:
    scanned = version("v1", "e1", 0)
    reader = FakeReader(Head(None, delete_marker=True), [scanned])
    assert locate(scan(), reader).targets == (scanned,)


def test_more_malicious_candidates_than_the_cap_fail_instead_of_guessing(monkeypatch) -> None:
    monkeypatch.setattr(locate_module, "MAX_CANDIDATES", 5)
    versions = [version(f"c{i}", f"e{i}", -i) for i in range(8)]
    reader = FakeReader(Head(versions[0]), versions)
    with pytest.raises(TooManyCandidates, match="8 versions"):
        locate(scan("malicious"), reader)
    assert locate(scan("clean"), reader).status == UNPROVEN  # benign: never acted on, no error


# --- benign verdicts: act only on one proven candidate ------------------------------------------


@pytest.mark.parametrize("verdict", ["clean", "incomplete", "failed"])
def test_a_benign_verdict_with_one_candidate_of_the_scanned_size_is_found(verdict) -> None:
    scanned = version("v1", "e1", 0)
    reader = FakeReader(Head(scanned), [version("v2", "e2", 40), scanned])
    location = locate(scan(verdict), reader)
    assert (location.status, location.targets) == (FOUND, (scanned,))


def test_a_benign_verdict_with_two_candidates_is_unproven() -> None:
    newer_same_size, scanned = version("v2", "e2", 10), version("v1", "e1", 0)
    reader = FakeReader(Head(newer_same_size), [newer_same_size, scanned])
    location = locate(scan("clean"), reader)
    assert (location.status, location.targets) == (UNPROVEN, (newer_same_size, scanned))
    assert "2 candidates" in location.reason and location.ambiguous is True


def test_a_benign_verdict_without_the_scanned_size_is_unproven() -> None:
    scanned = version("v1", "e1", 0)
    location = locate(scan("clean", size=None), FakeReader(Head(scanned), [scanned]))
    assert location.status == UNPROVEN and "TotalBytesOfFile" in location.reason


def test_a_benign_verdict_in_an_unversioned_bucket_needs_the_scan_start() -> None:
    """Without scan_start_timestamp, an upload of the same size made while the scan ran would
    pass for the scanned one: an unversioned bucket keeps no trace of the upload it replaced."""
    current = version(None, "e1", 0)
    location = locate(scan("clean"), FakeReader(Head(current)))
    assert location.status == UNPROVEN and "scan_start_timestamp" in location.reason
    assert locate(scan("clean", started=5), FakeReader(Head(current))).status == FOUND


def test_a_duplicate_after_the_delete_acts_on_an_older_version_of_the_same_size() -> None:
    """Documented collateral: no ETag, the scanned version already deleted by the first
    delivery, an older version of the same size as old as the scan: a malicious duplicate takes
    it too (quarantine keeps a copy); a benign one is not acted on."""
    older = version("v1", "e1", -600)
    reader = FakeReader(Head(older), [older])
    location = locate(scan("malicious"), reader)
    assert (location.status, location.targets) == (FOUND, (older,))


def test_location_reports_reasons() -> None:
    assert isinstance(locate(scan(), FakeReader(Head(None))), Location)
    assert locate(scan(), FakeReader(Head(None))).reason == "no object at the key"
