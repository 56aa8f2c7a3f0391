"""The read protection policies (the plan-level fixtures the module's output is compared with in
tests/read_protection.tftest.hcl): parliament finds nothing wrong with them, and the evaluator
proves allow/deny for every principal, tag state and action against the spec. Then the evaluator
itself, operator by operator, including how a key missing from the request is treated.
"""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parliament import analyze_policy_string
from policy_eval import (
    ALLOW,
    DENY,
    IMPLICIT_DENY,
    Request,
    Unsupported,
    condition_holds,
    evaluate,
    role_session,
    s3_request,
    supports,
)
from read_protection_cases import mismatches, principals

FIXTURES = Path(__file__).parent.parent / "fixtures"
MODES = ("malicious", "until_clean")
ACCOUNT = "111122223333"
FUNCTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/fss-post-scan-post-scan"
SCANNERS = [  # the function's role and read_protection_scanner_principal_arns
    FUNCTION_ROLE,
    f"arn:aws:iam::{ACCOUNT}:role/StorageStack-BucketListenerExecutionRole-ABC",
    f"arn:aws:iam::{ACCOUNT}:role/StorageStack-PostScanActionTagExecutionRole-DEF",
]
EXEMPT = [f"arn:aws:iam::{ACCOUNT}:role/breakglass/*"]  # read_protection_exempt_principal_arns
APP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/app-uploads"
BUCKET_OBJECT = "arn:aws:s3:::uploads-bucket/inbox/report.pdf"


def people():
    return principals(ACCOUNT, "aws", EXEMPT, SCANNERS)


def fixture(mode: str) -> str:
    return (FIXTURES / f"read-protection-{mode}.json").read_text()


def lint(policy: str) -> list[str]:
    analyzed = analyze_policy_string(policy, include_community_auditors=True)
    return [f"{f.issue}: {f.detail}" for f in analyzed.findings]


# --- the module's policies --------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_parliament_finds_nothing(mode: str) -> None:
    assert lint(fixture(mode)) == []


def test_parliament_would_catch_a_tag_condition_on_torrents() -> None:
    """The lint can fail: the torrent actions support no s3:ExistingObjectTag key."""
    policy = json.loads(fixture("malicious"))
    torrents = next(s for s in policy["Statement"] if s["Sid"] == "FssPostScanDenyTorrents")
    torrents["Condition"]["StringEquals"] = {"s3:ExistingObjectTag/fss-scan-result": "malicious"}
    assert any("UNKNOWN_CONDITION_FOR_ACTION" in f for f in lint(json.dumps(policy)))


@pytest.mark.parametrize("mode", MODES)
def test_every_principal_tag_state_and_action_is_decided_as_specified(mode: str) -> None:
    wrong, count = mismatches(fixture(mode), mode, "uploads-bucket", "aws", people())
    assert wrong == [], f"{len(wrong)} of {count} cases wrong:\n" + "\n".join(wrong[:40])
    assert count > 2000


@pytest.mark.parametrize("mode", MODES)
def test_other_buckets_are_not_touched(mode: str) -> None:
    request = s3_request(
        "s3:GetObject", "arn:aws:s3:::other-bucket/x", principal_arn=None, object_tags={}
    )
    assert evaluate(fixture(mode), request) == ALLOW


def test_statement_ids_do_not_collide_with_the_buckets_own() -> None:
    for mode in MODES:
        sids = [s["Sid"] for s in json.loads(fixture(mode))["Statement"]]
        assert len(set(sids)) == len(sids)
        assert all(sid.startswith("FssPostScan") for sid in sids)


def test_if_exists_in_malicious_mode_would_hide_every_untagged_object() -> None:
    """Why the malicious statement uses StringEquals: the IfExists form is true without the tag."""
    policy = json.loads(fixture("malicious"))
    reads = policy["Statement"][0]
    reads["Condition"]["StringEqualsIfExists"] = reads["Condition"].pop("StringEquals")
    wrong, _ = mismatches(policy, "malicious", "uploads-bucket", "aws", people())
    assert any("GetObject on untagged: expected allow, got deny" in w for w in wrong)


def test_until_clean_needs_both_read_statements() -> None:
    """Without the detail-code statement an incomplete scan ("no issues found", 107) is read."""
    policy = json.loads(fixture("until_clean"))
    policy["Statement"] = [
        s for s in policy["Statement"] if s["Sid"] != "FssPostScanDenyReadingIncompleteScans"
    ]
    wrong, _ = mismatches(policy, "until_clean", "uploads-bucket", "aws", people())
    assert any("on clean, incomplete scan: expected deny, got allow" in w for w in wrong)


@pytest.mark.parametrize("mode", MODES)
def test_without_the_scanner_tag_statement_tags_are_the_uploaders_to_write(mode: str) -> None:
    """The statement matters in both modes: without it an application role tags its own upload
    clean (until_clean: readable), or uploads with forged scanner tags, under any spelling."""
    policy = json.loads(fixture(mode))
    policy["Statement"] = [s for s in policy["Statement"] if "ScannerTags" not in s["Sid"]]
    wrong, _ = mismatches(policy, mode, "uploads-bucket", "aws", people())
    for case in (
        "application role s3:PutObjectTagging (forged clean) on untagged: expected deny",
        "application role uploads with forged clean, another spelling: expected deny",
        "application role copies an object in with TaggingDirective REPLACE and forged clean",
    ):
        assert any(case in w for w in wrong), case


# --- the scanner's tags: only the scanner and the function write them (issue 19) -------------


def scanner_tag_patterns(mode: str) -> list[str]:
    (statement,) = [
        s for s in json.loads(fixture(mode))["Statement"] if s["Sid"].endswith("ScannerTags")
    ]
    return statement["Condition"]["ForAnyValue:StringLike"]["s3:RequestObjectTagKeys"]


@pytest.mark.parametrize("mode", MODES)
def test_the_key_patterns_are_every_spelling_of_the_prefix_and_nothing_else(mode: str) -> None:
    """StringLike is case-sensitive and has no IgnoreCase form: 8 spellings of "fss-"."""
    spellings = {"".join(c) for c in itertools.product("fF", "sS", "sS")}
    assert sorted(scanner_tag_patterns(mode)) == sorted(f"{p}-*" for p in spellings)

    def protected(key: str) -> bool:
        return condition_holds(
            "ForAnyValue:StringLike",
            "s3:RequestObjectTagKeys",
            scanner_tag_patterns(mode),
            Request("s3:PutObject", BUCKET_OBJECT, {"s3:RequestObjectTagKeys": ["a", key]}),
        )

    for spelling in spellings:
        assert protected(f"{spelling}-scan-result") and protected(f"{spelling}-")
    for other in ("fs-scan-result", "xfss-scan-result", "fss_scan_result", "ffss-", "file_id"):
        assert not protected(other), other


WRITES = [
    ("s3:PutObject", None),
    ("s3:PutObjectTagging", None),
    ("s3:PutObjectVersionTagging", None),
    ("s3:PutObject", "uploads-bucket/inbox/other.pdf"),  # CopyObject, TaggingDirective REPLACE
    ("s3:PutObject", "attacker-bucket/forged.pdf"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("action", "copy_source"), WRITES)
@pytest.mark.parametrize(
    "key", ["fss-scan-result", "FSS-SCAN-RESULT", "Fss-Scan-Result", "fss-scan-detail-code"]
)
def test_only_the_scanner_and_the_function_set_a_result_tag(
    mode: str, action: str, copy_source: str | None, key: str
) -> None:
    for principal, expected in [
        (APP_ROLE, DENY),
        (None, DENY),  # anonymous
        (f"arn:aws:iam::{ACCOUNT}:role/breakglass/oncall", DENY),  # may read, not write tags
        (f"arn:aws:iam::{ACCOUNT}:root", DENY),
        (FUNCTION_ROLE, ALLOW),
        (SCANNERS[2], ALLOW),
    ]:
        request = s3_request(
            action,
            BUCKET_OBJECT,
            principal_arn=principal,
            request_tags={"file_id": "f-1", key: "no issues found"},
            copy_source=copy_source,
            object_tags={},
        )
        assert evaluate(fixture(mode), request) == expected, (principal, action, copy_source)


@pytest.mark.parametrize("mode", MODES)
def test_an_upload_with_only_application_tags_is_allowed(mode: str) -> None:
    request = s3_request(
        "s3:PutObject",
        BUCKET_OBJECT,
        principal_arn=APP_ROLE,
        request_tags={"file_id": "f-1", "owner": "fss-team"},
    )
    assert evaluate(fixture(mode), request) == ALLOW


SOURCE_TAG_KEYS = st.sampled_from(
    [
        "fss-scan-result",
        "FSS-SCAN-RESULT",
        "Fss-Scan-Result",
        "fss-scan-detail-code",
        "fss-scan-date",
        "fss-tags",
        "file_id",
        *(f"app-{i}" for i in range(12)),
    ]
)
SOURCE_TAG_VALUES = st.sampled_from(
    ["no issues found", "No Issues Found", "malicious", "0", "failure", "f-1", ""]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(SOURCE_TAG_KEYS, SOURCE_TAG_VALUES, max_size=10))
def test_a_quarantined_copy_is_unreadable_whatever_tags_the_upload_carried(source: dict) -> None:
    """Finding 5: the copy the function writes (protection.copy_tags) for a malicious verdict,
    judged by the module's own policies: no reader but the exempt ones ever gets it."""
    from post_scan.protection import copy_tags

    for mode in MODES:
        tags, _ = copy_tags("malicious", source, mode, file_id_key="file_id")
        assert len(tags) <= 10
        for reader in (APP_ROLE, None):
            for action in ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes"):
                request = s3_request(action, BUCKET_OBJECT, principal_arn=reader, object_tags=tags)
                assert evaluate(fixture(mode), request) == DENY, (mode, tags)
        if "file_id" in source:
            assert tags["file_id"] == source["file_id"]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["clean", "incomplete", "failed", "unscanned"]),
    st.dictionaries(SOURCE_TAG_KEYS, SOURCE_TAG_VALUES, max_size=10),
)
def test_a_copy_is_readable_under_until_clean_only_for_a_clean_verdict(
    verdict: str, source: dict
) -> None:
    """And for a clean verdict only when no tag on the source says otherwise."""
    from post_scan.protection import copy_tags, fss_objection

    tags, _ = copy_tags(verdict, source, "until_clean")
    request = s3_request("s3:GetObject", BUCKET_OBJECT, principal_arn=APP_ROLE, object_tags=tags)
    readable = evaluate(fixture("until_clean"), request) == ALLOW
    if verdict != "clean" or fss_objection(source) is not None:
        assert not readable, tags
    elif (
        len({k for k in source if k.lower() not in ("fss-scan-result", "fss-scan-detail-code")})
        <= 8
    ):
        assert readable, tags


def test_a_session_arn_in_the_exemptions_would_exempt_nobody() -> None:
    """aws:PrincipalArn is the role's ARN: a session ARN in the list matches no request."""
    role = f"arn:aws:iam::{ACCOUNT}:role/service/Scanner"
    session, principal_arn = role_session(role, "scan-1")
    assert session == f"arn:aws:sts::{ACCOUNT}:assumed-role/Scanner/scan-1"
    assert principal_arn == role
    policy = copy.deepcopy(json.loads(fixture("until_clean")))
    for statement in policy["Statement"]:
        statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"] = [session]
    request = s3_request(
        "s3:GetObject", "arn:aws:s3:::uploads-bucket/a", principal_arn=principal_arn
    )
    assert evaluate(policy, request) == DENY


# --- the evaluator ----------------------------------------------------------------------------


def ctx(**keys: str | list[str]) -> Request:
    return Request(
        "s3:GetObject", "arn:aws:s3:::b/k", {k.replace("__", ":"): v for k, v in keys.items()}
    )


@pytest.mark.parametrize(
    ("operator", "expected", "present", "missing"),
    [
        # operator, policy value, result with the key = "x", result without the key
        ("StringEquals", "x", True, False),
        ("StringEquals", "y", False, False),
        ("StringNotEquals", "x", False, True),
        ("StringNotEquals", "y", True, True),
        ("StringEqualsIfExists", "y", False, True),
        ("StringNotEqualsIfExists", "x", False, True),
        ("StringNotEqualsIfExists", "y", True, True),
        ("StringEqualsIgnoreCase", "X", True, False),
        ("StringNotEqualsIgnoreCase", "X", False, True),
        ("StringLike", "?", True, False),
        ("StringLike", "x*", True, False),
        ("StringNotLike", "y*", True, True),
        ("StringLikeIfExists", "y*", False, True),
    ],
)
def test_string_operators_with_and_without_the_key(operator, expected, present, missing) -> None:
    assert condition_holds(operator, "k:a", expected, ctx(k__a="x")) is present
    assert condition_holds(operator, "k:a", expected, ctx()) is missing


def test_several_values_any_matches_for_positive_none_for_negated() -> None:
    assert condition_holds("StringEquals", "k:a", ["y", "x"], ctx(k__a="x"))
    assert not condition_holds("StringNotEquals", "k:a", ["y", "x"], ctx(k__a="x"))
    assert condition_holds("StringNotEquals", "k:a", ["y", "z"], ctx(k__a="x"))


def test_string_operators_are_case_sensitive_on_values_not_on_key_names() -> None:
    assert not condition_holds("StringEquals", "k:a", "X", ctx(k__a="x"))
    assert condition_holds("StringEquals", "K:A", "x", ctx(k__a="x"))
    # the part after "/" (a tag key) keeps its case
    tagged = Request("s3:GetObject", "arn:aws:s3:::b/k", {"s3:ExistingObjectTag/tag": "x"})
    assert not condition_holds("StringEquals", "s3:ExistingObjectTag/Tag", "x", tagged)
    assert condition_holds("StringEquals", "S3:existingObjectTag/tag", "x", tagged)


@pytest.mark.parametrize(
    ("pattern", "arn", "matches"),
    [
        ("arn:aws:iam::111122223333:role/R", "arn:aws:iam::111122223333:role/R", True),
        ("arn:aws:iam::111122223333:role/R", "arn:aws:iam::111122223333:role/R2", False),
        ("arn:aws:iam::111122223333:role/p/*", "arn:aws:iam::111122223333:role/p/q/R", True),
        ("arn:aws:iam::111122223333:role/p/*", "arn:aws:iam::111122223333:role/p", False),
        ("arn:aws:iam::*:role/R", "arn:aws:iam::444455556666:role/R", True),
        ("arn:aws:iam::111122223333:role/R?", "arn:aws:iam::111122223333:role/R1", True),
        ("arn:aws:iam::111122223333:role/R", "arn:aws:iam::999999999999:role/R", False),
        ("arn:aws:iam::111122223333:role/R", "not-an-arn", False),
    ],
)
def test_arn_like_matches_component_by_component(pattern: str, arn: str, matches: bool) -> None:
    assert (
        condition_holds("ArnLike", "aws:PrincipalArn", pattern, ctx(aws__PrincipalArn=arn))
        is matches
    )
    assert (
        condition_holds("ArnNotLike", "aws:PrincipalArn", pattern, ctx(aws__PrincipalArn=arn))
        is not matches
    )


def test_arn_not_like_is_true_without_a_principal() -> None:
    """Anonymous requests carry no aws:PrincipalArn: a deny 'unless exempt' applies to them."""
    assert condition_holds("ArnNotLike", "aws:PrincipalArn", ["arn:aws:iam::1:role/R"], ctx())


def test_set_qualifiers() -> None:
    keys = ctx(s3__RequestObjectTagKeys=["file_id", "fss-scan-result"])
    assert condition_holds(
        "ForAnyValue:StringEquals", "s3:RequestObjectTagKeys", ["fss-scan-result"], keys
    )
    assert not condition_holds(
        "ForAllValues:StringEquals", "s3:RequestObjectTagKeys", ["fss-scan-result"], keys
    )
    assert condition_holds(
        "ForAllValues:StringEquals", "s3:RequestObjectTagKeys", ["file_id", "fss-scan-result"], keys
    )
    # missing key: ForAnyValue false, ForAllValues true
    assert not condition_holds("ForAnyValue:StringEquals", "s3:RequestObjectTagKeys", ["a"], ctx())
    assert condition_holds("ForAllValues:StringEquals", "s3:RequestObjectTagKeys", ["a"], ctx())
    with pytest.raises(Unsupported, match="multi-valued"):
        condition_holds("StringEquals", "s3:RequestObjectTagKeys", ["a"], keys)


def test_string_like_is_case_sensitive_also_under_a_set_qualifier() -> None:
    """Why the policies list every spelling of "fss-": no StringLikeIgnoreCase exists."""
    keys = ctx(s3__RequestObjectTagKeys=["FSS-scan-result"])
    assert not condition_holds("ForAnyValue:StringLike", "s3:RequestObjectTagKeys", "fss-*", keys)
    assert condition_holds("ForAnyValue:StringLike", "s3:RequestObjectTagKeys", "FSS-*", keys)
    assert not condition_holds("StringLike", "k:a", "x*", ctx(k__a="X1"))
    with pytest.raises(Unsupported):
        condition_holds("StringLikeIgnoreCase", "k:a", "x*", ctx(k__a="X1"))


def test_a_copy_names_its_source_where_s3_says_so() -> None:
    copy = s3_request(
        "s3:PutObject",
        "arn:aws:s3:::b/k",
        principal_arn=None,
        request_tags={"fss-scan-result": "x"},
        copy_source="other/k",
    )
    assert copy.context["s3:x-amz-copy-source"] == "other/k"
    assert copy.context["s3:RequestObjectTagKeys"] == ["fss-scan-result"]
    tagging = s3_request(
        "s3:PutObjectTagging", "arn:aws:s3:::b/k", principal_arn=None, copy_source="other/k"
    )
    assert "s3:x-amz-copy-source" not in tagging.context


def test_null_operator() -> None:
    assert condition_holds("Null", "k:a", "true", ctx())
    assert not condition_holds("Null", "k:a", "true", ctx(k__a="x"))
    assert condition_holds("Null", "k:a", "false", ctx(k__a="x"))
    assert condition_holds("Null", "k:a", False, ctx(k__a="x"))


@pytest.mark.parametrize(
    "condition",
    [
        {"NumericLessThan": {"k:a": "1"}},
        {"StringEquals": {"k:a": "${aws:username}"}},
        {"ForSomeValues:StringEquals": {"k:a": "x"}},
        {"NullIfExists": {"k:a": "true"}},
    ],
)
def test_what_it_does_not_implement_is_refused(condition: dict) -> None:
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": condition,
    }
    with pytest.raises(Unsupported):
        evaluate({"Statement": [statement]}, ctx(k__a="x"))


def test_deny_wins_allow_needs_a_grant() -> None:
    allow = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::1:role/R"},
        "Action": "s3:Get*",
        "Resource": "arn:aws:s3:::b/*",
    }
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
    }
    request = Request(
        "s3:GetObject", "arn:aws:s3:::b/k", {"aws:PrincipalArn": "arn:aws:iam::1:role/R"}
    )
    assert evaluate({"Statement": [allow]}, request, identity_allows=False) == ALLOW
    assert evaluate({"Statement": [allow, deny]}, request) == DENY
    stranger = Request(
        "s3:GetObject", "arn:aws:s3:::b/k", {"aws:PrincipalArn": "arn:aws:iam::1:role/S"}
    )
    assert evaluate({"Statement": [allow]}, stranger, identity_allows=False) == IMPLICIT_DENY
    assert (
        evaluate({"Statement": [allow]}, Request("s3:PutObject", "arn:aws:s3:::b/k"), False)
        == IMPLICIT_DENY
    )


def test_actions_match_case_insensitively_with_wildcards() -> None:
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "S3:getobject*",
        "Resource": "arn:aws:s3:::b/*",
    }
    assert evaluate({"Statement": deny}, Request("s3:GetObjectVersion", "arn:aws:s3:::b/k")) == DENY
    assert evaluate({"Statement": deny}, Request("s3:PutObject", "arn:aws:s3:::b/k")) == ALLOW


def test_s3_request_context_follows_the_authorization_reference() -> None:
    tags = {"fss-scan-result": "malicious"}
    read = s3_request("s3:GetObject", "arn:aws:s3:::b/k", principal_arn=None, object_tags=tags)
    assert read.context == {"s3:ExistingObjectTag/fss-scan-result": "malicious"}
    torrent = s3_request(
        "s3:GetObjectTorrent", "arn:aws:s3:::b/k", principal_arn=None, object_tags=tags
    )
    assert torrent.context == {}
    upload = s3_request(
        "s3:PutObject", "arn:aws:s3:::b/k", principal_arn="arn:aws:iam::1:root", request_tags=tags
    )
    assert upload.context == {
        "aws:PrincipalArn": "arn:aws:iam::1:root",
        "s3:RequestObjectTag/fss-scan-result": "malicious",
        "s3:RequestObjectTagKeys": ["fss-scan-result"],
    }
    assert supports("s3:GetObjectVersionAttributes", "s3:ExistingObjectTag/<key>")
    assert not supports("s3:GetObjectVersionForReplication", "s3:ExistingObjectTag/<key>")
    with pytest.raises(Unsupported):
        supports("s3:GetObjectz", "s3:ExistingObjectTag/<key>")


# --- GuardDuty's tag (guardduty_plans), and buckets both scanners scan -------------------------

GUARDDUTY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/fss-post-scan-gd-uploads"
SCANNED_BY = {"guardduty": ("guardduty",), "both": ("fss", "guardduty")}


@pytest.mark.parametrize("kind", sorted(SCANNED_BY))
@pytest.mark.parametrize("mode", MODES)
def test_guardduty_policies_pass_parliament(kind: str, mode: str) -> None:
    assert lint(fixture(f"{kind}-{mode}")) == []


@pytest.mark.parametrize("kind", sorted(SCANNED_BY))
@pytest.mark.parametrize("mode", MODES)
def test_guardduty_policies_decide_as_specified(kind: str, mode: str) -> None:
    """The same principals, tag states and actions as the FSS policies; the plan's role (which
    GuardDuty's sessions use: aws:PrincipalArn is the role for each of them) is a scanner."""
    people = principals(ACCOUNT, "aws", EXEMPT, [*SCANNERS, GUARDDUTY_ROLE])
    wrong, count = mismatches(
        fixture(f"{kind}-{mode}"), mode, "uploads-bucket", "aws", people, SCANNED_BY[kind]
    )
    assert wrong == [], f"{len(wrong)} of {count} cases wrong:\n" + "\n".join(wrong[:40])
    assert count > 3000


def test_the_guardduty_session_is_exempt_through_its_role() -> None:
    session, principal_arn = role_session(GUARDDUTY_ROLE, "GuardDutyMalwareProtection")
    assert session.endswith("/fss-post-scan-gd-uploads/GuardDutyMalwareProtection")
    request = s3_request(
        "s3:PutObjectTagging",
        "arn:aws:s3:::uploads-bucket/k",
        principal_arn=principal_arn,
        object_tags={},
        request_tags={"GuardDutyMalwareScanStatus": "NO_THREATS_FOUND"},
    )
    assert evaluate(fixture("guardduty-until_clean"), request) == ALLOW
    someone = s3_request(
        "s3:PutObjectTagging",
        "arn:aws:s3:::uploads-bucket/k",
        principal_arn=f"arn:aws:iam::{ACCOUNT}:role/app-uploads",
        object_tags={},
        request_tags={"GuardDutyMalwareScanStatus": "NO_THREATS_FOUND"},
    )
    assert evaluate(fixture("guardduty-until_clean"), someone) == DENY


def test_the_spec_would_catch_a_guardduty_policy_that_lets_anyone_write_its_tag() -> None:
    policy = json.loads(fixture("guardduty-until_clean"))
    policy["Statement"] = [s for s in policy["Statement"] if "WritingScannerTags" not in s["Sid"]]
    people = principals(ACCOUNT, "aws", EXEMPT, [*SCANNERS, GUARDDUTY_ROLE])
    wrong, _ = mismatches(policy, "until_clean", "uploads-bucket", "aws", people, ("guardduty",))
    assert any("uploads with forged guardduty clean: expected deny" in w for w in wrong)


def test_a_bucket_both_scan_is_not_readable_on_one_scanner_s_word() -> None:
    people = principals(ACCOUNT, "aws", EXEMPT, [*SCANNERS, GUARDDUTY_ROLE])
    # The FSS policy alone lets a clean-by-FSS, threats-by-GuardDuty object be read: the both-policy
    # must not, and the spec must see the difference.
    wrong, _ = mismatches(
        fixture("until_clean"), "until_clean", "uploads-bucket", "aws", people, SCANNED_BY["both"]
    )
    assert any("GetObject on fss clean, guardduty threats: expected deny" in w for w in wrong)
