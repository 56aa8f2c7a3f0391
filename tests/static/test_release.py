"""Releases: CHANGELOG.md follows Keep a Changelog with semantic versions, every release states
the versions it supports (and the latest one states what the code requires), the README's usage
pins the latest release, SECURITY.md supports it, and the git tags agree (where tags are present).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import hcl2
import pytest
from tooling import REPO_ROOT, missing_tool

CHANGELOG = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
RELEASE = re.compile(r"^## \[(\d+)\.(\d+)\.(\d+)\] - (\d{4}-\d{2}-\d{2})$", re.MULTILINE)
HEADING = re.compile(r"^## .*$", re.MULTILINE)
SUPPORTED = re.compile(r"^Supported: (.+?)(?:\n\n|\Z)", re.MULTILINE | re.DOTALL)
SECTIONS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def _releases(changelog: str = CHANGELOG) -> list[tuple[tuple[int, int, int], date, str]]:
    """(version, date, section text) of every release, top to bottom."""
    found = []
    headings = list(HEADING.finditer(changelog))
    for index, heading in enumerate(headings):
        match = RELEASE.fullmatch(heading.group(0))
        if match is None:
            continue
        end = headings[index + 1].start() if index + 1 < len(headings) else len(changelog)
        version = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
        found.append((version, date.fromisoformat(match.group(4)), changelog[heading.end() : end]))
    return found


def _tag(version: tuple[int, int, int]) -> str:
    return "v" + ".".join(map(str, version))


def _usage_refs(readme: str) -> list[str]:
    """The `?ref=` values in the README's usage block."""
    if "<!-- USAGE:BEGIN -->" not in readme:
        return []
    usage = readme.split("<!-- USAGE:BEGIN -->", 1)[1].split("<!-- USAGE:END -->", 1)[0]
    return re.findall(r"\?ref=(v[0-9][^\"&]*)", usage)


def _unreleased(changelog: str) -> str:
    """The text of the [Unreleased] section, without blank lines around it."""
    headings = list(HEADING.finditer(changelog))
    for index, heading in enumerate(headings):
        if heading.group(0) == "## [Unreleased]":
            end = headings[index + 1].start() if index + 1 < len(headings) else len(changelog)
            return changelog[heading.end() : end].strip()
    return ""


def _unquote(value: str) -> str:
    return value.strip('"')


def test_changelog_follows_keep_a_changelog():
    headings = [h.group(0) for h in HEADING.finditer(CHANGELOG)]
    assert headings[0] == "## [Unreleased]", "the first section is [Unreleased]"
    for heading in headings[1:]:
        assert RELEASE.fullmatch(heading), f"not '## [X.Y.Z] - YYYY-MM-DD': {heading}"
    for section in re.findall(r"^### (.+)$", CHANGELOG, re.MULTILINE):
        assert section in SECTIONS, f"unknown section {section!r}"
    releases = _releases()
    assert releases, "no release yet: cut one (## [X.Y.Z] - YYYY-MM-DD)"
    versions = [v for v, _, _ in releases]
    dates = [d for _, d, _ in releases]
    assert versions == sorted(versions, reverse=True) and len(set(versions)) == len(versions)
    assert dates == sorted(dates, reverse=True)
    repository = "https://github.com/YOUR-ORG/terraform-aws-fss-post-scan"
    latest = ".".join(map(str, versions[0]))
    assert f"[Unreleased]: {repository}/compare/v{latest}...HEAD" in CHANGELOG
    for version in versions:
        tag = _tag(version)
        assert f"[{tag[1:]}]: {repository}/" in CHANGELOG, f"no link for {tag}"


def test_every_release_states_what_it_supports():
    for version, _, text in _releases():
        supported = [" ".join(p.split()) for p in SUPPORTED.findall(text)]
        assert len(supported) == 1, f"{version}: one 'Supported: ...' paragraph"
        for what in ("Terraform", "hashicorp/aws", "hashicorp/archive", "Python"):
            assert what in supported[0], f"{version}: Supported names no {what}"


def test_latest_release_supports_what_the_code_requires():
    with open(REPO_ROOT / "versions.tf") as handle:
        terraform = hcl2.load(handle)["terraform"][0]
    providers = terraform["required_providers"][0]
    with open(REPO_ROOT / "variables.tf") as handle:
        variables = {k: v for block in hcl2.load(handle)["variable"] for k, v in block.items()}
    runtimes = re.findall(r"python3\.\d+", str(variables['"runtime"']["validation"]))
    _, _, text = _releases()[0]
    (supported,) = [" ".join(p.split()) for p in SUPPORTED.findall(text)]
    assert f"Terraform {_unquote(terraform['required_version'])}" in supported
    assert f"hashicorp/aws {_unquote(providers['aws']['version'])}" in supported
    assert "5.x and 6.x" in supported, "the module claims both major versions of hashicorp/aws"
    assert f"hashicorp/archive {_unquote(providers['archive']['version'])}" in supported
    assert runtimes, "variables.tf lists the accepted runtimes"
    for runtime in sorted(set(runtimes)):
        assert runtime in supported, f"{runtime} is accepted but not listed as supported"


def test_readme_usage_pins_the_latest_release():
    refs = _usage_refs(README)
    latest = _tag(_releases()[0][0])
    assert refs == [latest], f"the README's usage pins {refs}, the latest release is {latest}"


################################################################################
# SECURITY.md
################################################################################


def test_security_policy_supports_the_latest_release():
    """SECURITY.md says how to report and lists the latest release line as getting fixes."""
    policy = (REPO_ROOT / "SECURITY.md").read_text(encoding="utf-8")
    major, minor, _ = _releases()[0][0]
    line = f"{major}.{minor}.x"
    rows = re.findall(r"^\| `?([0-9][^|`]*?)`? \| (.+?) \|$", policy, flags=re.MULTILINE)
    supported = {version.strip(): fixes for version, fixes in rows}
    assert line in supported, f"SECURITY.md's version table has no row for {line}: {rows}"
    assert not supported[line].lower().startswith("no"), f"{line} must get fixes"
    assert "security/advisories/new" in policy, "SECURITY.md: how to report privately"


################################################################################
# Git tags: where the clone has them, each release's tag is where the CHANGELOG says
################################################################################

SEMVER_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60, check=False
    )


def _show(repo: Path, revision: str, path: str) -> str:
    result = _git(repo, "show", f"{revision}:{path}")
    return result.stdout if result.returncode == 0 else ""


def release_tag_problems(repo: Path) -> list[str] | str:
    """What is wrong with the release tags of the git checkout at `repo`, or why they cannot be
    checked (a string: not a git checkout, a shallow clone, no release tags fetched).

    Release tags are tags named vX.Y.Z. Where the clone has any:
    1. every release tag in HEAD's history names a release of HEAD's CHANGELOG;
    2. the tag of a CHANGELOG release, where it exists, is in HEAD's history;
    3. at each release's tag, the CHANGELOG's newest release is that release and the README's
       usage pins `?ref=` that tag (the tag sits on the release commit, not before or after it);
    4. every release but the newest has its tag;
    5. the newest release may be untagged only while [Unreleased] is empty: the release commit
       itself, before the tag is pushed. Once a change is listed again, the release is tagged.
    Tags outside HEAD's history that the CHANGELOG does not name (later releases, seen from an
    older checkout) are none of HEAD's business.
    """
    inside = _git(repo, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return "not a git checkout"
    if _git(repo, "rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        return "a shallow clone: the tags' history is incomplete"
    tags = [t for t in _git(repo, "tag", "--list", "v*").stdout.split() if SEMVER_TAG.match(t)]
    if not tags:
        return "no release tags in this clone (fetch them with `git fetch --tags`)"
    merged = set(_git(repo, "tag", "--list", "v*", "--merged", "HEAD").stdout.split())
    changelog = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = [version for version, _, _ in _releases(changelog)]
    names = [_tag(version) for version in releases]
    problems = [
        f"tag {tag} is in HEAD's history, but CHANGELOG.md has no release {tag[1:]}"
        for tag in sorted(merged & set(tags))
        if tag not in names
    ]
    for index, tag in enumerate(names):
        if tag not in tags:
            if index > 0:
                problems.append(f"release {tag[1:]} has no tag {tag}")
            elif _unreleased(changelog):
                problems.append(
                    f"release {tag[1:]} has no tag {tag}, yet [Unreleased] lists changes since"
                )
            continue
        if tag not in merged:
            commit = _git(repo, "rev-parse", "--short", f"{tag}^{{commit}}").stdout.strip()
            problems.append(f"tag {tag} ({commit}) is not in HEAD's history")
            continue
        tagged = _releases(_show(repo, tag, "CHANGELOG.md"))
        newest = _tag(tagged[0][0]) if tagged else None
        if newest != tag:
            problems.append(f"at tag {tag} the CHANGELOG's newest release is {newest}, not {tag}")
        refs = _usage_refs(_show(repo, tag, "README.md"))
        if refs != [tag]:
            problems.append(f"at tag {tag} the README's usage pins {refs}, not [{tag!r}]")
    return problems


def _require_git() -> None:
    if shutil.which("git") is None:
        missing_tool("git not found on PATH")


def test_release_tags_agree_with_the_changelog_and_the_readme():
    _require_git()
    problems = release_tag_problems(REPO_ROOT)
    if isinstance(problems, str):
        pytest.skip(f"release tags not checked: {problems}")
    assert problems == []


class _Repository:
    """A scratch git repository for the tag checker's own tests."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.commits = 0
        path.mkdir()
        for args in (
            ("init", "-q", "-b", "main"),
            ("config", "user.name", "test"),
            ("config", "user.email", "test@example.com"),
            ("config", "commit.gpgsign", "false"),
            ("config", "tag.gpgsign", "false"),
        ):
            self.git(*args)

    def git(self, *args: str) -> str:
        result = _git(self.path, *args)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def commit(self, releases: list[str], unreleased: str = "", ref: str | None = None) -> str:
        """A commit whose CHANGELOG has these releases (newest first) and whose README pins
        `ref` (default: the newest release)."""
        sections = "".join(
            f"## [{r}] - 2026-01-{30 - i:02d}\n\nx\n\n" for i, r in enumerate(releases)
        )
        changelog = f"# Changelog\n\n## [Unreleased]\n\n{unreleased}\n\n{sections}"
        pinned = ref or (f"v{releases[0]}" if releases else "v0.0.0")
        readme = (
            '# r\n\n<!-- USAGE:BEGIN -->\n```hcl\nmodule "m" {\n'
            f'  source = "git::https://example.com/r.git?ref={pinned}"\n}}\n```\n'
            "<!-- USAGE:END -->\n"
        )
        (self.path / "CHANGELOG.md").write_text(changelog)
        (self.path / "README.md").write_text(readme)
        self.git("add", "-A")
        self.commits += 1  # distinct messages: equal trees on two branches are two commits
        self.git("commit", "-q", "--allow-empty", "-m", f"commit {self.commits}")
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repository(tmp_path: Path) -> _Repository:
    _require_git()
    return _Repository(tmp_path / "repo")


def test_tag_check_without_tags_says_why(repository: _Repository, tmp_path: Path):
    repository.commit(["0.1.0"])
    assert "no release tags" in release_tag_problems(repository.path)
    assert release_tag_problems(tmp_path) == "not a git checkout"
    repository.git("tag", "not-a-release")
    assert "no release tags" in release_tag_problems(repository.path)


def test_tag_check_accepts_tags_on_the_release_commits(repository: _Repository):
    repository.commit(["0.1.0"])
    repository.git("tag", "v0.1.0")
    repository.commit(["0.1.0"], unreleased="### Added\n- y")
    assert release_tag_problems(repository.path) == []
    # The next release's commit, before its tag exists: nothing listed as unreleased.
    repository.commit(["0.2.0", "0.1.0"])
    assert release_tag_problems(repository.path) == []
    repository.git("tag", "-a", "-m", "0.2.0", "v0.2.0")  # annotated tags count too
    repository.commit(["0.2.0", "0.1.0"], unreleased="### Fixed\n- z")
    assert release_tag_problems(repository.path) == []
    # A later release, seen from an older checkout, is none of its business.
    repository.commit(["0.3.0", "0.2.0", "0.1.0"])
    repository.git("tag", "v0.3.0")
    repository.git("checkout", "-q", "v0.2.0")
    assert release_tag_problems(repository.path) == []


def test_tag_check_finds_each_disagreement(repository: _Repository):
    first = repository.commit(["0.1.0"])
    repository.git("tag", "v0.1.0")
    # 5: changes listed after a release that was never tagged.
    repository.commit(["0.2.0", "0.1.0"])
    repository.commit(["0.2.0", "0.1.0"], unreleased="### Added\n- y")
    assert release_tag_problems(repository.path) == [
        "release 0.2.0 has no tag v0.2.0, yet [Unreleased] lists changes since"
    ]
    # 3: a tag on a commit after its release (the CHANGELOG there already names the next one).
    repository.commit(["0.3.0", "0.2.0", "0.1.0"])
    repository.git("tag", "v0.2.0")
    assert release_tag_problems(repository.path) == [
        "at tag v0.2.0 the CHANGELOG's newest release is v0.3.0, not v0.2.0",
        "at tag v0.2.0 the README's usage pins ['v0.3.0'], not ['v0.2.0']",
    ]
    # 3: a tag whose README pins another ref.
    repository.git("tag", "-d", "v0.2.0")
    repository.commit(["0.2.0", "0.1.0"], ref="v0.1.0")
    repository.git("tag", "v0.2.0")
    assert release_tag_problems(repository.path) == [
        "at tag v0.2.0 the README's usage pins ['v0.1.0'], not ['v0.2.0']"
    ]
    # 1: a tag in the history that the CHANGELOG does not know.
    repository.git("tag", "-d", "v0.2.0")
    repository.commit(["0.2.0", "0.1.0"])
    repository.git("tag", "v0.2.0")
    repository.git("tag", "v0.1.5", first)
    assert release_tag_problems(repository.path) == [
        "tag v0.1.5 is in HEAD's history, but CHANGELOG.md has no release 0.1.5"
    ]
    repository.git("tag", "-d", "v0.1.5")
    # 4: an older release without its tag.
    repository.git("tag", "-d", "v0.1.0")
    assert release_tag_problems(repository.path) == ["release 0.1.0 has no tag v0.1.0"]
    repository.git("tag", "v0.1.0", first)
    assert release_tag_problems(repository.path) == []
    # 2: a release tag on a branch HEAD does not contain.
    repository.git("checkout", "-q", "-b", "side", first)
    side = repository.commit(["0.2.0", "0.1.0"])
    repository.git("checkout", "-q", "main")
    repository.git("tag", "-f", "v0.2.0", side)
    short = repository.git("rev-parse", "--short", side)
    assert release_tag_problems(repository.path) == [
        f"tag v0.2.0 ({short}) is not in HEAD's history"
    ]


def test_tag_check_skips_a_shallow_clone(repository: _Repository, tmp_path: Path):
    repository.commit(["0.1.0"])
    repository.git("tag", "v0.1.0")
    repository.commit(["0.1.0"], unreleased="- y")
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repository.path}", str(clone)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert "shallow" in release_tag_problems(clone)
