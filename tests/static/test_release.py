"""Releases: CHANGELOG.md follows Keep a Changelog with semantic versions, every release states
the versions it supports (and the latest one states what the code requires), and the README's
usage pins the latest release.
"""

from __future__ import annotations

import re
from datetime import date

import hcl2
from tooling import REPO_ROOT

CHANGELOG = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
RELEASE = re.compile(r"^## \[(\d+)\.(\d+)\.(\d+)\] - (\d{4}-\d{2}-\d{2})$", re.MULTILINE)
HEADING = re.compile(r"^## .*$", re.MULTILINE)
SUPPORTED = re.compile(r"^Supported: (.+?)(?:\n\n|\Z)", re.MULTILINE | re.DOTALL)
SECTIONS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def _releases() -> list[tuple[tuple[int, int, int], date, str]]:
    """(version, date, section text) of every release, top to bottom."""
    found = []
    headings = list(HEADING.finditer(CHANGELOG))
    for index, heading in enumerate(headings):
        match = RELEASE.fullmatch(heading.group(0))
        if match is None:
            continue
        end = headings[index + 1].start() if index + 1 < len(headings) else len(CHANGELOG)
        version = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
        found.append((version, date.fromisoformat(match.group(4)), CHANGELOG[heading.end() : end]))
    return found


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
        tag = "v" + ".".join(map(str, version))
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
    usage = README.split("<!-- USAGE:BEGIN -->", 1)[1].split("<!-- USAGE:END -->", 1)[0]
    refs = re.findall(r"\?ref=(v[0-9][^\"&]*)", usage)
    latest = "v" + ".".join(map(str, _releases()[0][0]))
    assert refs == [latest], f"the README's usage pins {refs}, the latest release is {latest}"
