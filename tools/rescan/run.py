"""The rescan loop: list, skip what GuardDuty already tagged, start a scan of each other current
version, at most `rate` a second; progress, a resumable marker, a summary."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

RESULT_TAG = "GuardDutyMalwareScanStatus"


@dataclass(frozen=True)
class Current:
    """The current version of one key (version_id None in a bucket that never had versioning)."""

    key: str
    version_id: str | None


class Bucket(Protocol):
    def current_versions(self, prefix: str, after: str | None) -> Iterator[Current]:
        """Current versions (no delete markers) of the keys under `prefix`, in key order, after
        the key `after` when given."""
        ...

    def tags(self, item: Current) -> dict[str, str]: ...


# Starts the on-demand scan of one version; raises on failure.
Scan = Callable[[Current], None]


class MarkerError(ValueError):
    """The marker file belongs to another bucket or prefix, or cannot be read."""


@dataclass(frozen=True)
class Marker:
    """Where a run stopped: the last key handled (skipped or scan started), in key order."""

    path: Path
    bucket: str
    prefix: str

    def load(self) -> str | None:
        if not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MarkerError(f"cannot read the marker {self.path}: {exc}") from exc
        if not isinstance(data, dict) or (data.get("bucket"), data.get("prefix")) != (
            self.bucket,
            self.prefix,
        ):
            raise MarkerError(
                f"the marker {self.path} is for another bucket or prefix ({data}); "
                "give another --marker-file or delete it"
            )
        after = data.get("after")
        return after if isinstance(after, str) and after else None

    def save(self, after: str) -> None:
        text = json.dumps({"bucket": self.bucket, "prefix": self.prefix, "after": after})
        partial = self.path.with_name(self.path.name + ".tmp")
        partial.write_text(text + "\n", encoding="utf-8")
        partial.replace(self.path)  # atomic: a crash leaves the old marker or the new one


@dataclass
class Summary:
    listed: int = 0
    already_scanned: int = 0  # carries GuardDuty's result tag
    started: int = 0
    would_start: int = 0
    failed: int = 0

    def line(self, dry_run: bool) -> str:
        if dry_run:
            return (
                f"dry run: {self.listed} current versions, {self.already_scanned} already "
                f"scanned (tagged {RESULT_TAG}), {self.would_start} would be scanned, "
                f"{self.failed} failed to read; nothing was started (add --execute)"
            )
        return (
            f"{self.listed} current versions: {self.started} scans started, "
            f"{self.already_scanned} already scanned (tagged {RESULT_TAG}), {self.failed} failed"
        )

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


class RateLimit:
    """At most `per_second` calls a second, spaced evenly."""

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / per_second
        self._clock, self._sleep = clock, sleep
        self._next = clock()

    def wait(self) -> None:
        now = self._clock()
        if now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._interval


class Progress:
    """A progress bar on a terminal (redrawn in place), else a line every `every` versions."""

    def __init__(self, out: Callable[[str], None], tty: bool, every: int = 100) -> None:
        self._out, self._tty, self._every = out, tty, every

    def show(self, summary: Summary, total: int | None, key: str) -> None:
        done = summary.listed
        if not self._tty and done % self._every and done != total:
            return
        counts = (
            f"{done}{f'/{total}' if total else ''} versions, "
            f"{summary.started + summary.would_start} to scan, "
            f"{summary.already_scanned} already scanned, {summary.failed} failed"
        )
        if total:
            filled = int(30 * done / total)
            counts = f"[{'#' * filled}{'.' * (30 - filled)}] {counts}"
        self._out(("\r" if self._tty else "") + counts + (f"  {key[:60]}" if self._tty else ""))


def rescan(
    bucket: Bucket,
    scan: Scan,
    *,
    prefix: str = "",
    dry_run: bool = True,
    rate: RateLimit | None = None,
    marker: Marker | None = None,
    max_objects: int | None = None,
    progress: Progress | None = None,
    total: int | None = None,
    out: Callable[[str], None] = print,
) -> Summary:
    """Start a scan of every current version under `prefix` that has no GuardDuty result tag.

    A version whose tags cannot be read, or whose scan fails to start, is counted as failed and
    the run goes on (the marker is not moved past it in a real run: the next run, from the
    marker, tries it again). Dry run: reads only, starts nothing, writes no marker.
    """
    summary = Summary()
    after = marker.load() if marker is not None else None
    if after is not None:
        out(f"resuming after {after!r} (marker {marker.path if marker else ''})")
    stuck = False  # a failure happened: the marker stays where it was from here on
    for item in _limited(bucket.current_versions(prefix, after), max_objects):
        summary.listed += 1
        ok = _handle(bucket, scan, item, dry_run, rate, summary, out)
        stuck = stuck or not ok
        if marker is not None and not dry_run and not stuck:
            marker.save(item.key)
        if progress is not None:
            progress.show(summary, total, item.key)
    out(summary.line(dry_run))
    return summary


def _limited(items: Iterable[Current], limit: int | None) -> Iterator[Current]:
    for index, item in enumerate(items):
        if limit is not None and index >= limit:
            return
        yield item


def _handle(
    bucket: Bucket,
    scan: Scan,
    item: Current,
    dry_run: bool,
    rate: RateLimit | None,
    summary: Summary,
    out: Callable[[str], None],
) -> bool:
    where = item.key + (f" (version {item.version_id})" if item.version_id else "")
    try:
        tags = bucket.tags(item)
    except Exception as exc:  # one object's error must not stop the others
        summary.failed += 1
        out(f"failed   {where}: tags not read: {type(exc).__name__}: {exc}")
        return False
    if RESULT_TAG in tags:
        summary.already_scanned += 1
        return True
    if dry_run:
        summary.would_start += 1
        out(f"would    {where}")
        return True
    if rate is not None:
        rate.wait()
    try:
        scan(item)
    except Exception as exc:
        summary.failed += 1
        out(f"failed   {where}: {type(exc).__name__}: {exc}")
        return False
    summary.started += 1
    return True
