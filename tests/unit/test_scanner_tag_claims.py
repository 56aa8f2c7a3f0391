"""One reader of what scanner tags say (scanner_tags.claims), for both rules that ask it.

`scanner_tags.malicious_keys` (verdict conflicts: "a scanner found malware") and
`protection.fss_objection` (read protection: "not clean") used to normalise keys and parse the
merged format each their own way. Both now read scanner_tags.claims(). The reference
implementations below are the two readers as they were before: the new ones answer the same,
except that fss_objection now also reads keys spelled with `_` or spaces (as malicious_keys always
did): more careful, never less.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from post_scan.protection import fss_objection
from post_scan.scanner_tags import (
    GUARDDUTY_CLEAN,
    claims,
    key_name,
    malicious_keys,
    merged_fields,
    objection,
)

# --- the readers as they were (oracles) ---------------------------------------------------------


def _old_key_name(key: str) -> str:
    return re.sub(r"[\s_]+", "-", key.strip().lower())


def _old_normal(value: str) -> str:
    return " ".join(value.split()).lower()


def old_malicious_keys(tags: Mapping[str, str]) -> list[str]:
    found = []
    for key, value in tags.items():
        name = _old_key_name(key)
        if name == _old_key_name("GuardDutyMalwareScanStatus"):
            if _old_normal(value).replace(" ", "_") == "threats_found":
                found.append(key)
        elif name.startswith("fss-"):
            separated = name == "fss-scan-result" and _old_normal(value) == "malicious"
            merged = _old_normal(merged_fields(value).get("scan-result", "")) == "malicious"
            if separated or merged:
                found.append(key)
    return sorted(found)


def old_fss_objection(tags: Mapping[str, str]) -> str | None:
    for key in sorted(tags):
        lower, value = key.lower(), tags[key]
        if lower == "fss-scan-result" and " ".join(value.split()).lower() != "no issues found":
            return f"{key}={value}"
        if lower == "fss-scan-detail-code" and value.strip() != "0":
            return f"{key}={value}"
        if lower.startswith("fss-") and lower not in ("fss-scan-result", "fss-scan-detail-code"):
            fields = merged_fields(value)
            result = " ".join(fields.get("scan-result", "no issues found").split()).lower()
            if result != "no issues found" or fields.get("scan-detail-code", "0").strip() != "0":
                return f"{key}={value}"
    return None


# --- generated tags -----------------------------------------------------------------------------

KEYS = st.sampled_from(
    [
        "fss-scan-result",
        "FSS-SCAN-RESULT",
        "Fss-Scan-Result",
        "fss_scan_result",
        " fss-scan-result ",
        "FSS SCAN RESULT",
        "fss-scan-detail-code",
        "FSS-Scan-Detail-Code",
        "fss_scan_detail_code",
        "fss-scan-detail-message",
        "fss-scanned",
        "fss-scan-date",
        "fss-a",
        "FSS-Z",
        "fss-scan",
        "GuardDutyMalwareScanStatus",
        "guarddutymalwarescanstatus",
        "GUARDDUTYMALWARESCANSTATUS",
        "file_id",
        "owner",
    ]
)
RESULTS = st.sampled_from(
    ["malicious", "Malicious", " MALICIOUS ", "no issues found", "No  Issues Found", "failure", ""]
)
CODES = st.sampled_from(["0", " 0 ", "1", "101", "abc"])


def _merged(result: str, code: str, style: int) -> str:
    if style == 0:
        return f"scan-result={result} scan-detail-code={code} scanned=true"
    if style == 1:
        return f"fss-scan-result:{result}/fss_scan_detail_code:{code}"
    if style == 2:
        return json.dumps({"Scan_Result": result, "scan-detail-code": code})
    return f"Scan_Result={result.replace(' ', '+')}"


VALUES = st.one_of(
    RESULTS,
    CODES,
    st.sampled_from(["THREATS_FOUND", "threats found", "NO_THREATS_FOUND", "x", "true"]),
    st.builds(_merged, RESULTS, CODES, st.integers(min_value=0, max_value=3)),
)
TAGS = st.dictionaries(KEYS, VALUES, max_size=10)


@settings(max_examples=1500, deadline=None)
@given(TAGS)
def test_malicious_keys_answer_as_before(tags: dict[str, str]) -> None:
    assert malicious_keys(tags) == old_malicious_keys(tags)


@settings(max_examples=1500, deadline=None)
@given(TAGS)
def test_fss_objection_answers_as_before_and_reads_every_spelling(tags: dict[str, str]) -> None:
    before, now = old_fss_objection(tags), fss_objection(tags)
    if before is not None:
        assert now is not None, tags  # never less careful
    if now != before:  # only a spelling the old reader missed, sorted before what it found
        key = now.split("=", 1)[0]
        assert key != key.strip() or re.search(r"[\s_]", key), (now, before, tags)
        assert key_name(key).startswith("fss-")
    # Spelled as the scanner spells keys, the answers are the same.
    plain = {k: v for k, v in tags.items() if k == k.strip() and not re.search(r"[\s_]", k)}
    assert fss_objection(plain) == old_fss_objection(plain)


def test_a_key_spelled_with_underscores_objects_like_the_scanners_own() -> None:
    assert fss_objection({"fss_scan_result": "failure"}) == "fss_scan_result=failure"
    assert fss_objection({"FSS Scan Detail Code": "101"}) == "FSS Scan Detail Code=101"
    clean = {"fss-scan-result": "no issues found", "fss-scan-detail-code": "0"}
    assert fss_objection(clean) is None


def test_claims_read_both_formats_in_key_order() -> None:
    tags = {
        "fss-z": "scan-result=malicious scan-detail-code=0",
        "FSS-SCAN-RESULT": "No Issues Found",
        "GuardDutyMalwareScanStatus": "NO_THREATS_FOUND",
        "file_id": "f-1",
    }
    assert [(c.key, c.field, c.normal) for c in claims(tags)] == [
        ("FSS-SCAN-RESULT", "scan-result", "no issues found"),
        ("GuardDutyMalwareScanStatus", "guardduty-status", "no_threats_found"),
        ("fss-z", "scan-result", "malicious"),
        ("fss-z", "scan-detail-code", "0"),
    ]


def test_the_guardduty_objection_is_one_call() -> None:
    """What protection._OBJECTIONS gets for GuardDuty (issue 20): one objection() call."""
    assert objection({"GuardDutyMalwareScanStatus": "NO_THREATS_FOUND"}, GUARDDUTY_CLEAN) is None
    assert objection({"guarddutymalwarescanstatus": "no threats found"}, GUARDDUTY_CLEAN) is None
    for status in ("THREATS_FOUND", "UNSUPPORTED", "ACCESS_DENIED", "FAILED"):
        tags = {"GuardDutyMalwareScanStatus": status, "fss-scan-result": "malicious"}
        assert objection(tags, GUARDDUTY_CLEAN) == f"GuardDutyMalwareScanStatus={status}"
    assert objection({"fss-scan-result": "malicious"}, GUARDDUTY_CLEAN) is None
