"""The scanner fixtures (tests/fixtures/scanner/*.json): one file per scanner generation, with the
messages and tags that generation publishes and writes, and where each fact comes from.

Placeholders: a string that is exactly "{name}" becomes the value (any type, e.g. a number for
"{published}"); "{name}" inside a longer string is replaced by str(value).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "scanner"
GENERATIONS = tuple(sorted(path.stem for path in FIXTURES.glob("*.json")))
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def load(generation: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{generation}.json").read_text(encoding="utf-8"))


def fill(value: Any, values: dict[str, Any]) -> Any:
    """The fixture value with its placeholders replaced; an unknown placeholder is an error."""
    if isinstance(value, dict):
        return {fill(k, values): fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(item, values) for item in value]
    if not isinstance(value, str):
        return value
    whole = _PLACEHOLDER.fullmatch(value)
    if whole:
        return values[whole.group(1)]
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), value)


def merged(tags: dict[str, str], syntax: str) -> dict[str, str]:
    """The fss-* tags folded into one tag in one plausible syntax (Trend Micro does not publish
    the merged tag's key or syntax); other tags are kept."""
    fss = {k: v for k, v in tags.items() if k.startswith("fss-")}
    others = {k: v for k, v in tags.items() if not k.startswith("fss-")}
    if not fss:
        return others
    bare = {k[len("fss-") :]: v for k, v in fss.items()}
    # Only characters S3 allows in tag values (letters, digits, space, _ . : / = + - @).
    if syntax == "colons":
        value = " ".join(f"{k}:{v}" for k, v in fss.items())
        return {**others, "fss-scan": value}
    if syntax == "equals":
        value = " ".join(f"{k.replace('-', '_').title()}={v}" for k, v in bare.items())
        return {**others, "fss-scan-result": value}
    if syntax == "plus":
        value = "+".join(f"{k}={v.replace(' ', '+')}" for k, v in bare.items())
        return {**others, "fss-scan-info": value}
    raise ValueError(syntax)


MERGED_SYNTAXES = ("colons", "equals", "plus")


# GuardDuty Malware Protection for S3: EventBridge events, one folder per scanner that is not FSS.
GUARDDUTY_FIXTURE = FIXTURES / "guardduty" / "events.json"


def load_guardduty() -> dict[str, Any]:
    return json.loads(GUARDDUTY_FIXTURE.read_text(encoding="utf-8"))
