"""Breaking-change guard for the Python API: compare ``jiguang_growth`` with its last release.

The released API is the committed baseline ``api-baseline/jiguang_growth-<version>.tar.gz`` with
the highest version (``--baseline`` picks another file): the Python source of ``jiguang_growth``
and ``jiguang_growth_generated`` as released, in a reproducible archive. griffe
(``find_breaking_changes``, the engine of ``griffe check``) reads both the baseline and the
current source statically, without importing them, and compares the two; a name that left the
``__all__`` of a public module counts as breaking too. (A source archive rather than griffe's
JSON dump: griffe 2.4.1 cannot resolve base classes of a module it decoded from JSON.)

It applies the rule of tools/breaking.py to ``__version__`` and to the "Python package" part of
CHANGELOG.md. It fails (exit 1) when

* a change is breaking and the major part of ``__version__`` was not raised;
* ``__version__`` is lower than the baseline's;
* the public API changed but that part of CHANGELOG.md has no entry above the baseline's
  section, a new ``__version__`` has no ``## [<version>]`` heading there, or a breaking change
  is not marked "(breaking change)".

It stops with exit 2 when the baseline or the source cannot be read. ``--write-baseline`` writes
the baseline of the current source for its ``__version__`` (a release step, see docs/spec.md).
"""

from __future__ import annotations

import argparse
import ast
import gzip
import io
import re
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import griffe
from _common import ROOT
from _versioning import (
    CHANGELOG,
    PACKAGE_PART,
    GuardError,
    changelog_problems,
    report,
    version_problems,
    version_tuple,
)

PACKAGE = "jiguang_growth"
GENERATED_PACKAGE = "jiguang_growth_generated"
BASELINES = ROOT / "api-baseline"
BASELINE_NAME = re.compile(rf"^{PACKAGE}-(\d+\.\d+\.\d+)\.tar\.gz$")
SOURCE_FOLDERS = ("overlays", "generated")
"""Where the package and the generated package it refers to live, under the source root."""
PACKAGES = ("overlays/jiguang_growth", "generated/jiguang_growth_generated")
"""What a baseline archive holds (their ``.py`` files), relative to the source root."""
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- loading -----------------------------------------------------------------------------------


def load_source(source: Path = ROOT) -> griffe.Module:
    """The package as griffe reads it from ``source``/overlays (nothing is imported)."""
    paths = [source / folder for folder in SOURCE_FOLDERS]
    if not (paths[0] / PACKAGE / "__init__.py").is_file():
        raise GuardError(f"{paths[0] / PACKAGE} is not a Python package")
    loader = griffe.GriffeLoader(search_paths=paths)
    try:
        module = loader.load(PACKAGE)
        # The clients inherit their methods from the generated package: load it with the package,
        # so that inherited members count (nothing outside the two packages is read).
        if (paths[1] / GENERATED_PACKAGE / "__init__.py").is_file():
            loader.load(GENERATED_PACKAGE)
        loader.resolve_aliases(external=False)
    except (ImportError, OSError, SyntaxError) as error:
        raise GuardError(f"griffe cannot read {paths[0] / PACKAGE}: {error}") from None
    if not isinstance(module, griffe.Module):
        raise GuardError(f"griffe did not load {PACKAGE} as a module")
    return module


def baseline_archive(source: Path) -> bytes:
    """A reproducible ``.tar.gz`` of the packages' ``.py`` files under ``source`` (no dates, no owners)."""
    files = sorted(path for folder in PACKAGES for path in (source / folder).rglob("*.py"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo(path.relative_to(source).as_posix())
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0)


def load_baseline(path: Path, folder: Path) -> griffe.Module:
    """Unpack a baseline archive into ``folder`` and read the package from it."""
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            archive.extractall(folder, filter="data")
    except FileNotFoundError:
        raise GuardError(f"the baseline {path} does not exist") from None
    except (OSError, tarfile.TarError, EOFError) as error:
        raise GuardError(f"the baseline {path} is not a .tar.gz archive: {error}") from None
    return load_source(folder)


def latest_baseline(folder: Path = BASELINES) -> Path:
    """The ``jiguang_growth-<version>.tar.gz`` in ``folder`` with the highest version."""
    found = []
    if folder.is_dir():
        for path in folder.iterdir():
            match = BASELINE_NAME.match(path.name)
            if match:
                found.append((version_tuple(match.group(1), str(path), "the version"), path))
    if not found:
        raise GuardError(
            f"{folder} holds no {PACKAGE}-<version>.tar.gz; "
            "see 'Releasing the Python package' in docs/spec.md"
        )
    return max(found)[1]


def package_version(module: griffe.Module) -> str:
    """``__version__`` as written in the source (a string literal)."""
    try:
        value = module["__version__"].value
        version = ast.literal_eval(str(value))
    except (KeyError, ValueError, SyntaxError, griffe.AliasResolutionError):
        raise GuardError(f"{PACKAGE}.__version__ is not a string literal griffe can read") from None
    if not isinstance(version, str):
        raise GuardError(f"{PACKAGE}.__version__ is {version!r}, not a string")
    return version


# --- comparing ---------------------------------------------------------------------------------


def _target(obj: griffe.Object | griffe.Alias) -> griffe.Object | griffe.Alias:
    try:
        return obj.final_target if obj.is_alias else obj  # type: ignore[union-attr]
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return obj


def _describe(obj: griffe.Object | griffe.Alias) -> str:
    if obj.is_alias:
        return f"alias of {obj.target_path}"  # type: ignore[union-attr]
    if isinstance(obj, griffe.Function):
        parameters = ", ".join(
            f"{p.kind.value if p.kind else ''} {p.name}: {p.annotation} = {p.default}" for p in obj.parameters
        )
        return f"function({parameters}) -> {obj.returns}"
    if isinstance(obj, griffe.Attribute):
        return f"attribute: {obj.annotation} = {obj.value}"
    if isinstance(obj, griffe.Class):
        return f"class({', '.join(str(base) for base in obj.bases)})"
    return obj.kind.value


def surface(obj: griffe.Object | griffe.Alias, path: str = PACKAGE) -> Iterator[tuple[str, str]]:
    """Every public name under ``obj`` (recursively) with its kind and signature."""
    target = _target(obj)
    yield path, _describe(target)
    if target.is_alias or not (target.is_module or target.is_class):
        return
    members = target.all_members if target.is_class else target.members
    for name, member in sorted(members.items()):
        if member.is_public and not (target.is_class and _target(member).is_module):
            yield from surface(member, f"{path}.{name}")


def removed_exports(old: griffe.Module, new: griffe.Module) -> list[str]:
    """Names that left the ``__all__`` of a public module present in both versions."""
    removed = []
    for path, module in _public_modules(old):
        try:
            after = new[path] if path else new
        except KeyError:
            continue  # griffe reports the module's removal
        for name in sorted({str(n) for n in module.exports or ()} - {str(n) for n in after.exports or ()}):
            removed.append(f"{PACKAGE}{'.' if path else ''}{path}.{name}: removed from __all__")
    return removed


def _public_modules(module: griffe.Module, path: str = "") -> Iterator[tuple[str, griffe.Module]]:
    yield path, module
    for name, member in module.modules.items():
        if member.is_public:
            yield from _public_modules(member, f"{path}.{name}" if path else name)


def breaking_changes(old: griffe.Module, new: griffe.Module) -> list[str]:
    """griffe's breaking changes, one line each, plus the names removed from an ``__all__``."""
    found = [ANSI.sub("", breakage.explain()) for breakage in griffe.find_breaking_changes(old, new)]
    return found + removed_exports(old, new)


# --- the rule ----------------------------------------------------------------------------------


def baseline_version(path: Path) -> str:
    """The released version a baseline file is of, from its name."""
    match = BASELINE_NAME.match(path.name)
    if not match:
        raise GuardError(f"the baseline {path.name} is not named {PACKAGE}-<MAJOR.MINOR.PATCH>.tar.gz")
    return match.group(1)


def check(source: Path, baseline: Path, changelog: Path) -> list[str]:
    """Every reason the package cannot go out as it is (empty: it can). Prints the comparison."""
    old = baseline_version(baseline)
    with tempfile.TemporaryDirectory(prefix="api-baseline-") as folder:
        before, after = load_baseline(baseline, Path(folder)), load_source(source)
        return _compare(before, after, old, baseline, changelog)


def _compare(
    before: griffe.Module, after: griffe.Module, old: str, baseline: Path, changelog: Path
) -> list[str]:
    new = package_version(after)
    print(f"api-breaking: {PACKAGE} {new} against baseline {baseline.name} {old}")
    old_surface, new_surface = dict(surface(before)), dict(surface(after))
    if old_surface == new_surface:
        print("api-breaking: no change to the public API since the baseline")
        return version_problems(old, new, 0, sources=(str(baseline), PACKAGE), what="__version__")
    for path in sorted(new_surface.keys() - old_surface.keys()):
        print(f"  added:    {path}")
    for path in sorted(
        p for p in new_surface.keys() & old_surface.keys() if old_surface[p] != new_surface[p]
    ):
        print(f"  changed:  {path}")
    breaking = breaking_changes(before, after)
    for line in breaking:
        print(f"  BREAKING: {line}")
    problems = version_problems(old, new, len(breaking), sources=(str(baseline), PACKAGE), what="__version__")
    return problems + changelog_problems(
        changelog, old, new, bool(breaking), part=PACKAGE_PART, what="__version__"
    )


def write_baseline(source: Path, folder: Path, version: str | None = None) -> Path:
    """Write the baseline of the package in ``source`` for ``version`` (default: its ``__version__``).

    A released baseline is never overwritten.
    """
    module = load_source(source)
    version = version or package_version(module)
    version_tuple(version, "--as-version", "the version")
    path = folder / f"{PACKAGE}-{version}.tar.gz"
    if path.exists():
        raise GuardError(f"{path} exists already: a released baseline is never rewritten")
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(baseline_archive(source))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/api_breaking.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="folder with overlays/ (default: repo)")
    parser.add_argument("--baseline", type=Path, help="released API (default: newest in api-baseline/)")
    parser.add_argument("--changelog", type=Path, default=CHANGELOG, help="default CHANGELOG.md")
    parser.add_argument(
        "--write-baseline", type=Path, metavar="FOLDER", help="write the source's baseline into FOLDER"
    )
    parser.add_argument("--as-version", help="with --write-baseline: the version (default __version__)")
    args = parser.parse_args(argv)
    try:
        if args.write_baseline:
            written = write_baseline(args.source, args.write_baseline, args.as_version)
            shown = written.relative_to(ROOT) if written.is_relative_to(ROOT) else written
            print(f"api-breaking: wrote {shown}")
            return 0
        problems = check(args.source, args.baseline or latest_baseline(), args.changelog)
    except GuardError as error:
        print(f"api-breaking: cannot check: {error}", file=sys.stderr)
        return 2
    return report("api-breaking", problems)


if __name__ == "__main__":
    sys.exit(main())
