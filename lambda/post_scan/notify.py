"""The SNS notification of a handled scan result, for people and machines at once (pure).

Published with MessageStructure=json, so each subscription protocol gets its own body:

- ``default`` (SQS, Lambda, email-json, HTTP, and HTTPS with NOTIFY_CHAT=false): the event detail
  as JSON, the same object EventBridge carries;
- ``email``: plain text a person reads in ten seconds: what, where, which file id, what was done,
  what to do next;
- ``https`` (only with NOTIFY_CHAT=true): an Amazon Q Developer in chat applications (formerly AWS
  Chatbot) custom notification, which Slack and Microsoft Teams channels render. Amazon Q
  Developer subscribes to a topic over HTTPS, so every HTTPS subscription gets this body.

A Subject (e-mail subject line) and the message attributes ``verdict``, ``outcome``, ``bucket`` and
``scanner`` (for subscription filter policies) go with it.

The key, the file id and S3's error texts come from whoever uploaded the file: in the e-mail they
are shown without control characters (no forged lines), in chat inside code spans with the
characters that make links, mentions and formatting replaced, so an upload named
``<!channel> <https://evil.example|invoice>`` pings nobody and links nowhere.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import UTC, datetime
from typing import Any

from post_scan import timing
from post_scan.events import render
from post_scan.message import CLEAN, FAILED, FSS, GUARDDUTY, INCOMPLETE, MALICIOUS, UNSCANNED
from post_scan.pipeline import (
    ERROR,
    FALLBACK,
    OBJECT_GONE,
    ROW_CONFLICT,
    ROW_MISSING,
    STALE_VERDICT,
    SUPERSEDED,
    UNPROVEN,
)

SUBJECT_MAX = 99  # SNS: ASCII, fewer than 100 characters, no line breaks
LISTED_FINDINGS = 10  # findings spelled out in the e-mail and chat bodies
CHAT_TITLE_MAX = 250
CHAT_TEXT_MAX = 300  # one value (a key, a reason) in a chat message
EMAIL_TEXT_MAX = 2000  # one value in the e-mail
APP = "fss-post-scan"

SCANNER_NAMES = {FSS: "File Storage Security", GUARDDUTY: "GuardDuty Malware Protection for S3"}

_VERDICT_WORDS = {
    MALICIOUS: "Malware found",
    INCOMPLETE: "Scan incomplete",
    FAILED: "Scan failed",
    CLEAN: "Clean file",
    UNSCANNED: "File not scanned",
}


def message_entry(detail: dict[str, Any], chat: bool, entry_id: str) -> dict[str, Any]:
    """One PublishBatch entry (also the arguments of a Publish, less the Id)."""
    return {
        "Id": entry_id,
        "Message": message(detail, chat),
        "MessageStructure": "json",
        "Subject": subject(detail),
        "MessageAttributes": attributes(detail),
    }


def message(detail: dict[str, Any], chat: bool) -> str:
    bodies = {"default": render(detail), "email": email(detail)}
    if chat:
        bodies["https"] = json.dumps(chat_notification(detail), ensure_ascii=False)
    return json.dumps(bodies, separators=(",", ":"), ensure_ascii=False)


def attributes(detail: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        name: {"DataType": "String", "StringValue": str(detail[name])}
        for name in ("verdict", "outcome", "bucket", "scanner")
    }


def entry_size(entry: dict[str, Any]) -> int:
    """What SNS counts against its 256 KiB: the message, subject and attributes in UTF-8 bytes."""
    size = len(entry["Message"].encode("utf-8")) + len(entry.get("Subject", "").encode("utf-8"))
    for name, value in entry.get("MessageAttributes", {}).items():
        size += len(name.encode("utf-8")) + len(value["DataType"].encode("utf-8"))
        size += len(value["StringValue"].encode("utf-8"))
    return size


# --- what happened, in words ------------------------------------------------------------------


def headline(detail: dict[str, Any], where: str = "") -> str:
    """What happened in a few words: "Malware found: deleted", "Malware found in BUCKET: NOT
    handled (error, will be retried)", ..."""
    verdict = detail["verdict"]
    what = _VERDICT_WORDS.get(verdict, f"Verdict {verdict}")
    return f"{what}{f' in {where}' if where else ''}: {_result(detail)}"


def _result(detail: dict[str, Any]) -> str:
    outcome, action = detail["outcome"], detail["action"]
    if outcome == ERROR:
        if detail.get("removed"):
            return f"{_done(detail)}, but NOT finished (error, will be retried)"
        return "NOT handled (error, will be retried)"
    if outcome == UNPROVEN:  # not acted on, dry run or not
        return "not acted on (the scanned upload was not singled out)"
    if detail["dry_run"] and action != "none":
        return f"dry run, would be {_done_word(action)}"
    known = {
        OBJECT_GONE: "already gone",
        FALLBACK: "made harmless by a fallback",
        SUPERSEDED: "replaced by a newer upload, left alone",
    }
    if outcome in known:
        return known[outcome]
    row = {
        STALE_VERDICT: "a newer verdict is recorded",
        ROW_MISSING: "no row for its file id",
        ROW_CONFLICT: "its file id names another object's row",
    }.get(outcome)
    return _done(detail) + (f" ({row})" if row else "")


def _done(detail: dict[str, Any]) -> str:
    """What this delivery did to the file, in a word or two, from the calls it made."""
    actions, action = detail["actions"], detail["action"]
    if "delete" in actions or "verify" in actions:
        return _done_word(action)
    if detail.get("removed"):
        return "already gone"
    return "no action configured" if action == "none" else "not acted on"


def _done_word(action: str) -> str:
    return {"delete": "deleted", "quarantine": "quarantined", "promote": "promoted"}.get(
        action, "routed"
    )


def _fate(detail: dict[str, Any]) -> str:
    """What the action does to the file: "deleted for good ...", "moved to s3://...", ..."""
    action = detail["action"]
    if action == "delete":
        return "deleted for good (the scanned version)"
    where = detail["destination"] or "its route's destination"
    deletes = {"delete", "would_delete"} & set(detail["actions"])
    return f"moved to {where}" if deletes else f"copied to {where} (the original stays)"


def what_was_done(detail: dict[str, Any]) -> str:
    done = _what_was_done(detail)
    exposure = detail.get("exposure_seconds")
    if exposure is None:
        return done
    return f"{done} It was readable for {timing.words(exposure)} (from its upload until removed)."


def _what_was_done(detail: dict[str, Any]) -> str:
    """What happened to the file and to its row, as this delivery left them: from the calls it
    made (`actions`) and `removed`, whatever the outcome says about the row."""
    outcome, action, actions = detail["outcome"], detail["action"], detail["actions"]
    if outcome == ERROR:
        if detail.get("removed"):
            fate = _fate(detail) if "delete" in actions else "already gone"
            return (
                f"The file was {fate}, but the function failed afterwards (see the error) and "
                "will retry this scan result."
            )
        return "Nothing could be finished: the function failed on this file and will retry it."
    if outcome == UNPROVEN:
        done = (
            f"Not acted on: the {detail['verdict']} verdict was not applied, because the scanned "
            "bytes could not be singled out (the scan result has no ETag, and S3's evidence, the "
            "size, LastModified and the versions of the key, cannot tell the scanned upload from "
            "another one; see Details). Nothing was copied, promoted, deleted or recorded as "
            f"{detail['verdict']}."
        )
        if "record" in actions:
            done += " Its row says unproven, with the reason."
        return done
    if detail["dry_run"]:
        return "Nothing (dry run). " + (
            f"Without DRY_RUN the file would have been {_fate(detail)}."
            if action != "none"
            else "No action is configured for this verdict."
        )
    if outcome == SUPERSEDED:
        return "Nothing: the key holds a newer upload now, which was left alone."
    if outcome == FALLBACK:
        return (
            f"The configured action could not be done ({detail.get('fallback')}); the file was "
            "made harmless another way instead."
        )
    if "delete" in actions or "verify" in actions:
        done = f"The file was {_fate(detail)}."
    elif outcome == OBJECT_GONE or detail.get("removed"):
        done = "Nothing: the file was already gone (handled by an earlier delivery, or deleted)."
    elif outcome == ROW_CONFLICT:
        done = (
            f"Nothing: the {detail['verdict']} verdict was not acted on, because the file's id "
            "names the row of another object."
        )
    elif action == "none":
        done = "No action is configured."
    else:
        done = "Nothing was done to the file."
    if outcome == STALE_VERDICT:
        done += " The verdict was not recorded: a newer one is recorded for this file id."
    elif outcome == ROW_MISSING:
        done += " The verdict was not recorded: no row has this file id."
    elif outcome == ROW_CONFLICT:
        done += " Its row was left untouched: the file id names another object's row."
    elif "record" in actions:
        done += " The verdict was recorded for its file id."
    return done


def next_steps(detail: dict[str, Any]) -> list[str]:
    verdict, outcome = detail["verdict"], detail["outcome"]
    steps: list[str] = []
    if outcome == ERROR:
        steps.append(
            "Read the error below and the function's log line for this scan message id. This "
            "notice repeats on every retry; after the last one the scan result waits in the "
            "dead-letter queue (replay it once the cause is fixed)."
        )
    if outcome == ROW_CONFLICT:
        steps.append(
            "Find out who set the file id tag on this upload: it names the row of another object "
            "(see Details), which was left untouched."
        )
    if verdict == MALICIOUS:
        if not detail.get("removed") and outcome != SUPERSEDED:
            steps.append("The file is still in the bucket: keep anyone from downloading it.")
        steps.append(
            "Find who uploaded it (CloudTrail data events, the application's upload log) and "
            "whether anything read it before it was handled."
        )
    elif outcome == UNPROVEN:
        steps.append(
            "The file was left as it is: it is not known to be the upload that was scanned. Look "
            "at the key's uploads (Details), then handle the file by hand or rescan it; a "
            "versioned bucket, or a scanner that sends the ETag, avoids this."
        )
    elif verdict == INCOMPLETE:
        steps.append(
            "The scanner could not look at all of the file (codes above): treat it as untrusted "
            "until it is rescanned or reviewed."
        )
    elif verdict == FAILED:
        steps.append("The scan failed: the file is not known to be clean. Rescan it.")
    elif verdict == UNSCANNED:
        steps.append(
            "The scanner did not look at the file (licence, access, scanner error, timeout or "
            f"throttling): check {_scanner_name(detail)}, then rescan the file; until then it is "
            "not known to be clean."
        )
    elif not steps:
        steps.append("Nothing to do.")
    return steps


def subject(detail: dict[str, Any]) -> str:
    text = f"[{APP}] {headline(detail, detail['bucket'])}"
    text = text.encode("ascii", "replace").decode("ascii")
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 3] + "..."


# --- e-mail -----------------------------------------------------------------------------------


def email(detail: dict[str, Any]) -> str:
    """Plain text: the answer first, then the facts, one per line."""
    lines = [
        headline(detail),
        "",
        f"File:        s3://{detail['bucket']}/{plain_text(detail['key'])}",
    ]
    if detail["version_id"]:
        lines.append(f"Version:     {plain_text(detail['version_id'])}")
    lines.append(f"File id:     {plain_text(detail['file_id']) if detail['file_id'] else '-'}")
    lines.append(f"Verdict:     {_verdict_line(detail)}")
    lines.append(f"Scanner:     {_scanner_name(detail)}")
    lines.append(f"Done:        {plain_text(what_was_done(detail))}")
    lines.append("")
    lines.append("Next steps:")
    lines += [f"- {step}" for step in next_steps(detail)]
    lines.append("")
    if detail["error"]:
        error = detail["error"]
        lines.append(f"Error:       {plain_text(error['type'] + ': ' + error['message'])}")
    if detail["reason"]:
        lines.append(f"Details:     {plain_text(detail['reason'])}")
    lines += [
        f"Outcome:     {detail['outcome']} (action {detail['action']}"
        f"{', dry run' if detail['dry_run'] else ''})",
        f"Scanned at:  {_time(detail['scan_timestamp'])}",
        f"Scan result: {plain_text(detail['scan_message_id'])}",
        f"Function:    {plain_text(detail['function_name'])}",
        "",
        "The JSON of this scan result is in the notification's default body "
        "(subscribe with the email-json, SQS or Lambda protocol to receive it).",
    ]
    return "\n".join(lines) + "\n"


def _verdict_line(detail: dict[str, Any]) -> str:
    verdict = detail["verdict"]
    if detail["findings"]:
        listed = ", ".join(
            plain_text(f["malware"]) + (f" ({plain_text(f['type'])})" if f["type"] else "")
            for f in detail["findings"][:LISTED_FINDINGS]
        )
        more = detail["findings_count"] - min(LISTED_FINDINGS, len(detail["findings"]))
        return f"{verdict}: {listed}" + (f" and {more} more" if more else "")
    if verdict == INCOMPLETE:
        return f"{verdict} (scanner codes {', '.join(str(c) for c in detail['codes'])})"
    if verdict in (FAILED, UNSCANNED) and detail.get("scanner") == GUARDDUTY:
        return f"{verdict} ({plain_text(detail.get('scanner_status_message'))})"
    if verdict in (FAILED, UNSCANNED):
        return f"{verdict} (scanner status {detail['scanner_status']})"
    return verdict


def _scanner_name(detail: dict[str, Any]) -> str:
    scanner = detail.get("scanner", FSS)
    return SCANNER_NAMES.get(scanner, plain_text(scanner))


def _time(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def plain_text(value: Any, limit: int = EMAIL_TEXT_MAX) -> str:
    """One line of printable text: every character that can break a line or is not shown as
    itself is written as an escape (``\\n``, ``\\x0b``, ``\\x85``, ``\\u2028``, ``\\ud800``...),
    so a key cannot forge lines or reorder what a reader sees. Escaped: the categories C*
    (controls such as LF, CR, vertical tab, form feed and NEL; format characters such as bidi
    overrides and zero-width spaces; lone surrogates; private-use and unassigned code points)
    and the line and paragraph separators U+2028 and U+2029 (Zl, Zp)."""
    text = "".join(
        ch.encode("unicode_escape").decode("ascii") if _breaks_or_hides(ch) else ch
        for ch in str(value)
    )
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _breaks_or_hides(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] == "C" or category in ("Zl", "Zp")


# --- chat (Amazon Q Developer in chat applications custom notification) ----------------------


def chat_notification(detail: dict[str, Any]) -> dict[str, Any]:
    """Custom notification format 1.0: content for the channel, metadata for threading."""
    where = f"s3://{detail['bucket']}/{detail['key']}"
    lines = [
        f"*File:* {_code(where)}",
        f"*File id:* {_code(detail['file_id']) if detail['file_id'] else '-'}",
        f"*Verdict:* {_code(_verdict_line(detail))}",
        f"*Done:* {_code(what_was_done(detail))}",
    ]
    if detail["error"]:
        error = detail["error"]
        lines.append(f"*Error:* {_code(error['type'] + ': ' + error['message'])}")
    lines.append(
        f"*Scan result:* {_code(detail['scan_message_id'])} at {_time(detail['scan_timestamp'])}"
    )
    return {
        "version": "1.0",
        "source": "custom",
        "id": _code_text(detail["scan_message_id"], 128),
        "content": {
            "textType": "client-markdown",
            "title": f"{_emoji(detail)} {headline(detail)}"[:CHAT_TITLE_MAX],
            "description": "\n".join(lines),
            "nextSteps": [_code_text(step, CHAT_TEXT_MAX) for step in next_steps(detail)],
            "keywords": [detail["verdict"], detail["outcome"], _code_text(detail["bucket"], 63)],
        },
        "metadata": {
            # Every notice about the same file (retries, later outcomes) in one thread.
            "threadId": thread_id(detail["bucket"], detail["key"]),
            "summary": headline(detail, _code_text(detail["bucket"], 63)),
            "eventType": "ScanResultProcessed",
            "relatedResources": [_code_text(where, CHAT_TEXT_MAX)],
            "additionalContext": {
                "verdict": detail["verdict"],
                "outcome": detail["outcome"],
                "action": detail["action"],
                "scanner": detail.get("scanner", FSS),
                "file_id": _code_text(detail["file_id"] or "", CHAT_TEXT_MAX),
            },
        },
    }


def thread_id(bucket: str, key: str) -> str:
    digest = hashlib.sha256(f"{bucket}\0{key}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"{APP}-{digest[:32]}"


def _emoji(detail: dict[str, Any]) -> str:
    if detail["outcome"] == ERROR:
        return ":x:"
    return {MALICIOUS: ":rotating_light:", CLEAN: ":white_check_mark:"}.get(
        detail["verdict"], ":warning:"
    )


# Characters that make Slack / Teams markup out of text: angle brackets (links, mentions
# <!channel>, <@U123>, <at>), backticks (ending the code span), and line breaks.
_CHAT_REPLACEMENTS = str.maketrans({"<": "\u2039", ">": "\u203a", "`": "\u02cb", "&": "\uff06"})


def _code_text(value: Any, limit: int) -> str:
    text = plain_text(value, limit).translate(_CHAT_REPLACEMENTS)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _code(value: Any) -> str:
    """Inline code: rendered verbatim, so * _ ~ [ ] ( ) in a key format nothing."""
    return f"`{_code_text(value, CHAT_TEXT_MAX)}`"
