"""The release rule both breaking-change guards apply (tools/breaking.py for openapi.yaml,
tools/api_breaking.py for the Python API): versions, and what CHANGELOG.md must say.

CHANGELOG.md has one part per versioned thing, each under its own level-1 heading
(:data:`SPEC_PART`, :data:`PACKAGE_PART`) with ``## [<version>]`` sections, newest first.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from _common import ROOT

CHANGELOG = ROOT / "CHANGELOG.md"
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
BREAKING_MARK = "(breaking change)"
SPEC_PART = "API description (openapi.yaml)"
PACKAGE_PART = "Python package (jiguang-growth)"


class GuardError(Exception):
    """The comparison could not be made; exit 2 with this message."""


def report(guard: str, problems: list[str]) -> int:
    """Print a guard's verdict (each problem on stderr, or OK) and return its exit status."""
    if problems:
        for problem in problems:
            print(f"{guard}: FAIL: {problem}", file=sys.stderr)
        return 1
    print(f"{guard}: OK")
    return 0


def version_tuple(version: object, source: str, what: str = "info.version") -> tuple[int, int, int]:
    """``MAJOR.MINOR.PATCH`` as three integers, or a GuardError naming ``source``."""
    match = SEMVER.match(version) if isinstance(version, str) else None
    if not match:
        raise GuardError(f"{source}: {what} {version!r} is not MAJOR.MINOR.PATCH")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def version_problems(old: str, new: str, breaking: int, *, sources: tuple[str, str], what: str) -> list[str]:
    """A version lower than the released one, or breaking changes without a new major version.

    ``sources`` name where ``old`` and ``new`` come from, for the message about a malformed one.
    """
    old_version, new_version = version_tuple(old, sources[0], what), version_tuple(new, sources[1], what)
    problems = []
    if new_version < old_version:
        problems.append(f"{what} {new} is lower than the released {old}")
    if breaking and new_version[0] <= old_version[0]:
        problems.append(
            f"{breaking} breaking change(s) need a new major version: set {what} to "
            f"{old_version[0] + 1}.0.0 (now {new}), or undo them"
        )
    return problems


def changelog_part(text: str, title: str, changelog: Path) -> str:
    """The text of the part ``# <title>`` of the changelog, up to the next level-1 heading."""
    start = re.search(rf"^# {re.escape(title)}[ \t]*$", text, re.MULTILINE)
    if not start:
        raise GuardError(f"{changelog.name} has no '# {title}' part")
    end = re.search(r"^# ", text[start.end() :], re.MULTILINE)
    return text[start.end() : start.end() + end.start() if end else len(text)]


def changelog_problems(
    changelog: Path,
    baseline_version: str,
    current_version: str,
    breaking: bool,
    *,
    part: str = SPEC_PART,
    what: str = "info.version",
) -> list[str]:
    """What the changelog's ``part`` lacks for a release that differs from the baseline."""
    try:
        text = changelog.read_text(encoding="utf-8")
    except OSError as error:
        raise GuardError(f"cannot read {changelog}: {error}") from None
    text = changelog_part(text, part, changelog)
    where = f" in '# {part}'"
    released = re.search(rf"^## \[{re.escape(baseline_version)}\]", text, re.MULTILINE)
    if not released:
        raise GuardError(f"{changelog.name} has no '## [{baseline_version}]' section{where} for the baseline")
    # Entries of unreleased versions: the sections above the baseline's (not the part's preamble).
    first_section = re.search(r"^## ", text, re.MULTILINE)
    pending = text[first_section.start() if first_section else 0 : released.start()]
    problems = []
    if not re.search(r"^\s*[-*] \S", pending, re.MULTILINE):
        problems.append(
            f"{changelog.name} lists no change above '## [{baseline_version}]'{where}; "
            "add an entry for this change"
        )
    if current_version != baseline_version and not re.search(
        rf"^## \[{re.escape(current_version)}\]", pending, re.MULTILINE
    ):
        problems.append(f"{changelog.name} has no '## [{current_version}]' section for {what}{where}")
    if breaking and BREAKING_MARK not in pending:
        problems.append(f"{changelog.name} does not mark the breaking change '{BREAKING_MARK}'{where}")
    return problems
