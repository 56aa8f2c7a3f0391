"""Runtime configuration from environment variables, validated once at cold start."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Every verdict, in the order documented. `unscanned`: the scanner did not scan the file for a
# reason of its own (scanner_status -1, -3, -4), `failed`: it could not scan this file (-2).
VERDICTS = ("malicious", "clean", "incomplete", "failed", "unscanned")
# Verdicts whose results are routed only for the scan types in ROUTE_SCAN_TYPES: a full bucket scan
# must not promote every clean file in use, and an outage during one says nothing about the files.
# Malicious, incomplete and failed results are routed whatever the scan type: a scan-type tag an
# uploader could set (FSS tagging off) must never keep a file from quarantine or review.
SCAN_TYPE_GATED_VERDICTS = ("clean", "unscanned")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# fss-scan-type values (Vision One; the tag is read by post_scan.scanner_tags): a real-time
# upload, a manual or a scheduled full bucket scan. Here, not there: the tag reader is loaded only
# by the features that read tags.
OBJECT_CREATED = "object created"
SCAN_TYPES = (OBJECT_CREATED, "manual", "schedule")

# Patterns are plain strings matched with re.fullmatch (compiled by re, and cached, at their first
# use): a setting that is not set never pays for compiling its pattern at cold start.
# Today's rule is 3-63 of a-z0-9.- ; legacy us-east-1 buckets may also have upper case and _
# and be up to 255 long, so accept the union.
BUCKET_NAME = r"[A-Za-z0-9._-]{3,255}"
_TOPIC_ARN = r"arn:[a-z0-9-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?"
_TABLE_NAME = r"[A-Za-z0-9_.-]{3,255}"
_TABLE_ARN = r"arn:[a-z0-9-]+:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}"
_ACCOUNT_ID = r"[0-9]{12}"
_QUEUE_ARN = r"arn:[a-z0-9-]+:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?"
# SQS's maxReceiveCount range (the module's queue.max_receive_count).
MAX_RECEIVE_COUNTS = range(1, 1001)
_KMS_KEY_ARN = r"arn:[a-z0-9-]+:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+"
# EventBridge bus: a name (also partner buses, aws.partner/...) or an event-bus ARN.
_EVENT_BUS_NAME = r"[A-Za-z0-9._/-]{1,256}"
_EVENT_BUS_ARN = r"arn:[a-z0-9-]+:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]{1,256}"
# An event source: no spaces or wildcards; AWS reserves sources starting with "aws.".
_EVENT_SOURCE = r"[A-Za-z0-9_-][A-Za-z0-9._/-]{0,255}"
# Security Hub's default product of one account: findings may only be imported into it.
_SECURITY_HUB_PRODUCT = (
    r"arn:[a-z0-9-]+:securityhub:[a-z0-9-]+:(?P<account>[0-9]{12}):"
    r"product/(?P<owner>[0-9]{12})/default"
)
# A GuardDuty Malware Protection plan (GUARDDUTY_PLAN_ARNS).
_PLAN_ARN = (
    r"arn:[a-z0-9-]+:guardduty:[a-z0-9-]+:[0-9]{12}:malware-protection-plan/[A-Za-z0-9_-]{1,128}"
)
# S3's "safe" key characters only: no IAM wildcards (* ?) or policy variables ($), which would
# widen the IAM statement the module writes for the prefix. At most 512 characters, no leading /.
_PREFIX = r"(?!/)[A-Za-z0-9!_.'()/-]{1,512}"

# ALLOWED_BUCKETS / ALLOWED_TOPIC_ARNS = file:NAME: the list is the file NAME at the package root.
FILE_PREFIX = "file:"
_LIST_FILE = r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent

ROUTE_MODES = ("move", "copy")
# Bucket-policy read protection the module's policies enforce (see post_scan.protection).
OFF = "off"
MALICIOUS_ONLY = "malicious"
UNTIL_CLEAN = "until_clean"
READ_PROTECTIONS = (OFF, MALICIOUS_ONLY, UNTIL_CLEAN)
# Contract variables per verdict: (destination, KMS key for SSE-KMS at the destination).
ROUTE_VARIABLES = {
    "malicious": ("ROUTE_MALICIOUS", "ROUTE_MALICIOUS_KMS_KEY_ARN"),
    "clean": ("ROUTE_CLEAN", "ROUTE_CLEAN_KMS_KEY_ARN"),
    "incomplete": ("ROUTE_INCOMPLETE", "ROUTE_INCOMPLETE_KMS_KEY_ARN"),
    "failed": ("ROUTE_FAILED", "ROUTE_FAILED_KMS_KEY_ARN"),
    "unscanned": ("ROUTE_UNSCANNED", "ROUTE_UNSCANNED_KMS_KEY_ARN"),
}
# The account that must own each route's destination bucket (ExpectedBucketOwner on its calls).
ROUTE_OWNER_VARIABLES = {
    "malicious": "ROUTE_MALICIOUS_BUCKET_OWNER",
    "clean": "ROUTE_CLEAN_BUCKET_OWNER",
    "incomplete": "ROUTE_INCOMPLETE_BUCKET_OWNER",
    "failed": "ROUTE_FAILED_BUCKET_OWNER",
    "unscanned": "ROUTE_UNSCANNED_BUCKET_OWNER",
}


class ConfigError(ValueError):
    """A configuration variable has a value the function cannot run with."""


@dataclass(frozen=True)
class Route:
    """Where objects of one verdict are copied: <prefix><source bucket>/<source key> in bucket."""

    bucket: str
    prefix: str = ""
    kms_key_arn: str | None = None
    # 12-digit account that must own the bucket; None: not checked (no ExpectedBucketOwner).
    owner: str | None = None

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class Config:
    """The checked settings of one execution environment (load_config)."""

    # None means "*": any bucket. An empty set refuses every bucket.
    allowed_buckets: frozenset[str] | None = frozenset()
    # Empty means any topic.
    allowed_topic_arns: frozenset[str] = frozenset()
    # GuardDuty Malware Protection plans whose results are accepted; empty: every GuardDuty event
    # is rejected.
    guardduty_plan_arns: frozenset[str] = frozenset()
    delete_malicious: bool = False
    extract_file_id: bool = False
    file_id_tag_key: str = "file_id"
    file_id_table: str | None = None
    file_id_table_key: str = "file_id"
    record_verdicts: frozenset[str] = frozenset({"malicious", "incomplete", "failed", "unscanned"})
    dry_run: bool = False
    log_level: str = "INFO"
    file_id_table_upsert: bool = True
    metrics_namespace: str = "FSSPostScan"
    function_name: str = "local"
    # verdict -> Route; verdicts without a route are absent.
    routes: Mapping[str, Route] = field(default_factory=dict)
    route_mode: str = "move"
    # Announcements (post_scan.announce): EventBridge bus, SNS topic, Security Hub product.
    event_bus: str | None = None
    event_source: str = "fss-post-scan"
    notify_topic_arn: str | None = None
    notify_verdicts: frozenset[str] = frozenset(v for v in VERDICTS if v != "clean")
    notify_chat: bool = True
    security_hub_product_arn: str | None = None
    # 12-digit account that must own the scanned buckets; None: not checked.
    expected_bucket_owner: str | None = None
    # Vision One fss-scan-type values whose clean and unscanned results are routed (results without
    # the tag, and of the other verdicts, always are): full bucket scans do not promote by default.
    route_scan_types: frozenset[str] = frozenset({OBJECT_CREATED})
    # Verdicts whose files the scanner moves itself (its quarantine / custom destination buckets).
    scanner_routed_verdicts: frozenset[str] = frozenset()
    read_protection: str = "off"
    # Queue delivery: the delivery queue's maxReceiveCount (None: unknown, no final receive) and
    # the dead-letter queue that keeps what a replay needs when the final receive of a malicious
    # result makes the file harmless although its row could not be written.
    queue_max_receive_count: int | None = None
    dead_letter_queue_arn: str | None = None

    def final_receive(self, receive_count: int | None) -> bool:
        """This SQS receive is the last before SQS moves the message to the dead-letter queue."""
        limit = self.queue_max_receive_count
        return limit is not None and receive_count is not None and receive_count >= limit

    @property
    def moves(self) -> bool:
        return self.route_mode == "move"

    @property
    def announces(self) -> bool:
        """An event bus or a notification topic is configured (NOTIFY_VERDICTS applies)."""
        return self.event_bus is not None or self.notify_topic_arn is not None

    @property
    def has_announcements(self) -> bool:
        """Any target at all: an event bus, a notification topic or Security Hub."""
        return self.announces or self.security_hub_product_arn is not None

    def announced(self, verdict: str) -> bool:
        return self.announces and verdict in self.notify_verdicts

    def reads_file_id(self, verdict: str) -> bool:
        """The file id tag is read for this verdict: to record it, or to announce it."""
        wanted = verdict in self.record_verdicts or self.announced(verdict)
        return self.extract_file_id and wanted

    def bucket_owner(self, bucket: str) -> str | None:
        """The account that must own `bucket`: its route's owner, else EXPECTED_BUCKET_OWNER."""
        for route in self.routes.values():
            if route.bucket == bucket:
                return route.owner
        return self.expected_bucket_owner

    def bucket_allowed(self, bucket: str) -> bool:
        return self.allowed_buckets is None or bucket in self.allowed_buckets

    def routes_scan_type(self, verdict: str, scan_type: str | None) -> bool:
        """Whether a result of this verdict and scan type (None: not known) may be routed."""
        gated = verdict in SCAN_TYPE_GATED_VERDICTS and scan_type is not None
        return not gated or scan_type in self.route_scan_types

    def topic_allowed(self, topic_arn: str) -> bool:
        return not self.allowed_topic_arns or topic_arn in self.allowed_topic_arns

    def warnings(self) -> list[str]:
        """Settings that are valid but probably not what the operator meant."""
        found = []
        if self.allowed_buckets is not None and not self.allowed_buckets:
            found.append("ALLOWED_BUCKETS is empty: every scan result will be rejected")
        if self.file_id_table and not self.extract_file_id:
            found.append("FILE_ID_TABLE is set but EXTRACT_FILE_ID is false: the table is ignored")
        if self.announces and not self.notify_verdicts:
            found.append("NOTIFY_VERDICTS is empty: no event or notification will be sent")
        if self.delete_malicious and "malicious" in self.scanner_routed_verdicts:
            found.append(
                "DELETE_MALICIOUS=true while the scanner moves malicious files itself "
                "(SCANNER_ROUTED_VERDICTS): whichever acts first wins, the scanner's quarantine "
                "copy may be missing"
            )
        return found


def _raw(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name) or "").strip()


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = _raw(environ, name).lower()
    if not value:
        return default
    if value in ("true", "false"):
        return value == "true"
    raise ConfigError(f"{name} must be true or false, got {environ[name]!r}")


def _items(environ: Mapping[str, str], name: str) -> list[str]:
    return [item.strip() for item in _raw(environ, name).split(",") if item.strip()]


def _list_items(environ: Mapping[str, str], name: str, package_root: Path) -> list[str]:
    """Comma-separated items, or ``file:NAME``: one item a line in the file NAME of the package.

    The module moves a list that does not fit Lambda's 4 KB environment into the package. A file
    that cannot be read is an error (never an empty list: that would allow any topic).
    """
    value = _raw(environ, name)
    if not value.startswith(FILE_PREFIX):
        return _items(environ, name)
    file_name = value.removeprefix(FILE_PREFIX)
    if not re.fullmatch(_LIST_FILE, file_name):
        raise ConfigError(f"{name}: {file_name!r} is not a file name in the package (file:NAME)")
    try:
        text = (package_root / file_name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}: cannot read {file_name} in the package: {exc}") from exc
    items = [line.strip() for line in text.splitlines() if line.strip()]
    if not items:
        raise ConfigError(f"{name}: {file_name} in the package lists nothing")
    return items


def _allowed_buckets(environ: Mapping[str, str], package_root: Path) -> frozenset[str] | None:
    items = _list_items(environ, "ALLOWED_BUCKETS", package_root)
    if items == ["*"]:
        return None
    for item in items:
        if not re.fullmatch(BUCKET_NAME, item):
            raise ConfigError(
                f"ALLOWED_BUCKETS: {item!r} is not a bucket name ('*' alone means any bucket)"
            )
    return frozenset(items)


def _allowed_topics(environ: Mapping[str, str], package_root: Path) -> frozenset[str]:
    items = _list_items(environ, "ALLOWED_TOPIC_ARNS", package_root)
    if not items and _raw(environ, "ALLOWED_TOPIC_ARNS"):
        # "," or " , ": a list that lost its items (a bad join). Empty means any topic, so this
        # must not silently become "any topic".
        raise ConfigError(
            f"ALLOWED_TOPIC_ARNS: {environ['ALLOWED_TOPIC_ARNS']!r} lists no topic ARN "
            "(leave it empty to accept any topic)"
        )
    for item in items:
        if not re.fullmatch(_TOPIC_ARN, item):
            raise ConfigError(f"ALLOWED_TOPIC_ARNS: {item!r} is not an SNS topic ARN")
    return frozenset(items)


def _guardduty_plans(environ: Mapping[str, str], package_root: Path) -> frozenset[str]:
    name = "GUARDDUTY_PLAN_ARNS"
    items = _list_items(environ, name, package_root)
    if not items and _raw(environ, name):
        raise ConfigError(
            f"{name}: {environ[name]!r} lists no plan ARN (leave it empty to accept no GuardDuty "
            "result)"
        )
    for item in items:
        if not re.fullmatch(_PLAN_ARN, item):
            raise ConfigError(
                f"{name}: {item!r} is not a GuardDuty Malware Protection plan ARN "
                "(arn:PARTITION:guardduty:REGION:ACCOUNT:malware-protection-plan/ID)"
            )
    return frozenset(items)


def _verdicts(environ: Mapping[str, str], name: str, default: frozenset[str]) -> frozenset[str]:
    """A comma-separated verdict list; unset = the default, set but empty = none."""
    if name not in environ:
        return default
    items = [item.lower() for item in _items(environ, name)]
    for item in items:
        if item not in VERDICTS:
            raise ConfigError(f"{name}: {item!r} is not one of {', '.join(VERDICTS)}")
    return frozenset(items)


def _scan_types(environ: Mapping[str, str]) -> frozenset[str]:
    name = "ROUTE_SCAN_TYPES"
    if name not in environ:
        return Config.route_scan_types
    items = [" ".join(item.lower().split()) for item in _items(environ, name)]
    for item in items:
        if item not in SCAN_TYPES:
            known = ", ".join(repr(t) for t in SCAN_TYPES)
            raise ConfigError(f"{name}: {item!r} is not a scan type ({known})")
    return frozenset(items)


def _event_bus(environ: Mapping[str, str]) -> str | None:
    value = _raw(environ, "EVENT_BUS")
    if value and not (re.fullmatch(_EVENT_BUS_NAME, value) or re.fullmatch(_EVENT_BUS_ARN, value)):
        raise ConfigError(f"EVENT_BUS: {value!r} is not an EventBridge event bus name or ARN")
    return value or None


def _event_source(environ: Mapping[str, str]) -> str:
    value = _non_empty(environ, "EVENT_SOURCE", Config.event_source, 256)
    if not re.fullmatch(_EVENT_SOURCE, value) or value.lower().startswith("aws."):
        raise ConfigError(
            f"EVENT_SOURCE: {value!r} must be 1-256 characters of A-Z a-z 0-9 . _ / - "
            "and must not start with aws. (reserved for AWS services)"
        )
    return value


def _notify_topic(environ: Mapping[str, str]) -> str | None:
    value = _raw(environ, "NOTIFY_TOPIC_ARN")
    if not value:
        return None
    if not re.fullmatch(_TOPIC_ARN, value):
        raise ConfigError(f"NOTIFY_TOPIC_ARN: {value!r} is not an SNS topic ARN")
    if value.endswith(".fifo"):
        raise ConfigError(f"NOTIFY_TOPIC_ARN: {value!r} is a FIFO topic; use a standard topic")
    return value


def _security_hub_product(environ: Mapping[str, str]) -> str | None:
    value = _raw(environ, "SECURITY_HUB_PRODUCT_ARN")
    if not value:
        return None
    match = re.fullmatch(_SECURITY_HUB_PRODUCT, value)
    if match is None or match["account"] != match["owner"]:
        raise ConfigError(
            f"SECURITY_HUB_PRODUCT_ARN: {value!r} is not the default product of an account "
            "(arn:PARTITION:securityhub:REGION:ACCOUNT:product/ACCOUNT/default)"
        )
    return value


def _non_empty(environ: Mapping[str, str], name: str, default: str, max_len: int) -> str:
    if name not in environ:
        return default
    value = _raw(environ, name)
    if not value:
        raise ConfigError(f"{name} must not be empty")
    if len(value) > max_len:
        raise ConfigError(f"{name} must be at most {max_len} characters, got {len(value)}")
    return value


def _table(environ: Mapping[str, str]) -> str | None:
    value = _raw(environ, "FILE_ID_TABLE")
    if not value:
        return None
    if not (re.fullmatch(_TABLE_NAME, value) or re.fullmatch(_TABLE_ARN, value)):
        raise ConfigError(f"FILE_ID_TABLE: {value!r} is not a DynamoDB table name or table ARN")
    return value


def _log_level(environ: Mapping[str, str]) -> str:
    value = _raw(environ, "LOG_LEVEL").upper() or "INFO"
    if value not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return value


def _namespace(environ: Mapping[str, str]) -> str:
    value = _raw(environ, "METRICS_NAMESPACE") or Config.metrics_namespace
    # CloudWatch takes printable ASCII only and reserves AWS/: metrics it refuses would vanish
    # silently, and with them every alarm on them.
    printable = value.isascii() and value.isprintable()
    if len(value) > 255 or ":" in value or not printable or value.startswith("AWS/"):
        raise ConfigError(
            "METRICS_NAMESPACE must be 1-255 printable ASCII characters without ':', "
            f"not starting with AWS/, got {value!r}"
        )
    return value


def _max_receive_count(environ: Mapping[str, str]) -> int | None:
    value = _raw(environ, "QUEUE_MAX_RECEIVE_COUNT")
    if not value:
        return None
    count = int(value) if value.isascii() and value.isdigit() and len(value) < 6 else 0
    if count not in MAX_RECEIVE_COUNTS:
        raise ConfigError(
            f"QUEUE_MAX_RECEIVE_COUNT must be a whole number between 1 and 1000 (the delivery "
            f"queue's maxReceiveCount), got {environ['QUEUE_MAX_RECEIVE_COUNT']!r}"
        )
    if not _raw(environ, "DEAD_LETTER_QUEUE_ARN"):
        raise ConfigError(
            "QUEUE_MAX_RECEIVE_COUNT is set but DEAD_LETTER_QUEUE_ARN is empty: the final receive "
            "keeps what a replay needs in the dead-letter queue"
        )
    return count


def _dead_letter_queue(environ: Mapping[str, str]) -> str | None:
    value = _raw(environ, "DEAD_LETTER_QUEUE_ARN")
    if value and not re.fullmatch(_QUEUE_ARN, value):
        raise ConfigError(f"DEAD_LETTER_QUEUE_ARN: {value!r} is not an SQS queue ARN")
    return value or None


def _route_mode(environ: Mapping[str, str]) -> str:
    value = _raw(environ, "ROUTE_MODE").lower() or Config.route_mode
    if value not in ROUTE_MODES:
        raise ConfigError(f"ROUTE_MODE must be move or copy, got {environ['ROUTE_MODE']!r}")
    return value


def _read_protection(environ: Mapping[str, str]) -> str:
    value = _raw(environ, "READ_PROTECTION").lower() or Config.read_protection
    if value not in READ_PROTECTIONS:
        raise ConfigError(
            "READ_PROTECTION must be off, malicious or until_clean, "
            f"got {environ['READ_PROTECTION']!r}"
        )
    return value


def _account(environ: Mapping[str, str], name: str) -> str | None:
    value = _raw(environ, name)
    if value and not re.fullmatch(_ACCOUNT_ID, value):
        raise ConfigError(f"{name} must be a 12-digit AWS account id, got {value!r}")
    return value or None


def _route(environ: Mapping[str, str], verdict: str, expected_owner: str | None) -> Route | None:
    name, key_name = ROUTE_VARIABLES[verdict]
    owner_name = ROUTE_OWNER_VARIABLES[verdict]
    value, key_arn = _raw(environ, name), _raw(environ, key_name)
    owner = _account(environ, owner_name)
    if not value:
        if key_arn:
            raise ConfigError(f"{key_name} is set but {name} is empty: a key needs a route")
        if owner:
            raise ConfigError(f"{owner_name} is set but {name} is empty: an owner needs a route")
        return None
    bucket, _, prefix = value.partition("/")
    if not re.fullmatch(BUCKET_NAME, bucket):
        raise ConfigError(f"{name}: {bucket!r} is not a bucket name (BUCKET or BUCKET/PREFIX)")
    if prefix and not re.fullmatch(_PREFIX, prefix):
        raise ConfigError(
            f"{name}: prefix {prefix!r} must be 1-512 characters of A-Z a-z 0-9 ! _ . ' ( ) / -"
            " and must not start with /"
        )
    if key_arn and not re.fullmatch(_KMS_KEY_ARN, key_arn):
        raise ConfigError(f"{key_name}: {key_arn!r} is not a KMS key ARN")
    return Route(
        bucket=bucket, prefix=prefix, kms_key_arn=key_arn or None, owner=owner or expected_owner
    )


def _routes(
    environ: Mapping[str, str],
    allowed: frozenset[str] | None,
    expected_owner: str | None,
    scanner_routed: frozenset[str],
) -> dict[str, Route]:
    routes = {}
    for verdict, (name, _) in ROUTE_VARIABLES.items():
        route = _route(environ, verdict, expected_owner)
        if route is None:
            continue
        if verdict in scanner_routed:
            raise ConfigError(
                f"{name} is set but SCANNER_ROUTED_VERDICTS says the scanner moves {verdict} "
                "files itself: each file would be moved twice; use one or the other"
            )
        scanned = allowed is None or route.bucket in allowed
        # Copying into a scanned bucket without a prefix would write over the source key's
        # neighbours and, in move mode, could delete what was just copied.
        if not route.prefix and scanned:
            raise ConfigError(
                f"{name}: destination bucket {route.bucket!r} is a source bucket "
                "(ALLOWED_BUCKETS) and needs a prefix (BUCKET/PREFIX)"
            )
        for other, earlier in routes.items():
            if earlier.bucket == route.bucket and earlier.owner != route.owner:
                raise ConfigError(
                    f"{ROUTE_OWNER_VARIABLES[verdict]}: the {other} route writes to the same "
                    f"bucket {route.bucket!r} with owner {earlier.owner or 'unset'}"
                )
        if scanned and route.owner != expected_owner:
            # Its objects are read as scanned objects too (with '*', any bucket's are), and
            # bucket_owner() would give them the route's owner instead of EXPECTED_BUCKET_OWNER.
            raise ConfigError(
                f"{ROUTE_OWNER_VARIABLES[verdict]}: destination bucket {route.bucket!r} is a "
                f"scanned bucket, owned by EXPECTED_BUCKET_OWNER ({expected_owner or 'unset'}), "
                f"not {route.owner or 'unset'}"
            )
        routes[verdict] = route
    return routes


def load_config(environ: Mapping[str, str], package_root: Path = PACKAGE_ROOT) -> Config:
    """Build the Config from environment variables; ConfigError names the bad variable.

    ``file:NAME`` list values are read from NAME in package_root (the folder that holds the
    post_scan package: the root of the deployed zip).
    """
    allowed_buckets = _allowed_buckets(environ, package_root)
    expected_owner = _account(environ, "EXPECTED_BUCKET_OWNER")
    scanner_routed = _verdicts(environ, "SCANNER_ROUTED_VERDICTS", frozenset())
    return Config(
        allowed_buckets=allowed_buckets,
        allowed_topic_arns=_allowed_topics(environ, package_root),
        guardduty_plan_arns=_guardduty_plans(environ, package_root),
        delete_malicious=_bool(environ, "DELETE_MALICIOUS", False),
        extract_file_id=_bool(environ, "EXTRACT_FILE_ID", False),
        file_id_tag_key=_non_empty(environ, "FILE_ID_TAG_KEY", "file_id", 128),
        file_id_table=_table(environ),
        file_id_table_key=_non_empty(environ, "FILE_ID_TABLE_KEY", "file_id", 255),
        record_verdicts=_verdicts(environ, "RECORD_VERDICTS", Config.record_verdicts),
        dry_run=_bool(environ, "DRY_RUN", False),
        log_level=_log_level(environ),
        file_id_table_upsert=_bool(environ, "FILE_ID_TABLE_UPSERT", True),
        metrics_namespace=_namespace(environ),
        function_name=_raw(environ, "AWS_LAMBDA_FUNCTION_NAME") or "local",
        routes=_routes(environ, allowed_buckets, expected_owner, scanner_routed),
        route_mode=_route_mode(environ),
        event_bus=_event_bus(environ),
        event_source=_event_source(environ),
        notify_topic_arn=_notify_topic(environ),
        notify_verdicts=_verdicts(environ, "NOTIFY_VERDICTS", Config.notify_verdicts),
        notify_chat=_bool(environ, "NOTIFY_CHAT", True),
        security_hub_product_arn=_security_hub_product(environ),
        route_scan_types=_scan_types(environ),
        scanner_routed_verdicts=scanner_routed,
        read_protection=_read_protection(environ),
        expected_bucket_owner=expected_owner,
        queue_max_receive_count=_max_receive_count(environ),
        dead_letter_queue_arn=_dead_letter_queue(environ),
    )
