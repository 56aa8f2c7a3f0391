"""Pure reading of the tags File Storage Security writes on a scanned object.

The scanner's `ScanResultTagFormat` setting decides what is there (facts and sources:
docs/scanner.md):

- "Separated tags" (the default): one tag per field, `fss-scan-result` = `no issues found`,
  `malicious` or `failure`, plus `fss-scanned`, `fss-scan-date`, `fss-scan-detail-code`,
  `fss-scan-detail-message`, `fss-error-message` and, on Vision One, `fss-scan-type`.
- "Merged tag": every field in one `fss-` tag. Trend Micro's material we could find does not give
  that tag's key or value syntax, so any `fss-` tag whose value names the fields (`scan-result`,
  `fss-scan-result`, `Scan_Result`, ... followed by `=` or `:`, any separator between them; or a
  JSON object) is read as the merged tag; see merged_fields().
- "No tag": nothing; read() returns None.

Every tag-based rule (verdict conflicts, scan types, read protection) reads the tags through this
module only; the two that ask what the tags *say* about a scan (malicious_keys: "a scanner found
malware"; objection(): "not clean", protection.py) read claims(), one reading of keys in any
spelling and of both formats. Tags are the uploader's to write unless a bucket policy denies it
(read_protection), so they may only make the function more careful: `says_malicious` answers True
when ANY tag, under any spelling of its key and in either format, says malicious (GuardDuty Malware
Protection's `GuardDutyMalwareScanStatus` = `THREATS_FOUND` included), and no clean value, ordering
of tags or case of a key outweighs it. Tags never locate the scanned content (locate.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

SEPARATED = "separated"
MERGED = "merged"

PREFIX = "fss-"
RESULT_TAG = "fss-scan-result"
SCAN_TYPE_TAG = "fss-scan-type"
# fss-scan-result values.
RESULT_MALICIOUS = "malicious"
RESULT_NO_ISSUES = "no issues found"
RESULT_FAILURE = "failure"
# GuardDuty Malware Protection for S3 tags a scanned object with its scanResultStatus.
GUARDDUTY_STATUS_TAG = "GuardDutyMalwareScanStatus"
GUARDDUTY_THREATS_FOUND = "THREATS_FOUND"
# fss-scan-type values: config.SCAN_TYPES.

# Field names without the prefix -> ScannerTags attribute.
_FIELDS = {
    "scan-result": "result",
    "scan-type": "scan_type",
    "scan-date": "scan_date",
    "scan-detail-code": "detail_code",
    "scan-detail-message": "detail_message",
    "error-message": "error_message",
    "scanned": "scanned",
}
_SEPARATED_KEYS = frozenset(PREFIX + name for name in _FIELDS)
# A known field name (optional fss- prefix, - or _ between words) followed by = or :.
_NAME = re.compile(
    r"(?<![A-Za-z0-9_-])((?:fss[-_])?(?:"
    + "|".join(sorted((n.replace("-", "[-_]") for n in _FIELDS), key=len, reverse=True))
    + r"))\s*[=:]",
    re.I,
)
_GUARDDUTY_NAME = GUARDDUTY_STATUS_TAG.lower()
_TRAILING = ";&,|/+"
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


@dataclass(frozen=True)
class ScannerTags:
    """What the scanner's own tags say; values as written, `result` and `scan_type` lower case."""

    format: str  # SEPARATED or MERGED
    key: str  # the tag that holds the result (fss-scan-result, or the merged tag's key)
    result: str | None = None
    scan_type: str | None = None
    scan_date: str | None = None
    detail_code: str | None = None
    detail_message: str | None = None
    error_message: str | None = None
    scanned: str | None = None

    @property
    def malicious(self) -> bool:
        return self.result == RESULT_MALICIOUS


def read(tags: Mapping[str, str] | None) -> ScannerTags | None:
    """What the scanner's result tag(s) on one object version say; None when it carries none.

    A description (scan type, dates), never a decision that could let a benign action through:
    that is says_malicious(). The answer does not depend on the order S3 lists the tags in: of
    several spellings of one key, the one the scanner writes (lower case) is read, else the first
    in sorted order.
    """
    if not tags:
        return None
    separated: dict[str, str] = {}
    for key in sorted(tags, key=lambda k: (k != k.lower(), k)):
        if key.lower() in _SEPARATED_KEYS:
            separated.setdefault(key.lower(), tags[key])
    plain = separated.get(RESULT_TAG)
    if plain is not None and "scan-result" not in merged_fields(plain):
        return _build(SEPARATED, RESULT_TAG, {k[len(PREFIX) :]: v for k, v in separated.items()})
    for key in sorted(tags):  # sorted: the same answer whatever order S3 listed the tags in
        if key.lower().startswith(PREFIX):
            fields = merged_fields(tags[key])
            if "scan-result" in fields:
                return _build(MERGED, key, fields)
    return None


@dataclass(frozen=True)
class Claim:
    """One thing a tag says about a scan: the tag's key as written, the field it speaks of (a
    File Storage Security field name without the prefix, `scan-result`, `scan-detail-code`, ...;
    or GUARDDUTY_STATUS) and the value as written."""

    key: str
    field: str
    value: str

    @property
    def normal(self) -> str:
        """The value as the scanner writes it, case and spacing aside (GuardDuty's with `_`)."""
        value = normal_value(self.value)
        return value.replace(" ", "_") if self.field == GUARDDUTY_STATUS else value


# Claim.field of GuardDuty Malware Protection's GuardDutyMalwareScanStatus tag.
GUARDDUTY_STATUS = "guardduty-status"
# What each scanner's tags say when the object is clean (Claim.field -> Claim.normal): anything
# else under one of these fields objects (objection()).
FSS_CLEAN = {"scan-result": RESULT_NO_ISSUES, "scan-detail-code": "0"}
GUARDDUTY_CLEAN = {GUARDDUTY_STATUS: "no_threats_found"}
_MALICIOUS = {"scan-result": RESULT_MALICIOUS, GUARDDUTY_STATUS: GUARDDUTY_THREATS_FOUND.lower()}


def key_name(key: str) -> str:
    """A tag key as the scanners spell theirs: lower case, trimmed, runs of spaces and `_` as `-`
    (`FSS_Scan_Result` -> `fss-scan-result`, `GuardDutyMalwareScanStatus` ->
    `guarddutymalwarescanstatus`). Every rule that asks what the tags say reads keys this way."""
    return re.sub(r"[\s_]+", "-", key.strip().lower())


def normal_value(value: str) -> str:
    return " ".join(value.split()).lower()


def claims(tags: Mapping[str, str] | None) -> list[Claim]:
    """Everything the tags say about a scan, in any spelling of the keys and in either format,
    in the order of the keys (sorted: the same answer whatever order S3 listed them in).

    File Storage Security: a key that names one of its fields (`fss-scan-result`, any case, `_`
    for `-`) says that field, and any `fss-` key whose value holds merged fields says each of them
    (merged_fields()); so does `fss-scan-result` itself when its value is a merged one. GuardDuty:
    `GuardDutyMalwareScanStatus` in any case says GUARDDUTY_STATUS.
    """
    found: list[Claim] = []
    for key in sorted(tags or {}):
        value = (tags or {})[key]
        name = key_name(key)
        if name == _GUARDDUTY_NAME:
            found.append(Claim(key, GUARDDUTY_STATUS, value))
        elif name.startswith(PREFIX):
            if name in _SEPARATED_KEYS:
                found.append(Claim(key, name[len(PREFIX) :], value))
            found += [Claim(key, f, v) for f, v in merged_fields(value).items()]
    return found


def malicious_keys(tags: Mapping[str, str] | None) -> list[str]:
    """Every tag key (sorted) whose value says a scanner found malware, in any format or case
    (claims()): a File Storage Security scan-result `malicious` (values: any case, runs of spaces
    as one), separated or merged; GuardDuty's status `THREATS_FOUND` (any case)."""
    found = {c.key for c in claims(tags) if _MALICIOUS.get(c.field) == c.normal}
    return sorted(found)


def says_malicious(tags: Mapping[str, str] | None) -> bool:
    """A scanner tagged the object malicious (any tag, any spelling, either format, FSS or
    GuardDuty): a clean, incomplete, failed or unscanned verdict for it is refused
    (VerdictConflict), whatever the message claims and whatever other tags say."""
    return bool(malicious_keys(tags))


def objection(tags: Mapping[str, str] | None, clean: Mapping[str, str]) -> str | None:
    """`key=value` (the tag as written) of the first tag (by key) that says something other than
    clean about one of `clean`'s fields (FSS_CLEAN, GUARDDUTY_CLEAN; claims()), in any spelling
    and format; None when no tag does. An absent field is no objection."""
    for claim in claims(tags):
        if claim.field in clean and claim.normal != clean[claim.field]:
            return f"{claim.key}={(tags or {})[claim.key]}"
    return None


def scan_type(tags: Mapping[str, str] | None) -> str | None:
    """Vision One's fss-scan-type (lower case), None when the object has none."""
    found = read(tags)
    return found.scan_type if found is not None else None


def merged_fields(value: str) -> dict[str, str]:
    """Field name (lower case, no prefix) -> value, read from one merged tag value.

    Field names are found wherever a known one (with or without `fss-`, any case, `-` or `_`)
    is followed by `=` or `:`; its value runs to the next field name, so any separator works
    (also those S3 allows in tag values, which excludes `;` `&` `,` `|`). URL-encoded values
    (`no+issues+found`, `%2F`) are decoded. A JSON object is read as one.
    """
    text = value.strip()
    if text.startswith("{"):
        return _known(_json_pairs(text))
    matches = list(_NAME.finditer(text))
    ends = [m.start() for m in matches[1:]] + [len(text)] if matches else []
    pairs = []
    for match, end in zip(matches, ends, strict=True):
        raw = text[match.end() : end]
        pairs.append((match.group(1), _decoded(raw.strip().rstrip(_TRAILING).strip())))
    return _known(pairs)


def _decoded(raw: str) -> str:
    if " " not in raw and ("+" in raw or _ESCAPE.search(raw)):
        return unquote_plus(raw)
    return raw


def _known(pairs: list[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, raw in pairs:
        field = _field_name(name)
        if field in _FIELDS and field not in fields:
            fields[field] = raw
    return fields


def _json_pairs(text: str) -> list[tuple[str, str]]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return []
    if not isinstance(data, dict):
        return []
    return [(str(k), _json_text(v)) for k, v in data.items() if isinstance(v, str | int | bool)]


def _json_text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field_name(name: str) -> str:
    field = key_name(name)
    return field[len(PREFIX) :] if field.startswith(PREFIX) else field


def _build(kind: str, key: str, fields: Mapping[str, str]) -> ScannerTags:
    values = {_FIELDS[name]: fields[name] for name in _FIELDS if name in fields}
    for name in ("result", "scan_type"):
        if values.get(name) is not None:
            values[name] = normal_value(values[name])
    return ScannerTags(format=kind, key=key, **values)
