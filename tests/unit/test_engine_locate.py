"""The locate rules, pure: which version(s) hold the scanned content (fake S3 reads)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from engine_kit import T0, later, scan_message

from post_scan import locate as locate_module
from post_scan.locate import FOUND, GONE, SUPERSEDED, Location, TooManyCandidates, locate
from post_scan.message import parse_scan_result
from post_scan.objects import Head, ObjectGone, ObjectVersion

MAL = {"fss-scan-result": "malicious", "file_id": "f-1"}
CLEAN = {"fss-scan-result": "no issues found", "file_id": "f-1"}
UNTAGGED = {"file_id": "f-1"}


def version(vid: str | None, etag: str, seconds: float, size: int = 68) -> ObjectVersion:
    return ObjectVersion(vid, etag, T0 + timedelta(seconds=seconds), size)


class FakeReader:
    def __init__(self, head: Head, versions=(), tags=None) -> None:
        self._head = head
        self._versions = list(versions)
        self._tags = tags or {}
        self.calls: list[tuple] = []

    def head(self) -> Head:
        self.calls.append(("head",))
        return self._head

    def tags(self, version_id):
        self.calls.append(("tags", version_id))
        return dict(self._tags.get(version_id, {}))

    def versions(self):
        self.calls.append(("versions",))
        return list(self._versions)


def scan(verdict="malicious", etag=None, at=30.0, size=None):
    message = scan_message("uploads-bucket", "k", verdict=verdict, etag=etag, timestamp=later(at))
    if size is None:
        del message["scanning_result"]["TotalBytesOfFile"]
    else:
        message["scanning_result"]["TotalBytesOfFile"] = size
    return parse_scan_result(json.dumps(message), "sns-1")


def test_no_object_and_no_delete_marker_is_gone_after_one_head() -> None:
    reader = FakeReader(Head(None))
    assert locate(scan(etag="e1"), reader).status == GONE
    assert locate(scan(), reader).status == GONE
    assert reader.calls == [("head",), ("head",)]


# --- with the message's ETag ------------------------------------------------------------------


@pytest.mark.parametrize("vid", [None, "null", "v2"])
def test_etag_of_the_current_object(vid) -> None:
    current = version(vid, "e1", 0)
    reader = FakeReader(Head(current))
    location = locate(scan(etag="e1"), reader)
    assert (location.status, location.targets) == (FOUND, (current,))
    assert location.versioned is (vid == "v2")
    assert location.ambiguous is False
    assert reader.calls == [("head",)]  # no tag read, no listing


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


# --- without an ETag: LastModified and the fss-scan-result tag ---------------------------------


@pytest.mark.parametrize(
    ("verdict", "tags"),
    [("malicious", MAL), ("clean", CLEAN), ("failed", {"fss-scan-result": "failure"})],
)
def test_current_object_with_a_consistent_tag(verdict, tags) -> None:
    current = version("v1", "e1", 0)
    reader = FakeReader(Head(current), [current], {"v1": tags})
    location = locate(scan(verdict), reader)
    assert (location.status, location.targets, location.tags) == (FOUND, (current,), tags)
    assert reader.calls == [("head",), ("tags", "v1")]  # the tags are reused for the file id


def test_tag_value_comparison_ignores_case_and_spaces() -> None:
    current = version(None, "e1", 0)
    reader = FakeReader(Head(current), tags={None: {"fss-scan-result": " Malicious "}})
    assert locate(scan(), reader).status == FOUND


def test_unversioned_object_newer_than_the_scan_is_superseded_without_reading_tags() -> None:
    reader = FakeReader(Head(version(None, "e2", 31)), tags={None: MAL})
    assert locate(scan(at=30), reader).status == SUPERSEDED
    assert reader.calls == [("head",)]


def test_unversioned_object_with_a_disagreeing_tag_is_superseded() -> None:
    reader = FakeReader(Head(version(None, "e2", 0)), tags={None: CLEAN})
    location = locate(scan("malicious"), reader)
    assert location.status == SUPERSEDED
    assert "disagrees" in location.reason


def test_versioned_newer_clean_upload_is_skipped_for_the_scanned_version() -> None:
    newer = version("v2", "e2", 45)  # uploaded after the scan: never the scanned one
    scanned = version("v1", "e1", 0)
    tags = {"v2": MAL, "v1": MAL}  # even a consistent tag cannot make v2 the scanned one
    reader = FakeReader(Head(newer), [newer, scanned], tags)
    location = locate(scan(at=30), reader)
    assert (location.status, location.targets, location.tags) == (FOUND, (scanned,), MAL)
    assert ("tags", "v2") not in reader.calls


def test_versioned_duplicate_after_delete_does_not_match_the_older_clean_version() -> None:
    # First delivery deleted the malicious v2; v1 (clean, tagged by FSS) became current.
    older = version("v1", "e0", -600)
    reader = FakeReader(Head(older), [older], {"v1": CLEAN})
    location = locate(scan("malicious"), reader)
    assert (location.status, location.targets) == (GONE, ())


def test_versioned_current_delete_marker_lists_versions() -> None:
    scanned = version("v1", "e1", 0)
    reader = FakeReader(Head(None, delete_marker=True), [scanned], {"v1": MAL})
    assert locate(scan(), reader).targets == (scanned,)


def test_every_candidate_version_is_read_until_one_agrees() -> None:
    """Issue 10 item 6: clean re-uploads in the scan window cannot hide the scanned version."""
    clean_versions = [version(f"c{i}", f"e{i}", -i) for i in range(15)]
    scanned = version("m", "e-mal", -20)
    tags = {v.version_id: CLEAN for v in clean_versions} | {"m": MAL}
    reader = FakeReader(Head(clean_versions[0]), [*clean_versions, scanned], tags)
    location = locate(scan("malicious"), reader)
    assert (location.status, location.targets) == (FOUND, (scanned,))
    tag_reads = [call for call in reader.calls if call[0] == "tags"]
    assert len(tag_reads) == len(set(tag_reads)) == 16  # the current version's tags read once


def test_no_candidate_agrees_is_gone_after_reading_them_all() -> None:
    clean_versions = [version(f"c{i}", f"e{i}", -i) for i in range(15)]
    tags = {v.version_id: CLEAN for v in clean_versions}
    reader = FakeReader(Head(clean_versions[0]), clean_versions, tags)
    assert locate(scan("malicious"), reader).status == GONE
    assert len([call for call in reader.calls if call[0] == "tags"]) == 15


def test_more_candidates_than_the_read_budget_fail_instead_of_guessing(monkeypatch) -> None:
    monkeypatch.setattr(locate_module, "MAX_TAG_READS", 5)
    clean_versions = [version(f"c{i}", f"e{i}", -i) for i in range(8)]
    tags = {v.version_id: CLEAN for v in clean_versions}
    reader = FakeReader(Head(clean_versions[0]), clean_versions, tags)
    with pytest.raises(TooManyCandidates, match="8 versions"):
        locate(scan("malicious"), reader)
    assert len([call for call in reader.calls if call[0] == "tags"]) == 5


class DeletingReader(FakeReader):
    """Versions listed, then deleted before their tags are read (by the uploader, say)."""

    def __init__(self, *args, deleted=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._deleted = set(deleted)

    def tags(self, version_id):
        if version_id in self._deleted:
            self.calls.append(("tags", version_id))
            raise ObjectGone("NoSuchVersion")
        return super().tags(version_id)


def test_a_candidate_deleted_meanwhile_is_skipped_not_object_gone() -> None:
    newer_clean = [version(f"c{i}", f"e{i}", -i) for i in range(3)]
    scanned = version("m", "e-mal", -20)
    tags = {v.version_id: CLEAN for v in newer_clean} | {"m": MAL}
    reader = DeletingReader(
        Head(newer_clean[0]), [*newer_clean, scanned], tags, deleted={"c0", "c1"}
    )
    assert locate(scan("malicious"), reader).targets == (scanned,)


# --- the ambiguous case: no ETag and FSS tagging off -------------------------------------------


def test_ambiguous_unversioned_takes_the_current_object_and_says_so() -> None:
    current = version(None, "e1", 0)
    reader = FakeReader(Head(current), tags={None: UNTAGGED})
    location = locate(scan(), reader)
    assert (location.status, location.targets, location.ambiguous) == (FOUND, (current,), True)
    assert location.tags == UNTAGGED


def test_ambiguous_unversioned_with_another_size_is_superseded() -> None:
    reader = FakeReader(Head(version(None, "e1", 0, size=500)), tags={None: UNTAGGED})
    assert locate(scan(size=68), reader).status == SUPERSEDED


def test_ambiguous_versioned_takes_the_newest_version_not_newer_than_the_scan() -> None:
    newer, scanned, older = version("v3", "e3", 45), version("v2", "e2", 0), version("v1", "e1", -9)
    reader = FakeReader(Head(newer), [newer, scanned, older], {})
    location = locate(scan(at=30), reader)
    assert (location.targets, location.ambiguous) == ((scanned,), True)


def test_ambiguous_versioned_uses_the_scanned_size_when_known() -> None:
    scanned_other_size = version("v2", "e2", 0, size=10)
    older_same_size = version("v1", "e1", -9, size=68)
    reader = FakeReader(Head(scanned_other_size), [scanned_other_size, older_same_size], {})
    assert locate(scan(size=68), reader).targets == (older_same_size,)
    assert locate(scan(size=999), reader).status == GONE


def test_pinned_ambiguity_duplicate_can_match_the_version_that_became_current() -> None:
    """Documented limit: FSS tagging off, no ETag, versioned, same size: the duplicate of a
    malicious result after the first delete picks the older version that became current."""
    older = version("v1", "e1", -600)
    reader = FakeReader(Head(older), [older], {"v1": UNTAGGED})
    location = locate(scan("malicious", size=68), reader)
    assert (location.status, location.targets, location.ambiguous) == (FOUND, (older,), True)


def test_location_reports_reasons() -> None:
    assert isinstance(locate(scan(), FakeReader(Head(None))), Location)
    assert locate(scan(), FakeReader(Head(None))).reason == "no object at the key"
