"""What the read protection policies must decide, per principal, object tag state and action,
restated from the spec (docs/read-protection.md) and checked with policy_eval. Used on the
plan-level fixtures (tests/unit) and on the policies a deployed example outputs (tests/apply).

A bucket is scanned by File Storage Security ("fss"), GuardDuty ("guardduty") or both: each
scanner's rule decides on its own tag (GuardDuty's: AWS's tag-based access control), and a request
is denied when any of the bucket's scanners' rules denies it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from policy_eval import ALLOW, DENY, evaluate, role_session, s3_request

RESULT = "fss-scan-result"
CODE = "fss-scan-detail-code"
CLEAN = {RESULT: "no issues found", CODE: "0"}
GUARDDUTY = "GuardDutyMalwareScanStatus"
GUARDDUTY_CLEAN = "NO_THREATS_FOUND"
GUARDDUTY_THREATS = "THREATS_FOUND"
FSS_ONLY = ("fss",)

# Keys the scanner writes and the policies protect: "fss-" in any case (tests/unit checks that the
# policies' patterns are exactly these spellings).
SCANNER_PREFIX = "fss-"


def scanner_key(key: str) -> bool:
    return key.lower().startswith(SCANNER_PREFIX)


TAG_STATES: dict[str, dict[str, str]] = {
    "untagged": {},
    "application tags only": {"file_id": "f-1"},
    "clean": {**CLEAN, "fss-scan-date": "2024/05/01 12:00:01", "file_id": "f-1"},
    "clean, incomplete scan": {RESULT: "no issues found", CODE: "107"},
    "clean without detail code": {RESULT: "no issues found"},
    "malicious": {RESULT: "malicious", CODE: "0"},
    "scan failure": {RESULT: "failure", "fss-error-message": "timeout"},
    "clean in the wrong case": {RESULT: "No issues found", CODE: "0"},
    "clean with a trailing space": {RESULT: "no issues found ", CODE: "0"},
    "clean in another spelling of the key": {
        "FSS-SCAN-RESULT": "no issues found",
        "Fss-Scan-Detail-Code": "0",
    },
    "malicious beside a forged clean spelling": {
        RESULT: "malicious",
        "FSS-Scan-Result": "no issues found",
    },
    "guardduty clean": {GUARDDUTY: GUARDDUTY_CLEAN, "file_id": "f-1"},
    "guardduty threats": {GUARDDUTY: GUARDDUTY_THREATS},
    "guardduty unsupported": {GUARDDUTY: "UNSUPPORTED"},
    "guardduty clean in the wrong case": {GUARDDUTY: "no_threats_found"},
    "guardduty clean, key in another case": {"guarddutymalwarescanstatus": GUARDDUTY_CLEAN},
    "both clean": {**CLEAN, GUARDDUTY: GUARDDUTY_CLEAN},
    "fss clean, guardduty threats": {**CLEAN, GUARDDUTY: GUARDDUTY_THREATS},
    "fss malicious, guardduty clean": {RESULT: "malicious", CODE: "0", GUARDDUTY: GUARDDUTY_CLEAN},
}

READS = ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes")
READS_ALSO = ("s3:GetObjectVersionAttributes",)
TORRENTS = ("s3:GetObjectTorrent", "s3:GetObjectVersionTorrent")
NEVER_DENIED = ("s3:GetObjectTagging", "s3:GetObjectVersionForReplication", "s3:DeleteObject")


@dataclass(frozen=True)
class Principal:
    label: str
    arn: str | None  # aws:PrincipalArn; None: anonymous / AWS service principal
    exempt: bool  # may read hidden objects
    scanner: bool = False  # may also write the scanner's tags (the scanner, the function)


def principals(
    account: str, partition: str, exempt_roles: Iterable[str], scanner_roles: Iterable[str] = ()
) -> list[Principal]:
    """The scanner's roles and the exempt ones (each listed role, a session of each), and
    look-alikes that must be neither."""
    found = []
    listed = [(role, False) for role in exempt_roles] + [(role, True) for role in scanner_roles]
    for role, scanner in listed:
        kind = "scanner role" if scanner else "role"
        if "*" in role or "?" in role:
            concrete = role.replace("*", "oncall").replace("?", "x")
            found.append(Principal(f"{kind} matching {role}", concrete, True, scanner))
            continue
        found.append(Principal(f"{kind} {role}", role, True, scanner))
        session, principal_arn = role_session(role, "i-0123456789")
        found.append(Principal(f"session {session}", principal_arn, True, scanner))
        found.append(Principal(f"look-alike {role}0", role + "0", False))
        other = role.split(":")
        other[4] = "999999999999" if other[4] != "999999999999" else "888888888888"
        found.append(Principal("same role, other account", ":".join(other), False))
    iam = f"arn:{partition}:iam::{account}"
    found += [
        Principal("application role", f"{iam}:role/app-uploads", False),
        Principal("IAM user", f"{iam}:user/alice", False),
        Principal("account root", f"{iam}:root", False),
        Principal("anonymous, or CloudFront with origin access control", None, False),
        Principal(
            "CloudFront origin access identity",
            f"arn:{partition}:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHA",
            False,
        ),
    ]
    return found


def expected_read(mode: str, tags: Mapping[str, str], exempt: bool) -> str:
    if exempt:
        return ALLOW
    if mode == "malicious":
        return DENY if tags.get(RESULT) == "malicious" else ALLOW
    clean = tags.get(RESULT) == CLEAN[RESULT] and tags.get(CODE) == CLEAN[CODE]
    return ALLOW if clean else DENY


def expected_retag(
    mode: str, action: str, existing: Mapping[str, str], wanted: Mapping[str, str], who: Principal
) -> str:
    if who.scanner:
        return ALLOW
    if action.startswith("s3:Put") and any(scanner_key(k) for k in wanted):
        return DENY  # only the scanner and the function write the scanner's tags
    if mode == "malicious":
        return DENY if existing.get(RESULT) == "malicious" else ALLOW
    return ALLOW  # until_clean: dropping the scanner's tags only hides the object


def expected_upload(mode: str, tags: Mapping[str, str], who: Principal) -> str:
    """PutObject with x-amz-tagging (also CopyObject with TaggingDirective REPLACE)."""
    if who.scanner:
        return ALLOW
    return DENY if any(scanner_key(k) for k in tags) else ALLOW


def guardduty_read(mode: str, tags: Mapping[str, str], exempt: bool) -> str:
    if exempt:
        return ALLOW
    if mode == "malicious":
        return DENY if tags.get(GUARDDUTY) == GUARDDUTY_THREATS else ALLOW
    return ALLOW if tags.get(GUARDDUTY) == GUARDDUTY_CLEAN else DENY


def guardduty_retag(
    mode: str, action: str, existing: Mapping[str, str], wanted: Mapping[str, str], who: Principal
) -> str:
    """Nobody but the scanners (GuardDuty's role) and the function writes its tag; malicious: an
    object tagged THREATS_FOUND keeps its tags (dropping the tag would make it readable)."""
    if who.scanner:
        return ALLOW
    if action.startswith("s3:Put") and GUARDDUTY in wanted:
        return DENY
    if mode == "malicious" and existing.get(GUARDDUTY) == GUARDDUTY_THREATS:
        return DENY
    return ALLOW


def guardduty_upload(mode: str, tags: Mapping[str, str], who: Principal) -> str:
    return DENY if GUARDDUTY in tags and not who.scanner else ALLOW


def _any_denies(decisions: Iterable[str]) -> str:
    return DENY if DENY in list(decisions) else ALLOW


def read_for(scanners: Iterable[str], mode: str, tags: Mapping[str, str], exempt: bool) -> str:
    rules = {"fss": expected_read, "guardduty": guardduty_read}
    return _any_denies(rules[s](mode, tags, exempt) for s in scanners)


def retag_for(
    scanners: Iterable[str],
    mode: str,
    action: str,
    existing: Mapping[str, str],
    wanted: Mapping[str, str],
    who: Principal,
) -> str:
    rules = {"fss": expected_retag, "guardduty": guardduty_retag}
    return _any_denies(rules[s](mode, action, existing, wanted, who) for s in scanners)


def upload_for(scanners: Iterable[str], mode: str, tags: Mapping[str, str], who: Principal) -> str:
    rules = {"fss": expected_upload, "guardduty": guardduty_upload}
    return _any_denies(rules[s](mode, tags, who) for s in scanners)


REQUESTED_TAG_SETS: dict[str, dict[str, str]] = {
    "none": {},
    "application tags": {"file_id": "f-2"},
    "forged clean": dict(CLEAN),
    "forged result only": {RESULT: "no issues found"},
    "forged detail code only": {CODE: "0"},
    "clean restated with an application tag": {**CLEAN, "file_id": "f-2"},
    "malicious": {RESULT: "malicious"},
    "forged clean, another spelling": {"FSS-SCAN-RESULT": "no issues found"},
    "forged clean, mixed spelling": {
        "Fss-Scan-Result": "no issues found",
        "fSS-scan-detail-code": "0",
    },
    "a merged-format tag": {"fss-tags": "scan-result=no issues found"},
    "ten tags with a forged clean one": {
        RESULT: "no issues found",
        **{f"app-{i}": str(i) for i in range(9)},
    },
    "ten application tags": {f"app-{i}": str(i) for i in range(10)},
    "forged guardduty clean": {GUARDDUTY: GUARDDUTY_CLEAN},
    "guardduty threats": {GUARDDUTY: GUARDDUTY_THREATS},
    "guardduty clean restated with an application tag": {
        GUARDDUTY: GUARDDUTY_CLEAN,
        "file_id": "f",
    },
}


def mismatches(
    policy: str | Mapping,
    mode: str,
    bucket: str,
    partition: str,
    people: list[Principal],
    scanners: tuple[str, ...] = FSS_ONLY,
) -> tuple[list[str], int]:
    """(every case where the policy decides otherwise than the spec for a bucket the `scanners`
    scan, how many cases ran)."""
    resource = f"arn:{partition}:s3:::{bucket}/inbox/report.pdf"
    wrong: list[str] = []
    count = 0

    def check(what: str, expected: str, request_args: dict) -> None:
        nonlocal count
        count += 1
        got = evaluate(policy, s3_request(resource=resource, **request_args))
        if got != expected:
            wrong.append(f"{what}: expected {expected}, got {got}")

    for who in people:
        for state, tags in TAG_STATES.items():
            base = {"principal_arn": who.arn, "object_tags": tags}
            for action in READS + READS_ALSO:
                check(
                    f"{who.label} {action} on {state}",
                    read_for(scanners, mode, tags, who.exempt),
                    {"action": action, **base},
                )
            for action in TORRENTS:
                want = ALLOW if who.exempt else DENY
                check(f"{who.label} {action} on {state}", want, {"action": action, **base})
            for action in NEVER_DENIED:
                check(f"{who.label} {action} on {state}", ALLOW, {"action": action, **base})
            for label, wanted in REQUESTED_TAG_SETS.items():
                for action in ("s3:PutObjectTagging", "s3:PutObjectVersionTagging"):
                    check(
                        f"{who.label} {action} ({label}) on {state}",
                        retag_for(scanners, mode, action, tags, wanted, who),
                        {"action": action, **base, "request_tags": wanted},
                    )
            for action in ("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"):
                check(
                    f"{who.label} {action} on {state}",
                    retag_for(scanners, mode, action, tags, {}, who),
                    {"action": action, **base},
                )
        for label, wanted in REQUESTED_TAG_SETS.items():
            check(
                f"{who.label} uploads with {label}",
                upload_for(scanners, mode, wanted, who),
                {"action": "s3:PutObject", "principal_arn": who.arn, "request_tags": wanted},
            )
            check(
                f"{who.label} copies an object in with TaggingDirective REPLACE and {label}",
                upload_for(scanners, mode, wanted, who),
                {
                    "action": "s3:PutObject",
                    "principal_arn": who.arn,
                    "request_tags": wanted,
                    "copy_source": "elsewhere-bucket/report.pdf",
                },
            )
    return wrong, count
