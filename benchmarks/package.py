"""The function package as the module builds it: the files of lambda/ that scale.tf packages.

The filter is read from scale.tf (``local.package_exclude_regex``), so this follows the module.
Python's deflate (zlib level 6) is used; the provider's Go deflate can differ by a few bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import hcl2


@dataclass(frozen=True)
class Package:
    files: int
    uncompressed_bytes: int
    zip_bytes: int


def archive_exclude_regex(scale_tf: Path) -> re.Pattern[str]:
    """The module's package filter, ``local.package_exclude_regex``: matching files stay out."""
    with scale_tf.open(encoding="utf-8") as handle:
        parsed = hcl2.load(handle)
    for block in parsed.get("locals", []):
        if "package_exclude_regex" in block:
            # python-hcl2 keeps the quotes and the HCL escapes of string values.
            value = block["package_exclude_regex"][1:-1].replace("\\\\", "\\")
            return re.compile(value)
    raise LookupError(f"no local package_exclude_regex in {scale_tf}")


def package_files(source: Path, exclude: re.Pattern[str]) -> list[Path]:
    return sorted(
        path
        for path in source.rglob("*")
        if path.is_file() and not exclude.search(path.relative_to(source).as_posix())
    )


def build_package(repo: Path) -> Package:
    source = repo / "lambda"
    files = package_files(source, archive_exclude_regex(repo / "scale.tf"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(source).as_posix())
    return Package(
        files=len(files),
        uncompressed_bytes=sum(path.stat().st_size for path in files),
        zip_bytes=len(buffer.getvalue()),
    )
