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

Every tag-based rule (locate, scan types, ...) reads the tags through this module only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from post_scan.message import MALICIOUS

SEPARATED = "separated"
MERGED = "merged"

PREFIX = "fss-"
RESULT_TAG = "fss-scan-result"
SCAN_TYPE_TAG = "fss-scan-type"
# fss-scan-result values.
RESULT_MALICIOUS = "malicious"
RESULT_NO_ISSUES = "no issues found"
RESULT_FAILURE = "failure"
# fss-scan-type values (Vision One): a real-time upload, a manual or a scheduled full bucket scan.
OBJECT_CREATED = "object created"
SCAN_TYPES = (OBJECT_CREATED, "manual", "schedule")

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
    """The scanner's result tag(s) on one object version; None when it carries none."""
    if not tags:
        return None
    separated = {k.lower(): v for k, v in tags.items() if k.lower() in _SEPARATED_KEYS}
    plain = separated.get(RESULT_TAG)
    if plain is not None and "scan-result" not in merged_fields(plain):
        return _build(SEPARATED, RESULT_TAG, {k[len(PREFIX) :]: v for k, v in separated.items()})
    for key in sorted(tags):  # sorted: the same answer whatever order S3 listed the tags in
        if key.lower().startswith(PREFIX):
            fields = merged_fields(tags[key])
            if "scan-result" in fields:
                return _build(MERGED, key, fields)
    return None


def has_result(tags: Mapping[str, str] | None) -> bool:
    found = read(tags)
    return found is not None and found.result is not None


def agrees(tags: Mapping[str, str] | None, verdict: str) -> bool:
    """The scanner's result tag is there and says malicious exactly when the verdict does."""
    found = read(tags)
    if found is None or found.result is None:
        return False
    return found.malicious == (verdict == MALICIOUS)


def says_malicious(tags: Mapping[str, str] | None) -> bool:
    """The scanner tagged the object malicious: a clean, incomplete, failed or unscanned verdict
    for it is refused (VerdictConflict), whatever the message claims."""
    found = read(tags)
    return found is not None and found.malicious


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
    field = re.sub(r"[\s_]+", "-", name.strip().lower())
    return field[len(PREFIX) :] if field.startswith(PREFIX) else field


def _build(kind: str, key: str, fields: Mapping[str, str]) -> ScannerTags:
    values = {_FIELDS[name]: fields[name] for name in _FIELDS if name in fields}
    for name in ("result", "scan_type"):
        if values.get(name) is not None:
            values[name] = " ".join(values[name].split()).lower()
    return ScannerTags(format=kind, key=key, **values)
