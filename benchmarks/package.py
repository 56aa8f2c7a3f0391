"""The function package as the module builds it: lambda/ zipped with main.tf's excludes.

The excludes are read from main.tf (``local.package_excludes``), so this follows the module.
Python's deflate (zlib level 6) is used; the provider's Go deflate can differ by a few bytes.
"""

from __future__ import annotations

import fnmatch
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import hcl2


@dataclass(frozen=True)
class Package:
    files: int
    uncompressed_bytes: int
    zip_bytes: int


def archive_excludes(main_tf: Path) -> list[str]:
    with main_tf.open(encoding="utf-8") as handle:
        parsed = hcl2.load(handle)
    for block in parsed.get("locals", []):
        # python-hcl2 keeps the quotes of string values.
        if "package_excludes" in block:
            return [pattern.strip('"') for pattern in block["package_excludes"]]
    raise LookupError(f"no local package_excludes in {main_tf}")


def _matches(path: PurePosixPath, pattern: str) -> bool:
    """archive_file's glob on a relative path; a leading ``**/`` means in any directory."""
    if pattern.startswith("**/"):
        tail = pattern[3:]
        return any(
            fnmatch.fnmatchcase(str(PurePosixPath(*path.parts[start:])), tail)
            for start in range(len(path.parts))
        )
    return fnmatch.fnmatchcase(str(path), pattern)


def excluded(path: PurePosixPath, patterns: list[str]) -> bool:
    """A file is left out when it, or a directory above it, matches a pattern."""
    candidates = [path, *[parent for parent in path.parents if parent != PurePosixPath(".")]]
    return any(_matches(candidate, pattern) for candidate in candidates for pattern in patterns)


def package_files(source: Path, patterns: list[str]) -> list[Path]:
    return sorted(
        path
        for path in source.rglob("*")
        if path.is_file()
        and not excluded(PurePosixPath(path.relative_to(source).as_posix()), patterns)
    )


def build_package(repo: Path) -> Package:
    source = repo / "lambda"
    files = package_files(source, archive_excludes(repo / "main.tf"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(source).as_posix())
    return Package(
        files=len(files),
        uncompressed_bytes=sum(path.stat().st_size for path in files),
        zip_bytes=len(buffer.getvalue()),
    )
