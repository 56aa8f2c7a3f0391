"""Pure decisions for read protection: which tags make an object readable under the module's
bucket policies, and which result tags a routed copy must carry to stay as protected (or as
readable) at its destination as the scanned object.

The policies (read_protection.tf) key on File Storage Security's own tags in its "Separated tags"
format; the values here are exactly the ones the scanner writes.
"""

from __future__ import annotations

from collections.abc import Mapping

from post_scan.message import CLEAN, MALICIOUS

OFF = "off"
MALICIOUS_ONLY = "malicious"
UNTIL_CLEAN = "until_clean"

RESULT_TAG = "fss-scan-result"
DETAIL_CODE_TAG = "fss-scan-detail-code"
CLEAN_RESULT = "no issues found"
COMPLETE_CODE = "0"  # 100-199: the scan was incomplete
MALICIOUS_RESULT = "malicious"
MAX_OBJECT_TAGS = 10  # S3: tags per object (version)


def tagged_clean(tags: Mapping[str, str]) -> bool:
    """True when until_clean's policy lets readers read an object with these tags."""
    return tags.get(RESULT_TAG) == CLEAN_RESULT and tags.get(DETAIL_CODE_TAG) == COMPLETE_CODE


def result_tags(verdict: str, mode: str) -> dict[str, str]:
    """The scanner's tags for a verdict, where the policy of `mode` depends on them."""
    if verdict == CLEAN and mode == UNTIL_CLEAN:
        return {RESULT_TAG: CLEAN_RESULT, DETAIL_CODE_TAG: COMPLETE_CODE}
    if verdict == MALICIOUS and mode != OFF:
        return {RESULT_TAG: MALICIOUS_RESULT}
    return {}


def copy_tags(
    verdict: str, source_tags: Mapping[str, str], mode: str
) -> tuple[dict[str, str], str]:
    """(the tags a routed copy gets, a note for the log line or "").

    The copy keeps the source's tags. When the scanner has not tagged the source yet (it tags in
    parallel with this function), the copy gets the result tags the policy needs: a promoted
    clean copy stays readable under until_clean, a quarantined one stays hidden. An application's
    tag is never dropped for them: when they do not fit S3's 10 tags, the copy is written without
    them and the note says so.
    """
    tags = dict(source_tags)
    wanted = result_tags(verdict, mode)
    if not wanted or RESULT_TAG in tags:
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
