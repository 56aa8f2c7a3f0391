"""A small IAM policy evaluator for the tests: does a policy deny / allow one request?

moto enforces no bucket policy, so the read protection policies are proven here instead. It
implements what AWS documents for the condition operators the module's policies use, and refuses
anything it does not implement (an unknown operator, a policy variable, NotPrincipal) rather than
guess:

- String[Not]Equals[IgnoreCase], String[Not]Like, Arn[Not]Equals, Arn[Not]Like, Bool, Null; the
  ...IfExists suffix; the ForAnyValue: / ForAllValues: set qualifiers.
- A key missing from the request: a positive operator is false; a negated one (StringNotEquals,
  ArnNotLike, ...) is TRUE; any ...IfExists operator is TRUE; ForAnyValue is false, ForAllValues
  true; Null "true" is true. (IAM User Guide, "Condition operators": "If the key that you specify
  in a policy condition is not present in the request context, the values do not match and the
  condition is false. If the policy condition requires that the key is not matched, such as
  StringNotLike or ArnNotLike, and the right key is not present, the condition is true.")
- Several values for one key: a positive operator needs one to match, a negated one needs none
  to match. Several keys, several operators in one Condition: all must hold.
- Explicit Deny wins; otherwise Allow if a statement allows (or identity policies allow).

s3_request() builds the request context S3 would send for an action on an object: the condition
keys come from parliament's copy of the AWS service authorization reference, so an action that
does not support s3:ExistingObjectTag/<key> (torrent, replication) gets no such key, as in AWS.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DENY = "deny"  # an explicit Deny statement applies
ALLOW = "allow"  # no Deny applies and something allows
IMPLICIT_DENY = "implicit-deny"  # no Deny applies, nothing allows

_NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "ArnNotEquals",
    "ArnNotLike",
}
_OPERATORS = {
    "StringEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "ArnEquals",
    "ArnLike",
    "Bool",
    "Null",
    *_NEGATED,
}


class Unsupported(ValueError):
    """The policy uses something this evaluator does not implement."""


@dataclass(frozen=True)
class Request:
    action: str  # e.g. s3:GetObject
    resource: str  # e.g. arn:aws:s3:::bucket/key
    # Condition keys present in the request: single values are str, multi-valued keys lists.
    context: Mapping[str, str | list[str]] = field(default_factory=dict)

    def value(self, key: str) -> str | list[str] | None:
        """The context value of a condition key (key names are case-insensitive, except the
        part after '/', e.g. a tag key)."""
        wanted = _key_name(key)
        for name, value in self.context.items():
            if _key_name(name) == wanted:
                return value
        return None


def _key_name(key: str) -> tuple[str, str]:
    head, _, tail = key.partition("/")
    return head.lower(), tail


def _glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _arn_match(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated parts matched on its own."""
    pattern_parts, value_parts = pattern.split(":", 5), value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return False
    return all(_glob(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))


def _matches(operator: str, expected: str, actual: str) -> bool:
    base = operator.replace("Not", "", 1)
    if base == "StringEquals":
        return expected == actual
    if base == "StringEqualsIgnoreCase":
        return expected.lower() == actual.lower()
    if base == "StringLike":
        return _glob(expected, actual)
    if base in ("ArnEquals", "ArnLike"):
        return _arn_match(expected, actual)
    if base == "Bool":
        return expected.lower() == actual.lower()
    raise Unsupported(operator)


def _values(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    values = []
    for item in items:
        if isinstance(item, bool):
            item = "true" if item else "false"
        if not isinstance(item, str):
            raise Unsupported(f"condition value {item!r}")
        if "${" in item:
            raise Unsupported(f"policy variable in {item!r}")
        values.append(item)
    return values


def condition_holds(operator: str, key: str, raw_expected: Any, request: Request) -> bool:
    """One operator applied to one condition key."""
    expected = _values(raw_expected)
    qualifier, _, name = operator.rpartition(":")
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise Unsupported(operator)
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name not in _OPERATORS or (if_exists and name == "Null"):
        raise Unsupported(operator)
    actual = request.value(key)

    if name == "Null":
        if qualifier or len(expected) != 1 or expected[0] not in ("true", "false"):
            raise Unsupported(f"Null with {raw_expected!r}")
        return (actual is None) == (expected[0] == "true")
    negated = name in _NEGATED

    if qualifier:
        members = [] if actual is None else [actual] if isinstance(actual, str) else list(actual)
        if not members:
            return qualifier == "ForAllValues"

        def member_holds(member: str) -> bool:
            hits = any(_matches(name, e, member) for e in expected)
            return not hits if negated else hits

        if qualifier == "ForAnyValue":
            return any(member_holds(m) for m in members)
        return all(member_holds(m) for m in members)

    if actual is None:
        return True if if_exists else negated
    if isinstance(actual, list):
        raise Unsupported(
            f"{operator} on the multi-valued key {key} needs ForAnyValue/ForAllValues"
        )
    hits = any(_matches(name, e, actual) for e in expected)
    return not hits if negated else hits


def _listed(raw: Any) -> list[str]:
    return [raw] if isinstance(raw, str) else list(raw)


def _action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(_glob(p, action, ignore_case=True) for p in patterns)


def _principal_matches(statement: Mapping[str, Any], request: Request) -> bool:
    if "NotPrincipal" in statement:
        raise Unsupported("NotPrincipal")
    principal = statement.get("Principal")
    if principal is None:  # an identity policy statement
        return True
    if principal == "*" or (
        isinstance(principal, dict) and _listed(principal.get("AWS", [])) == ["*"]
    ):
        return True
    if not isinstance(principal, dict):
        raise Unsupported(f"Principal {principal!r}")
    arn = request.value("aws:PrincipalArn")
    return isinstance(arn, str) and any(
        _arn_match(p, arn) for p in _listed(principal.get("AWS", []))
    )


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "NotAction" in statement or "NotResource" in statement:
        raise Unsupported("NotAction / NotResource")
    if not _action_matches(_listed(statement["Action"]), request.action):
        return False
    if not any(_glob(r, request.resource) for r in _listed(statement["Resource"])):
        return False
    if not _principal_matches(statement, request):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, expected in keys.items():
            if not condition_holds(operator, key, expected, request):
                return False
    return True


def evaluate(
    policy: Mapping[str, Any] | str, request: Request, identity_allows: bool = True
) -> str:
    """DENY, ALLOW or IMPLICIT_DENY for one request (identity_allows: the caller's own IAM
    policies grant the action, as the scanner's and the application's roles do)."""
    document = json.loads(policy) if isinstance(policy, str) else policy
    statements = document["Statement"]
    statements = [statements] if isinstance(statements, dict) else statements
    applying = [s for s in statements if statement_applies(s, request)]
    if any(s["Effect"] == "Deny" for s in applying):
        return DENY
    if identity_allows or any(s["Effect"] == "Allow" for s in applying):
        return ALLOW
    return IMPLICIT_DENY


################################################################################
# The request context S3 sends
################################################################################


@functools.cache
def _s3_condition_keys() -> dict[str, frozenset[str]]:
    """action (lower case, without s3:) -> condition keys it supports, from parliament's data."""
    import parliament

    path = Path(parliament.__file__).with_name("iam_definition.json")
    services = json.loads(path.read_text())
    s3 = next(s for s in services if s["prefix"] == "s3")
    keys: dict[str, frozenset[str]] = {}
    for privilege in s3["privileges"]:
        found = {k for r in privilege["resource_types"] for k in r["condition_keys"]}
        keys[privilege["privilege"].lower()] = frozenset(found)
    return keys


def supports(action: str, condition_key: str) -> bool:
    """Whether the authorization reference lists condition_key (e.g. s3:ExistingObjectTag/<key>)
    for an S3 action."""
    service, _, name = action.partition(":")
    assert service == "s3", action
    keys = _s3_condition_keys().get(name.lower())
    if keys is None:
        raise Unsupported(f"unknown action {action}")
    return condition_key in keys


def s3_request(
    action: str,
    resource: str,
    *,
    principal_arn: str | None,
    object_tags: Mapping[str, str] | None = None,
    request_tags: Mapping[str, str] | None = None,
    copy_source: str | None = None,
) -> Request:
    """The request context of an S3 object request.

    principal_arn: aws:PrincipalArn, i.e. the role's ARN for an assumed-role session, the user's
    for an IAM user; None for anonymous requests (and for AWS service principals such as
    CloudFront with origin access control, which carry no aws:PrincipalArn either).
    object_tags: the tags of the object (version) the request is about (None: no such object).
    request_tags: the tags the request sets (x-amz-tagging, PutObjectTagging's TagSet).
    copy_source: x-amz-copy-source of a CopyObject (authorized as s3:PutObject on the
    destination; its x-amz-tagging, with TaggingDirective REPLACE, are request_tags).
    """
    context: dict[str, str | list[str]] = {}
    if principal_arn is not None:
        context["aws:PrincipalArn"] = principal_arn
    if object_tags and supports(action, "s3:ExistingObjectTag/<key>"):
        context.update({f"s3:ExistingObjectTag/{k}": v for k, v in object_tags.items()})
    if request_tags:
        if supports(action, "s3:RequestObjectTag/<key>"):
            context.update({f"s3:RequestObjectTag/{k}": v for k, v in request_tags.items()})
        if supports(action, "s3:RequestObjectTagKeys"):
            context["s3:RequestObjectTagKeys"] = list(request_tags)
    if copy_source is not None and supports(action, "s3:x-amz-copy-source"):
        context["s3:x-amz-copy-source"] = copy_source
    return Request(action=action, resource=resource, context=context)


def role_session(role_arn: str, session_name: str) -> tuple[str, str]:
    """(the session's own ARN, the aws:PrincipalArn S3 sees) for an assumed-role session: the
    session ARN drops the role's path; aws:PrincipalArn is the role's ARN, path included."""
    head, _, path_and_name = role_arn.partition(":role/")
    name = path_and_name.rsplit("/", 1)[-1]
    session = head.replace(":iam::", ":sts::") + f":assumed-role/{name}/{session_name}"
    return session, role_arn


__all__ = [
    "ALLOW",
    "DENY",
    "IMPLICIT_DENY",
    "Request",
    "Unsupported",
    "condition_holds",
    "evaluate",
    "role_session",
    "s3_request",
    "statement_applies",
    "supports",
]
