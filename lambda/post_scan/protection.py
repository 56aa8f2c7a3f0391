"""Pure decisions for read protection: which tags make an object readable under the module's
bucket policies, and which tags a routed copy carries so that it is as protected (or as readable)
at its destination as the verdict says.

The policies (read_protection.tf) key on the scanner's own tags: for File Storage Security its
"Separated tags" `fss-scan-result` / `fss-scan-detail-code`, for GuardDuty Malware Protection for
S3 `GuardDutyMalwareScanStatus`, compared exactly. Each scanner's tags are described once, in
RESULT_TAGS; everything here works from that description and the scanner that spoke
(ScanResult.scanner).

Who wrote a tag cannot be told from the tag: without the module's policy attached (it denies
writing the scanner's keys to everyone but the scanner and the function), an uploader may write
them. So a copy's result tags state the verdict the function acted on, never the source's claim:
a quarantined copy is always tagged malicious, overwriting whatever the source said under any
spelling of the key; a promoted copy is tagged clean only for a clean verdict, and only when no
tag on the source says otherwise (evidence an uploader writes may make the function more careful,
never less).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from post_scan import scanner_tags
from post_scan.config import OFF, UNTIL_CLEAN
from post_scan.message import CLEAN, FSS, GUARDDUTY, MALICIOUS
from post_scan.scanner_tags import FSS_CLEAN, objection

RESULT_TAG = "fss-scan-result"
DETAIL_CODE_TAG = "fss-scan-detail-code"
CLEAN_RESULT = "no issues found"
COMPLETE_CODE = "0"  # 100-199: the scan was incomplete
MALICIOUS_RESULT = "malicious"
MAX_OBJECT_TAGS = 10  # S3: tags per object (version)


@dataclass(frozen=True)
class ScannerResultTags:
    """The tags one scanner writes, as far as read protection depends on them."""

    keys: tuple[str, ...]  # every tag key the scanner writes, spelled as it spells them
    malicious: Mapping[str, str]  # what the policies read as "malicious"
    clean: Mapping[str, str]  # what until_clean's policy reads as "clean" (all of them)
    prefix: str  # the scanner's tags start with it (the policies protect it in any case)

    def variant(self, key: str) -> bool:
        """A spelling of one of the scanner's keys other than the scanner's own."""
        return key not in self.keys and key.lower() in {k.lower() for k in self.keys}


FSS_TAGS = ScannerResultTags(
    keys=(
        RESULT_TAG,
        DETAIL_CODE_TAG,
        "fss-scanned",
        "fss-scan-date",
        "fss-scan-detail-message",
        "fss-error-message",
        "fss-scan-type",
    ),
    malicious={RESULT_TAG: MALICIOUS_RESULT},
    clean={RESULT_TAG: CLEAN_RESULT, DETAIL_CODE_TAG: COMPLETE_CODE},
    prefix="fss-",
)
# GuardDuty Malware Protection for S3 (tagging on in the plan): its one tag, the scanResultStatus.
GUARDDUTY_RESULT_TAG = "GuardDutyMalwareScanStatus"
GUARDDUTY_CLEAN = "NO_THREATS_FOUND"
GUARDDUTY_MALICIOUS = "THREATS_FOUND"
GUARDDUTY_TAGS = ScannerResultTags(
    keys=(GUARDDUTY_RESULT_TAG,),
    malicious={GUARDDUTY_RESULT_TAG: GUARDDUTY_MALICIOUS},
    clean={GUARDDUTY_RESULT_TAG: GUARDDUTY_CLEAN},
    prefix=GUARDDUTY_RESULT_TAG,
)
# Scanner (ScanResult.scanner) -> its tags.
RESULT_TAGS: dict[str, ScannerResultTags] = {FSS: FSS_TAGS, GUARDDUTY: GUARDDUTY_TAGS}


def tagged_clean(tags: Mapping[str, str], scanner: str = FSS) -> bool:
    """True when until_clean's policy lets readers read an object with these tags."""
    clean = RESULT_TAGS[scanner].clean
    return all(tags.get(key) == value for key, value in clean.items())


def result_tags(verdict: str, mode: str, scanner: str = FSS) -> dict[str, str]:
    """The scanner's tags for a verdict, where the policy of `mode` depends on them."""
    spec = RESULT_TAGS[scanner]
    if verdict == CLEAN and mode == UNTIL_CLEAN:
        return dict(spec.clean)
    if verdict == MALICIOUS and mode != OFF:
        return dict(spec.malicious)
    return {}


def fss_objection(tags: Mapping[str, str]) -> str | None:
    """What on an object says it is not clean (`key=value`; None: nothing does), read like every
    other tag rule (scanner_tags.claims: any spelling of File Storage Security's keys, either tag
    format); values are compared as the scanner writes them, case and spacing aside."""
    return objection(tags, FSS_CLEAN)


def guardduty_objection(tags: Mapping[str, str]) -> str | None:
    """A GuardDuty result tag, under any spelling of its key, that is not NO_THREATS_FOUND."""
    return objection(tags, scanner_tags.GUARDDUTY_CLEAN)


def any_objection(tags: Mapping[str, str]) -> str | None:
    """What on an object says it is not clean, in either scanner's tags: a clean copy is never
    tagged clean over another scanner's word either."""
    return fss_objection(tags) or guardduty_objection(tags)


def copy_tags(
    verdict: str,
    source_tags: Mapping[str, str],
    mode: str,
    *,
    scanner: str = FSS,
    file_id_key: str | None = None,
) -> tuple[dict[str, str], str]:
    """(the tags a routed copy gets, a note for the log line or "").

    Read protection off: exactly the source's tags. Otherwise the copy keeps the source's tags
    but not the keys it gets from the verdict (any spelling) nor other spellings of the scanner's
    keys, and:

    - malicious: always the malicious result tag. When it does not fit S3's 10 tags, the copy
      goes without some of the uploader's tags (the file id tag, then the scanner's own tags are
      kept first), never without the result tag.
    - clean (until_clean): the clean result tags, unless a tag on the source says otherwise (then
      the copy is not tagged clean: unreadable, UntaggedCleanObjects). An application's tag is
      never dropped for them: when they do not fit, the copy goes without them (unreadable).
    - any other verdict: never tagged clean, whatever the source says.
    """
    if mode == OFF:
        return dict(source_tags), ""
    spec = RESULT_TAGS[scanner]
    wanted = result_tags(verdict, mode, scanner)
    # Either scanner's word counts, whichever scanner spoke (any_objection).
    objection = any_objection(source_tags) if verdict == CLEAN and wanted else None
    if objection is not None:
        wanted = {}
    rewritten = {k.lower() for k in wanted}
    dropped = [k for k in source_tags if k.lower() in rewritten or spec.variant(k)]
    tags = {k: v for k, v in source_tags.items() if k not in dropped}
    readable_anyway = verdict == CLEAN and objection is None  # (until_clean tags it clean)
    if not readable_anyway and tagged_clean(tags, scanner):  # only a clean verdict may
        dropped += [k for k in spec.clean if k in tags]
        tags = {k: v for k, v in tags.items() if k not in spec.clean}
    names = ", ".join(f"{key}={value}" for key, value in wanted.items())
    notes = []
    if objection is not None:
        notes.append(
            f"read protection: the source's tag {objection} says it is not clean: the copy is "
            "not tagged clean (unreadable under until_clean)"
        )
    if len(tags) + len(wanted) > MAX_OBJECT_TAGS and verdict != MALICIOUS:
        notes.append(
            f"read protection: the copy carries the source's {len(tags)} tags without {names} "
            f"(S3 allows {MAX_OBJECT_TAGS} tags per object)"
            + (": it is unreadable under until_clean" if verdict == CLEAN else "")
        )
        return tags, "; ".join(notes)
    if len(tags) + len(wanted) > MAX_OBJECT_TAGS:
        kept = _most_needed(tags, spec, file_id_key, MAX_OBJECT_TAGS - len(wanted))
        left_out = [k for k in tags if k not in kept]
        tags = {k: tags[k] for k in kept}
        notes.append(
            f"read protection: the copy is tagged {names} without the source's tags "
            f"{', '.join(sorted(left_out))} (S3 allows {MAX_OBJECT_TAGS} tags per object)"
        )
    if wanted:
        found = [f"{k}={source_tags[k]}" for k in dropped if k in source_tags]
        if not any(k.lower() in rewritten for k in source_tags):
            notes.append(
                f"read protection: the scanner had not tagged the source yet; copy tagged {names}"
            )
        elif any(source_tags[k] != wanted.get(k) for k in dropped):
            notes.append(
                f"read protection: the copy is tagged {names} by the {verdict} verdict, not with "
                f"the source's {', '.join(found)}"
            )
    elif dropped and objection is None:
        notes.append(
            f"read protection: the copy does not carry the source's "
            f"{', '.join(f'{k}={source_tags[k]}' for k in dropped)}"
        )
    return {**tags, **wanted}, "; ".join(notes)


def _most_needed(
    tags: Mapping[str, str], spec: ScannerResultTags, file_id_key: str | None, room: int
) -> list[str]:
    """The keys to keep when only `room` fit: the file id tag (a replay finds the row by it),
    then the scanner's own tags, then the others by name."""
    order = sorted(tags, key=lambda k: (k != file_id_key, k not in spec.keys, k))
    return order[: max(room, 0)]
