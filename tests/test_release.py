"""Installing without building: what ``make release`` produces is what ``sam publish`` takes.

* The Serverless Application Repository metadata keeps the repository's published rules
  (``scripts/release.py`` encodes them, with their sources, listed in docs/releasing.md):
  the Author "spacelift-cfn maintainers" that the template used to carry is refused, like every
  other value those rules refuse.
  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-template-publishing-applications-metadata-properties.html
  https://docs.aws.amazon.com/serverlessrepo/latest/devguide/applications.html
* template.yaml carries no value that exists only at release time (no home page, no source URL),
  and no file a user reads names an invented URL.
* ``scripts/release.sh`` (what ``make release`` runs) writes the release-time values it is given,
  names only files that exist beside its template, and prints one command; the ``sam package``
  half of that command runs against moto's S3 and writes a template whose every artefact is an
  s3:// object in the bucket, and the SAM CLI's own publishing code turns that template into a
  CreateApplication request the service model accepts (the repository itself has no offline
  stand-in: its client is stubbed, after botocore validated the request).
* The README's Deploy section is the path a new user follows: the secret, then three ways to
  deploy (the repository, with its CLI and as a nested application; a build with Python 3.13; a
  build in a container), every parameter of template.yaml, and every way to write the
  ServiceToken, the no-import ARN form included.
* The nested-application example passes cfn-lint and deploys the version being released.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from cfnlint.decode import cfn_yaml
from samcli.vendor.serverlessrepo.publish import publish_application  # type: ignore[import-untyped]
from samcli.yamlhelper import yaml_parse  # type: ignore[import-untyped]

from scripts.release import APPLICATION, local_paths, metadata_problems, publish_command, write_release

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
TEMPLATE = ROOT / "template.yaml"
NESTED_EXAMPLE = ROOT / "examples" / "nested-application.yaml"
SOURCE_CODE_URL = "https://example.com/acme/spacelift-cfn"
AUTHOR = "acme-platform"
REGION = "us-east-1"


def template_metadata() -> dict[str, Any]:
    metadata: dict[str, Any] = dict(cfn_yaml.load(str(TEMPLATE))["Metadata"][APPLICATION])
    return metadata


def version() -> str:
    return str(template_metadata()["SemanticVersion"])


# ------------------------------------------------------------------------- the rules

VALID = {
    "Name": "spacelift-cfn",
    "Description": "CloudFormation custom resources for Spacelift",
    "Author": "user1",
    "SpdxLicenseId": "Apache-2.0",
    "LicenseUrl": "LICENSE",
    "ReadmeUrl": "README.md",
    "Labels": ["tests"],
    "HomePageUrl": "https://example.com/user1/my-app-project",
    "SemanticVersion": "0.0.1",
    "SourceCodeUrl": "https://example.com/user1/my-app-project",
}

REFUSED: list[tuple[str, Any, str]] = [
    ("Author", "spacelift-cfn maintainers", "Author must be lower-case letters"),
    ("Author", "Spacelift", "Author must be lower-case letters"),
    ("Author", "a--b", "Author must be lower-case letters"),
    ("Author", "-ab", "Author must be lower-case letters"),
    ("Author", "ab-", "Author must be lower-case letters"),
    ("Author", "a" * 128, "Author must be 1 to 127 characters"),
    ("Author", "", "Author is required"),
    ("Name", "spacelift cfn", "Name must be letters, digits and hyphens"),
    ("Name", "a" * 141, "Name must be 1 to 140 characters"),
    ("Description", "d" * 257, "Description must be 1 to 256 characters"),
    ("Labels", [f"l{n}" for n in range(11)], "Labels must be a list of at most 10"),
    ("Labels", ["custom resource"], "label 'custom resource'"),
    ("Labels", ["x" * 128], "label 'xxxx"),
    ("SemanticVersion", "0.1", "SemanticVersion must be a semantic version"),
    ("SemanticVersion", "v0.1.0", "SemanticVersion must be a semantic version"),
    ("SpdxLicenseId", "Apache 2.0", "SpdxLicenseId must be an SPDX license identifier"),
    ("HomePageUrl", "http://example.com/x", "HomePageUrl must be an https:// URL"),
    ("SourceCodeUrl", "example.com/x", "SourceCodeUrl must be an https:// URL"),
    (
        "SourceCodeUrl",
        {"Fn::Sub": "https://example.com/${AWS::Region}"},
        "SourceCodeUrl must be a plain value",
    ),
    ("LicenseUrl", "NO-SUCH-LICENSE", "LicenseUrl NO-SUCH-LICENSE does not exist"),
    ("Website", "https://example.com", "Website is not a property"),
]
ACCEPTED: list[tuple[str, Any]] = [
    ("Author", "a"),
    ("Author", "spacelift-cfn-maintainers"),
    ("Author", "a" * 127),
    ("SemanticVersion", "1.0.0-rc.1+build.5"),
    ("Labels", ["aws-integration", "c++", "a:b/c@d_e"]),
    ("LicenseUrl", "s3://bucket/key"),
]


@pytest.mark.parametrize(
    ("key", "value", "message"), REFUSED, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(REFUSED)]
)
def test_the_rules_refuse_what_the_repository_refuses(key: str, value: Any, message: str) -> None:
    assert metadata_problems(VALID, base=ROOT) == []
    problems = metadata_problems({**VALID, key: value}, base=ROOT)
    assert len(problems) == 1, problems
    assert problems[0].startswith(message), problems


@pytest.mark.parametrize(("key", "value"), ACCEPTED)
def test_the_rules_accept_what_the_repository_accepts(key: str, value: Any) -> None:
    assert metadata_problems({**VALID, key: value}, base=ROOT) == []


def test_a_packaged_template_names_its_files_in_s3() -> None:
    problems = metadata_problems(VALID, base=ROOT, packaged=True)
    assert [p.split(" must")[0] for p in problems] == ["LicenseUrl", "ReadmeUrl"]
    uploaded = {**VALID, "LicenseUrl": "s3://b/license", "ReadmeUrl": "s3://b/readme"}
    assert metadata_problems(uploaded, base=ROOT, packaged=True) == []


def test_template_yaml_keeps_the_published_rules() -> None:
    metadata = template_metadata()
    assert metadata_problems(metadata, base=ROOT) == []
    assert metadata["Name"] == "spacelift-cfn"
    assert metadata["SpdxLicenseId"] == "Apache-2.0"
    assert "Apache License" in (ROOT / metadata["LicenseUrl"]).read_text()
    assert metadata["ReadmeUrl"] == "README.md"


def test_template_yaml_carries_no_release_time_value() -> None:
    # The source's public URL (and a home page) exist only once the source is published:
    # `make release SOURCE_CODE_URL=...` writes them into the release's template.
    assert not {"HomePageUrl", "SourceCodeUrl"} & template_metadata().keys()


def test_the_version_is_described_in_the_changelog() -> None:
    assert re.search(rf"^## \[{re.escape(version())}\]", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)


# ------------------------------------------------------------------- no invented URL

#: Hosts of the public documentation and sources the files cite, each justified by what it is.
PUBLIC_HOSTS = {
    "docs.aws.amazon.com",  # AWS documentation
    "aws.amazon.com",  # AWS product pages
    "repost.aws",  # AWS re:Post knowledge center
    "docs.powertools.aws.dev",  # Powertools for AWS Lambda documentation
    "docs.spacelift.io",  # Spacelift documentation
    "spec.graphql.org",  # the GraphQL specification
    "semver.org",  # Semantic Versioning
    "keepachangelog.com",  # the changelog's format
    "spdx.org",  # SPDX license list
    "www.apache.org",  # the license's own text
    "registry.terraform.io",  # the Terraform provider's documentation
}
#: GitHub owners whose public repositories the docs cite as sources. Never this project's own
#: home: it has no public address until one is given at release time.
PUBLIC_GITHUB_OWNERS = {
    "aws",
    "aws-cloudformation",
    "awsdocs",
    "aws-powertools",
    "spacelift-io",
    "remind101",
    "iRobotCorporation",
    "binxio",
}
#: Example hosts a reader replaces with their own (RFC 2606 names, a Spacelift account's URL, an
#: S3 bucket of theirs), recognised by shape.
EXAMPLE_HOST = re.compile(
    r"^(?:[a-z0-9-]+\.)*example(?:\.com|\.org|\.net)?$|\.invalid$|^[a-z0-9-]+\.app(?:\.[a-z]+)?\.spacelift\.io$"
    r"|[A-Z<>${}\[\]]|^127\.0\.0\.1$|^localhost$"
)
URL = re.compile(r"https?://[^\s)>\"'`\]]+")
#: GitHub owners that are placeholders in an explanation (``github.com/owner/name``).
PLACEHOLDER_OWNERS = {"owner", "OWNER", "<owner>", "your-org"}
#: Files a user reads: the README, changelog, docs, template, examples and the CDK package.
USER_FACING = ("README.md", "CHANGELOG.md", "CONTRIBUTING.md", "template.yaml", "samconfig.toml", "Makefile")
USER_FACING_DIRS = ("docs", "examples", "cdk", "scripts", "src")


def user_facing_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    names = listed.stdout.splitlines()
    others = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    names += others.stdout.splitlines()
    return [
        ROOT / name
        for name in sorted(set(names))
        if (name in USER_FACING or name.split("/", 1)[0] in USER_FACING_DIRS)
        and not name.endswith(("package-lock.json", ".zip", ".png"))
        and (ROOT / name).is_file()
    ]


def is_justified(url: str) -> bool:
    host = re.sub(r"^https?://", "", url).split("/", 1)[0].split(":", 1)[0]
    if not host.strip("."):
        return True  # "https://..." stands for any URL
    if host == "github.com":
        owner = url.split("/")[3] if len(url.split("/")) > 3 else ""
        return owner in PUBLIC_GITHUB_OWNERS | PLACEHOLDER_OWNERS
    return host in PUBLIC_HOSTS or bool(EXAMPLE_HOST.search(host)) or host.endswith(".amazonaws.com")


def test_no_invented_url() -> None:
    files = user_facing_files()
    assert ROOT / "README.md" in files and ROOT / "template.yaml" in files
    found = [
        f"{path.relative_to(ROOT)}: {url}"
        for path in files
        for url in URL.findall(path.read_text(encoding="utf-8", errors="replace"))
        if not is_justified(url.rstrip(".,;:"))
    ]
    assert not found, (
        "URLs that are neither public documentation nor an example to replace (a home page or "
        "source URL exists only at release time: make release SOURCE_CODE_URL=...):\n" + "\n".join(found)
    )


@pytest.mark.parametrize(
    ("url", "justified"),
    [
        ("https://github.com/spacelift-cfn/spacelift-cfn", False),
        ("https://github.com/someone/spacelift-cfn/releases/tag/v0.1.0", False),
        ("https://spacelift-cfn.dev", False),
        ("https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/802", True),
        ("https://docs.aws.amazon.com/serverlessrepo/latest/devguide/applications.html", True),
        ("https://acme.app.spacelift.io/graphql", True),
        ("https://acme.app.us.spacelift.io", True),
        ("https://github.com/owner/name.git", True),
        ("https://BUCKET.s3.eu-west-1.amazonaws.com/key", True),
    ],
)
def test_the_url_check_tells_invented_from_public(url: str, justified: bool) -> None:
    assert is_justified(url) is justified


# ------------------------------------------------------------------------ make release


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """``scripts/release.sh`` with the release-time values, into a temporary directory: the
    release directory, sam build's directory, and what the script printed."""
    work = tmp_path_factory.mktemp("release")
    result = subprocess.run(
        [
            "bash",
            str(ROOT / "scripts" / "release.sh"),
            "--source-code-url",
            SOURCE_CODE_URL,
            "--author",
            AUTHOR,
            "--home-page-url",
            "",
            "--out",
            str(work / "dist"),
            "--build-dir",
            str(work / "build"),
        ],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return work / "dist" / f"spacelift-cfn-{version()}", work / "build", result.stdout


def loaded(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = yaml_parse(path.read_text())
    return template


@pytest.mark.timeout(900)
def test_the_release_writes_the_release_time_metadata(release: tuple[Path, Path, str]) -> None:
    out, _, _ = release
    metadata = loaded(out / "template.yaml")["Metadata"][APPLICATION]
    assert metadata["SourceCodeUrl"] == SOURCE_CODE_URL
    assert metadata["HomePageUrl"] == SOURCE_CODE_URL  # no HOME_PAGE_URL: the source is the home page
    assert metadata["Author"] == AUTHOR
    assert metadata["SemanticVersion"] == version()
    assert metadata_problems(metadata, base=out) == []
    # Everything else is template.yaml's.
    for key, value in template_metadata().items():
        if key not in {"Author", "LicenseUrl", "ReadmeUrl"}:
            assert metadata[key] == value, key


@pytest.mark.timeout(900)
def test_every_file_the_release_template_names_is_beside_it(release: tuple[Path, Path, str]) -> None:
    out, _, _ = release
    template = loaded(out / "template.yaml")
    paths = local_paths(template)
    assert paths == [
        f"spacelift-cfn-{version()}-function.zip",
        f"spacelift-cfn-{version()}-layer.zip",
        "LICENSE",
        "README.md",
    ]
    for name in paths:
        assert (out / name).is_file(), name
    assert (out / "README.md").read_text() == (ROOT / "README.md").read_text()
    with zipfile.ZipFile(out / paths[0]) as function:
        assert "app.py" in function.namelist()
    with zipfile.ZipFile(out / paths[1]) as layer:
        assert any(name.startswith("python/aws_lambda_powertools/") for name in layer.namelist())


@pytest.mark.timeout(900)
def test_the_release_prints_the_one_publish_command(release: tuple[Path, Path, str]) -> None:
    out, _, stdout = release
    last = stdout.strip().splitlines()[-1]
    assert last == publish_command(out)
    package, publish = last.split(" && ")
    assert shlex.split(publish) == [
        "sam",
        "publish",
        "--template",
        str(out / "packaged.yaml"),
        "--region",
        "<region>",
    ]
    assert shlex.split(package)[:2] == ["sam", "package"]


@pytest.mark.timeout(900)
def test_the_printed_command_packages_what_sam_publish_takes(
    release: tuple[Path, Path, str], moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _, stdout = release
    environment = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="acme-sar-artifacts")

    package = stdout.strip().splitlines()[-1].split(" && ")[0]
    args = [
        arg.replace("<bucket>", "acme-sar-artifacts").replace("<region>", REGION)
        for arg in shlex.split(package)
    ]
    result = subprocess.run(
        [str(VENV_BIN / "sam"), *args[1:]],
        cwd=ROOT,
        env={**os.environ, **environment, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    packaged = loaded(out / "packaged.yaml")
    uris = local_paths(packaged)
    assert all(uri.startswith("s3://acme-sar-artifacts/") for uri in uris), uris
    for uri in uris:
        s3.head_object(Bucket="acme-sar-artifacts", Key=uri.split("/", 3)[3])
    metadata = packaged["Metadata"][APPLICATION]
    assert metadata_problems(metadata, base=out, packaged=True) == []

    # The SAM CLI's own publishing code on the packaged template: the request it sends.
    client = boto3.client("serverlessrepo", region_name=REGION)
    application_id = f"arn:aws:serverlessrepo:{REGION}:123456789012:applications/spacelift-cfn"
    expected = {
        "Author": AUTHOR,
        "Description": metadata["Description"],
        "HomePageUrl": SOURCE_CODE_URL,
        "Labels": metadata["Labels"],
        "LicenseUrl": metadata["LicenseUrl"],
        "Name": "spacelift-cfn",
        "ReadmeUrl": metadata["ReadmeUrl"],
        "SemanticVersion": version(),
        "SourceCodeUrl": SOURCE_CODE_URL,
        "SpdxLicenseId": "Apache-2.0",
        "TemplateBody": ANY,
    }
    with Stubber(client) as stub:
        stub.add_response("create_application", {"ApplicationId": application_id}, expected)
        published = publish_application((out / "packaged.yaml").read_text(), sar_client=client)
        stub.assert_no_pending_responses()
    assert published["application_id"] == application_id
    assert published["actions"] == ["CREATE_APPLICATION"]


@pytest.mark.timeout(900)
def test_the_release_refuses_metadata_the_repository_would_refuse(
    release: tuple[Path, Path, str], tmp_path: Path
) -> None:
    _, build, _ = release
    with pytest.raises(
        SystemExit, match=r"(?s)Author must be lower-case letters.*SourceCodeUrl must be an https"
    ):
        write_release(
            build, tmp_path, "spacelift-cfn-x", author="Acme Platform", source_code_url="git@host:x.git"
        )
    assert not (tmp_path / "template.yaml").exists()


@pytest.mark.timeout(900)
def test_without_release_time_values_the_release_invents_none(
    release: tuple[Path, Path, str], tmp_path: Path
) -> None:
    _, build, _ = release
    (tmp_path / "bare").mkdir()
    bare = write_release(build, tmp_path / "bare", "spacelift-cfn-x")
    assert not {"SourceCodeUrl", "HomePageUrl"} & bare["Metadata"][APPLICATION].keys()
    assert bare["Metadata"][APPLICATION]["Author"] == template_metadata()["Author"]
    (tmp_path / "home").mkdir()
    home = write_release(
        build, tmp_path / "home", "spacelift-cfn-x", home_page_url="https://example.com/docs"
    )
    assert home["Metadata"][APPLICATION]["HomePageUrl"] == "https://example.com/docs"
    assert "SourceCodeUrl" not in home["Metadata"][APPLICATION]


def test_make_release_passes_the_release_time_values() -> None:
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-n",
            "release",
            f"SOURCE_CODE_URL={SOURCE_CODE_URL}",
            "AUTHOR=acme-platform",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    (line,) = [line for line in result.stdout.splitlines() if "scripts/release.sh" in line]
    args = shlex.split(line)
    assert args[args.index("--source-code-url") + 1] == SOURCE_CODE_URL
    assert args[args.index("--author") + 1] == "acme-platform"
    assert args[args.index("--home-page-url") + 1] == ""


# ------------------------------------------------------------------ README: Deploy


def deploy_section() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_deploys_in_three_ways_start_to_end() -> None:
    section = deploy_section()
    steps = re.findall(r"^### (\d)\. ", section, re.MULTILINE)
    assert steps == ["1", "2", "3", "4"]
    # The secret first, then: the repository (console, CLI, nested), a build with Python 3.13,
    # a build in a container.
    for needed in (
        "aws secretsmanager create-secret",
        "aws serverlessrepo create-cloud-formation-change-set",
        "Type: AWS::Serverless::Application",
        "examples/nested-application.yaml",
        "sam build && sam deploy --guided",
        "python3.13",
        "sam build --use-container",
    ):
        assert needed in section, needed
    assert f"SemanticVersion: {version()}" in section
    assert f"--semantic-version {version()}" in section


def test_the_readme_lists_every_parameter_and_every_way_to_the_service_token() -> None:
    section = deploy_section()
    rows = re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE)
    parameters = cfn_yaml.load(str(TEMPLATE))["Parameters"]
    assert sorted(rows) == sorted(parameters)
    for form in (
        "!ImportValue spacelift-cfn-ServiceToken",
        "!Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:spacelift-cfn-provider",
        "!GetAtt SpaceliftCfn.Outputs.ServiceToken",
    ):
        assert form in section, form
    # The function name the no-import form spells is template.yaml's default.
    assert parameters["FunctionName"]["Default"] == "spacelift-cfn-provider"


# ------------------------------------------------------------ nested application example


@pytest.mark.timeout(300)
def test_the_nested_application_example_passes_cfn_lint() -> None:
    result = subprocess.run(
        [str(VENV_BIN / "cfn-lint"), str(NESTED_EXAMPLE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_nested_application_example_deploys_this_version_with_its_parameters() -> None:
    example = cfn_yaml.load(str(NESTED_EXAMPLE))
    application = example["Resources"]["SpaceliftCfn"]["Properties"]
    assert application["Location"]["SemanticVersion"] == version()
    parameters = cfn_yaml.load(str(TEMPLATE))["Parameters"]
    required = {name for name, spec in parameters.items() if "Default" not in spec}
    assert required <= application["Parameters"].keys() <= parameters.keys()
    for resource in example["Resources"].values():
        if resource["Type"].startswith("Custom::Spacelift"):
            assert resource["Properties"]["ServiceToken"] == {
                "Fn::GetAtt": ["SpaceliftCfn", "Outputs.ServiceToken"]
            }
