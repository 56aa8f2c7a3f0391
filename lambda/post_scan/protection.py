"""Pure decisions for read protection: which tags make an object readable under the module's
bucket policies, and which result tags a routed copy must carry to stay as protected (or as
readable) at its destination as the scanned object.

The policies (read_protection.tf) key on each scanner's own tags: File Storage Security's in its
"Separated tags" format, GuardDuty's GuardDutyMalwareScanStatus; the values here are exactly the
ones the scanners write. Each function takes the scanner that spoke (ScanResult.scanner).
"""

from __future__ import annotations

from collections.abc import Mapping

from post_scan.message import CLEAN, FSS, GUARDDUTY, MALICIOUS

OFF = "off"
MALICIOUS_ONLY = "malicious"
UNTIL_CLEAN = "until_clean"

RESULT_TAG = "fss-scan-result"
DETAIL_CODE_TAG = "fss-scan-detail-code"
CLEAN_RESULT = "no issues found"
COMPLETE_CODE = "0"  # 100-199: the scan was incomplete
MALICIOUS_RESULT = "malicious"
MAX_OBJECT_TAGS = 10  # S3: tags per object (version)

# GuardDuty Malware Protection for S3 (tagging on in the plan): the scanResultStatus.
GUARDDUTY_RESULT_TAG = "GuardDutyMalwareScanStatus"
GUARDDUTY_CLEAN = "NO_THREATS_FOUND"
GUARDDUTY_MALICIOUS = "THREATS_FOUND"

# scanner -> the tags its until_clean policy needs to let an object be read
_CLEAN_TAGS = {
    FSS: {RESULT_TAG: CLEAN_RESULT, DETAIL_CODE_TAG: COMPLETE_CODE},
    GUARDDUTY: {GUARDDUTY_RESULT_TAG: GUARDDUTY_CLEAN},
}
# scanner -> the tag its malicious policy denies reads on
_MALICIOUS_TAGS = {
    FSS: {RESULT_TAG: MALICIOUS_RESULT},
    GUARDDUTY: {GUARDDUTY_RESULT_TAG: GUARDDUTY_MALICIOUS},
}


def clean_tags(scanner: str = FSS) -> dict[str, str]:
    """The tags that make an object readable under until_clean, for this scanner's policy."""
    return dict(_CLEAN_TAGS[scanner])


def tagged_clean(tags: Mapping[str, str], scanner: str = FSS) -> bool:
    """True when until_clean's policy lets readers read an object with these tags."""
    return all(tags.get(key) == value for key, value in _CLEAN_TAGS[scanner].items())


def result_tags(verdict: str, mode: str, scanner: str = FSS) -> dict[str, str]:
    """The scanner's tags for a verdict, where the policy of `mode` depends on them."""
    if verdict == CLEAN and mode == UNTIL_CLEAN:
        return dict(_CLEAN_TAGS[scanner])
    if verdict == MALICIOUS and mode != OFF:
        return dict(_MALICIOUS_TAGS[scanner])
    return {}


def copy_tags(
    verdict: str, source_tags: Mapping[str, str], mode: str, scanner: str = FSS
) -> tuple[dict[str, str], str]:
    """(the tags a routed copy gets, a note for the log line or "").

    The copy keeps the source's tags. When the scanner has not tagged the source yet (it tags in
    parallel with this function), the copy gets the result tags the policy needs: a promoted
    clean copy stays readable under until_clean, a quarantined one stays hidden. An application's
    tag is never dropped for them: when they do not fit S3's 10 tags, the copy is written without
    them and the note says so.
    """
    tags = dict(source_tags)
    wanted = result_tags(verdict, mode, scanner)
    if not wanted or any(key in tags for key in _MALICIOUS_TAGS[scanner]):  # the result tag
        return tags, ""
    missing = {key: value for key, value in wanted.items() if key not in tags}
    names = ", ".join(f"{key}={value}" for key, value in missing.items())
    if len(tags) + len(missing) > MAX_OBJECT_TAGS:
        return tags, (
            f"read protection: the copy carries the source's {len(tags)} tags without {names} "
            f"(S3 allows {MAX_OBJECT_TAGS} tags per object)"
            + (": it is unreadable under until_clean" if verdict == CLEAN else "")
        )
    tags.update(missing)
    return tags, f"read protection: the scanner had not tagged the source yet; copy tagged {names}"
