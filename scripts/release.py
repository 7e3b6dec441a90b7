"""The Python half of ``scripts/release.sh``: the release directory's zips and template, and the
Serverless Application Repository's published rules for the template's metadata.

``sam publish`` sends ``Metadata.AWS::ServerlessRepo::Application`` to the repository's
CreateApplication API, which refuses a value that breaks its rules only at publishing time, with
credentials in hand. ``metadata_problems`` checks the same rules offline; each rule is quoted from
(docs/releasing.md lists them):

* https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-template-publishing-applications-metadata-properties.html
  (the SAM template's metadata properties: Name, Description, Author, SpdxLicenseId, LicenseUrl,
  ReadmeUrl, Labels, HomePageUrl, SemanticVersion, SourceCodeUrl; no intrinsic functions)
* https://docs.aws.amazon.com/serverlessrepo/latest/devguide/applications.html (the
  CreateApplication request: the same lengths and patterns)
* https://semver.org/ (SemanticVersion: its suggested regular expression) and
  https://spdx.org/licenses/ (SpdxLicenseId)

Usage (release.sh does this after ``sam build``)::

    python scripts/release.py template BUILD_DIR OUT_DIR NAME [--author A] [--source-code-url U]
        [--home-page-url U]
    python scripts/release.py check TEMPLATE      # the metadata of any template, local or packaged
    python scripts/release.py publish-command OUT_DIR
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from samcli.yamlhelper import yaml_dump, yaml_parse  # type: ignore[import-untyped]  # SAM CLI ships no types

APPLICATION = "AWS::ServerlessRepo::Application"
FUNCTION, LAYER = "ProviderFunction", "DependenciesLayer"

#: Author: "Minimum length=1. Maximum length=127. Pattern ^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$"
AUTHOR = re.compile(r"^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$")
#: Name: "Minimum length=1. Maximum length=140. Pattern [a-zA-Z0-9\-]+" (the whole name).
NAME = re.compile(r"[a-zA-Z0-9\-]+")
#: Labels: "Minimum length=1. Maximum length=127. Maximum number of labels: 10.
#: Pattern ^[a-zA-Z0-9+\-_:\/@]+$"
LABEL = re.compile(r"^[a-zA-Z0-9+\-_:\/@]+$")
#: SemanticVersion: semver.org's own regular expression for a version.
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
#: SpdxLicenseId: an SPDX short identifier (letters, digits, "-" and ".", as on spdx.org/licenses).
SPDX_ID = re.compile(r"^[A-Za-z0-9.-]+$")
#: LicenseUrl and ReadmeUrl: "Maximum size: 5 MB".
MAX_FILE_BYTES = 5 * 1024 * 1024
LENGTHS = {"Name": 140, "Description": 256, "Author": 127}
REQUIRED = ("Name", "Description", "Author")
FILES = ("LicenseUrl", "ReadmeUrl")
URLS = ("HomePageUrl", "SourceCodeUrl")
KNOWN = {*REQUIRED, "SpdxLicenseId", *FILES, "Labels", "SemanticVersion", *URLS}


def metadata_problems(metadata: Any, *, base: Path, packaged: bool = False) -> list[str]:
    """Every way ``metadata`` breaks the published rules (empty when it keeps them all).

    ``base`` is the template's directory, against which local LicenseUrl/ReadmeUrl paths resolve.
    A ``packaged`` template (what ``sam publish`` takes) must name both files by s3:// URI.
    """
    if not isinstance(metadata, dict):
        return [f"{APPLICATION} must be a mapping"]
    problems = [f"{key} is not a property of {APPLICATION}" for key in metadata if key not in KNOWN]
    intrinsic = {key for key, value in metadata.items() if isinstance(value, dict)}
    problems += [
        f"{key} must be a plain value: intrinsic functions are not supported here" for key in intrinsic
    ]
    problems += [f"{key} is required" for key in REQUIRED if not metadata.get(key)]
    metadata = {key: value for key, value in metadata.items() if key not in intrinsic}
    for key, limit in LENGTHS.items():
        value = metadata.get(key)
        if isinstance(value, str) and len(value) > limit:  # an empty one is missing: required
            problems.append(f"{key} must be 1 to {limit} characters, not {len(value)}")
    problems += _pattern_problems(metadata)
    problems += _label_problems(metadata.get("Labels"))
    for key in URLS:
        if key in metadata and not _is_https_url(metadata[key]):
            problems.append(f"{key} must be an https:// URL, not {metadata[key]!r}")
    for key in FILES:
        problems += _file_problems(key, metadata.get(key), base=base, packaged=packaged)
    return problems


def _pattern_problems(metadata: dict[str, Any]) -> list[str]:
    checks = (
        ("Name", NAME, "letters, digits and hyphens"),
        (
            "Author",
            AUTHOR,
            "lower-case letters, digits and single hyphens, starting and ending with a letter or digit",
        ),
        ("SemanticVersion", SEMVER, "a semantic version such as 1.2.3"),
        ("SpdxLicenseId", SPDX_ID, "an SPDX license identifier such as Apache-2.0"),
    )
    return [
        f"{key} must be {expected}, not {metadata[key]!r}"
        for key, pattern, expected in checks
        if metadata.get(key) and not (isinstance(metadata[key], str) and pattern.fullmatch(metadata[key]))
    ]


def _label_problems(labels: Any) -> list[str]:
    if labels is None:
        return []
    if not isinstance(labels, list) or len(labels) > 10:
        return ["Labels must be a list of at most 10 labels"]
    return [
        f"label {label!r} must be 1 to 127 letters, digits or + - _ : / @"
        for label in labels
        if not (isinstance(label, str) and len(label) <= 127 and LABEL.fullmatch(label))
    ]


def _is_https_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname) and " " not in value


def _file_problems(key: str, value: Any, *, base: Path, packaged: bool) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [f"{key} must be a path or an s3:// URI"]
    if value.startswith("s3://"):
        return []
    if packaged:
        return [f"{key} must be an s3:// URI in a packaged template (sam package uploads it), not {value!r}"]
    path = base / value
    if not path.is_file():
        return [f"{key} {value} does not exist beside the template"]
    if path.stat().st_size > MAX_FILE_BYTES:
        return [f"{key} {value} is larger than 5 MB"]
    return []


# ------------------------------------------------------------------------- release directory


def zip_dir(source: Path, target: Path) -> None:
    """A reproducible zip of source's contents: sorted entries, fixed times, modes kept, so that
    equal builds give equal hashes."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def write_release(
    build: Path, out: Path, name: str, *, author: str = "", source_code_url: str = "", home_page_url: str = ""
) -> dict[str, Any]:
    """Zips sam build's two artefacts into ``out`` and writes ``out/template.yaml`` pointing at
    them, with LICENSE and README.md beside it and the release-time metadata filled in.

    The result is a directory that stands on its own: ``sam package`` uploads every local path it
    names and writes the s3:// template that ``sam publish`` takes. Raises SystemExit naming every
    broken metadata rule, before anything is uploaded.
    """
    template: dict[str, Any] = yaml_parse((build / "template.yaml").read_text())
    resources = template["Resources"]
    for logical_id, key, suffix in ((FUNCTION, "CodeUri", "function"), (LAYER, "ContentUri", "layer")):
        archive = f"{name}-{suffix}.zip"
        zip_dir(build / resources[logical_id]["Properties"][key], out / archive)
        resources[logical_id]["Properties"][key] = archive

    metadata = template["Metadata"][APPLICATION]
    for key in FILES:  # sam build names them relative to the build directory
        source = (build / metadata[key]).resolve()
        if not source.is_file():
            raise SystemExit(f"release: {key} {metadata[key]} does not exist")
        shutil.copyfile(source, out / source.name)
        metadata[key] = source.name
    if author:
        metadata["Author"] = author
    if source_code_url:
        metadata["SourceCodeUrl"] = source_code_url
        metadata["HomePageUrl"] = home_page_url or source_code_url
    elif home_page_url:
        metadata["HomePageUrl"] = home_page_url

    problems = metadata_problems(metadata, base=out)
    if problems:
        raise SystemExit("release: the application's metadata would be refused:\n  " + "\n  ".join(problems))
    (out / "template.yaml").write_text(yaml_dump(template))
    return template


def local_paths(template: dict[str, Any]) -> list[str]:
    """The local files a release template names, which ``sam package`` uploads."""
    resources = template["Resources"]
    metadata = template["Metadata"][APPLICATION]
    return [
        resources[FUNCTION]["Properties"]["CodeUri"],
        resources[LAYER]["Properties"]["ContentUri"],
        *(metadata[key] for key in FILES),
    ]


def publish_command(out: Path) -> str:
    """The one command line that uploads the release and publishes it (``<bucket>`` and
    ``<region>`` to fill in): ``sam package`` turns every local path into an s3:// URI, which is
    what ``sam publish`` requires."""
    packaged = out / "packaged.yaml"
    return (
        f"sam package --template-file {out / 'template.yaml'} --output-template-file {packaged} "
        f"--s3-bucket <bucket> --region <region> && sam publish --template {packaged} --region <region>"
    )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/release.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    template = commands.add_parser("template", help="zips and template.yaml into OUT_DIR")
    template.add_argument("build", type=Path)
    template.add_argument("out", type=Path)
    template.add_argument("name")
    template.add_argument("--author", default="")
    template.add_argument("--source-code-url", default="")
    template.add_argument("--home-page-url", default="")
    check = commands.add_parser("check", help="the metadata of a template against the published rules")
    check.add_argument("template", type=Path)
    check.add_argument("--packaged", action="store_true")
    command = commands.add_parser("publish-command", help="the command line that publishes OUT_DIR")
    command.add_argument("out", type=Path)
    args = parser.parse_args(argv)

    if args.command == "template":
        write_release(
            args.build,
            args.out,
            args.name,
            author=args.author,
            source_code_url=args.source_code_url,
            home_page_url=args.home_page_url,
        )
    elif args.command == "check":
        loaded = yaml_parse(args.template.read_text())
        metadata = loaded.get("Metadata", {}).get(APPLICATION)
        problems = metadata_problems(metadata, base=args.template.parent, packaged=args.packaged)
        for problem in problems:
            print(f"{args.template}: {problem}", file=sys.stderr)
        return 1 if problems else 0
    else:
        print(publish_command(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
