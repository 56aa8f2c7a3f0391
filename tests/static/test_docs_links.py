"""Every relative link and #anchor in the docs resolves, and every doc is reachable from the README.

Anchors follow GitHub's heading slugs (github-slugger): the heading's text without its Markdown,
lower-cased, every character that is not a letter, digit, space, `-` or `_` dropped, spaces turned
into `-`, and `-1`, `-2`, ... appended to repeats. `<a name="...">` / `id="..."` anchors count too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from tooling import REPO_ROOT

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+[^>]*?(?:name|id)=\"([^\"]+)\"", flags=re.I)
ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
EXTERNAL = ("http://", "https://", "mailto:")


def documents() -> list[Path]:
    found = [REPO_ROOT / name for name in ("README.md", "CHANGELOG.md", "CONTRIBUTING.md")]
    found.append(REPO_ROOT / "SECURITY.md")
    found += sorted((REPO_ROOT / "docs").glob("**/*.md"))
    found += sorted((REPO_ROOT / "examples").glob("*/README.md"))
    found += sorted((REPO_ROOT / "tools").glob("**/README.md"))
    return [path for path in found if path.is_file()]


def prose_lines(text: str) -> Iterator[str]:
    """The lines outside fenced code blocks, inline code removed."""
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield line


def slug(heading: str) -> str:
    text = INLINE_CODE.sub(lambda match: match.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # HTML tags
    text = re.sub(r"(\*{1,3})(\S.*?)\1", r"\2", text)  # emphasis with asterisks
    text = text.strip().lower()
    text = "".join(char for char in text if char.isalnum() or char in " -_")
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    text = path.read_text(encoding="utf-8")
    found: set[str] = set(HTML_ANCHOR.findall(text))
    seen: dict[str, int] = {}
    for line in prose_lines(text):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def links(path: Path) -> Iterator[str]:
    """Link targets, CommonMark backslash escapes undone (terraform-docs writes `#input\\_x`)."""
    for line in prose_lines(path.read_text(encoding="utf-8")):
        for target in LINK.findall(INLINE_CODE.sub("", line)):
            yield ESCAPED.sub(r"\1", target)


def check(path: Path, target: str) -> str | None:
    """Why the link target is broken, or None."""
    if target.startswith(EXTERNAL):
        return None
    file_part, _, anchor = target.partition("#")
    destination = (path.parent / file_part).resolve() if file_part else path
    if not destination.exists():
        return f"{file_part} does not exist"
    if REPO_ROOT.resolve() not in destination.parents and destination != REPO_ROOT.resolve():
        return f"{file_part} is outside the repository"
    if anchor and destination.suffix == ".md" and anchor not in anchors(destination):
        return f"no heading or anchor #{anchor} in {destination.relative_to(REPO_ROOT)}"
    return None


@pytest.mark.parametrize("path", documents(), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_relative_links_and_anchors_resolve(path):
    broken = [f"({target}): {reason}" for target in links(path) if (reason := check(path, target))]
    assert not broken, f"broken links in {path.relative_to(REPO_ROOT)}:\n" + "\n".join(broken)


def test_every_doc_is_reachable_from_the_readme():
    """Each docs/ file is listed in the docs index, and the README links the index."""
    readme = REPO_ROOT / "README.md"
    index = REPO_ROOT / "docs" / "README.md"
    assert any(
        (readme.parent / target.partition("#")[0]).resolve() == index.resolve()
        for target in links(readme)
    ), "README.md must link docs/README.md"
    linked = {
        (index.parent / target.partition("#")[0]).resolve()
        for target in links(index)
        if not target.startswith(EXTERNAL)
    }
    unlisted = [
        str(doc.relative_to(REPO_ROOT))
        for doc in sorted((REPO_ROOT / "docs").glob("**/*.md"))
        if doc != index and doc.resolve() not in linked
    ]
    assert not unlisted, f"docs/README.md does not list {unlisted}"


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Routes: quarantine and promote", "routes-quarantine-and-promote"),
        ("Runtime contract (environment variables)", "runtime-contract-environment-variables"),
        ("Failures: nothing lost, nothing done twice", "failures-nothing-lost-nothing-done-twice"),
        ("The `fss-post-scan-routed` mark", "the-fss-post-scan-routed-mark"),
        ("[0.1.0] - 2025-01-31", "010---2025-01-31"),
        ("**Bold** and *it*", "bold-and-it"),
        ("file_id & tags", "file_id--tags"),
    ],
)
def test_slug_follows_github(heading, expected):
    assert slug(heading) == expected


def test_checker_finds_broken_links(tmp_path, monkeypatch):
    """A test that cannot fail is a defect: a missing file and a missing anchor are reported."""
    doc = REPO_ROOT / "docs" / "README.md"
    assert check(doc, "how-it-works.md#routes-quarantine-and-promote") is None
    assert check(doc, "no-such-file.md") is not None
    assert check(doc, "how-it-works.md#no-such-heading") is not None
    assert check(doc, "#documentation") is None
    assert check(doc, "../../outside") is not None
    fenced = tmp_path / "x.md"
    fenced.write_text("# T\n\n```md\n[a](missing.md)\n```\n`[b](missing.md)` [c](#t)\n")
    assert list(links(fenced)) == ["#t"]
