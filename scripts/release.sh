#!/usr/bin/env bash
# Prepares a release's artefacts locally, without AWS, in dist/spacelift-cfn-<version>/:
#
#   template.yaml                        the built SAM template, its CodeUri/ContentUri pointing
#                                        at the two zips beside it (and LICENSE, README.md)
#   spacelift-cfn-<version>-function.zip the function (sam build's ProviderFunction)
#   spacelift-cfn-<version>-layer.zip    the dependencies layer (python/ at the zip's root)
#   stacksets/                           examples/stacksets/*.yaml, for organisations
#   spacelift_cfn_cdk-<version>-*.whl    the CDK construct library (cdk/)
#   SHA256SUMS
#
# Nothing is uploaded. Publishing is a separate, deliberate step with AWS credentials:
#   sam package --template-file dist/spacelift-cfn-<version>/template.yaml \
#     --s3-bucket <bucket> --output-template-file packaged.yaml
# uploads the zips and writes their s3:// locations (sam deploy --template-file packaged.yaml
# then deploys it); for StackSets, copy the zips and stacksets/provider-stackset.yaml to the
# artifact buckets as docs/organizations.md describes.
#
# The version is template.yaml's Metadata.AWS::ServerlessRepo::Application.SemanticVersion;
# CHANGELOG.md must have a "## [<version>]" section and cdk/pyproject.toml the same version.
# Zips are reproducible: sorted entries, fixed timestamps, so equal builds give equal hashes.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
VENV_BIN=$ROOT/.venv/bin
PY=$VENV_BIN/python
# sam build's Makefiles need python3.13 on PATH: the virtual environment provides it.
export PATH="$VENV_BIN:$PATH"
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}

die() { echo "release: $*" >&2; exit 1; }

[[ -x $PY && -x $VENV_BIN/sam ]] || die ".venv with aws-sam-cli is missing: run 'make venv' first"

VERSION=$("$PY" - <<'EOF'
from cfnlint.decode import cfn_yaml
print(cfn_yaml.load("template.yaml")["Metadata"]["AWS::ServerlessRepo::Application"]["SemanticVersion"])
EOF
)
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+([.+-][0-9A-Za-z.+-]+)?$ ]] || die "template.yaml's SemanticVersion '$VERSION' is not a version"
[[ -f CHANGELOG.md ]] || die "CHANGELOG.md is missing"
grep -Eq "^## \[${VERSION//./\\.}\]" CHANGELOG.md \
    || die "CHANGELOG.md has no '## [$VERSION]' section: describe the release there first"

NAME=spacelift-cfn-$VERSION
OUT=dist/$NAME
START=$SECONDS
echo "release: $NAME"
rm -rf "$OUT"
mkdir -p "$OUT"

# ----------------------------------------------------------------------------- SAM build
# A build directory of its own: a concurrent `make build` cannot change what is zipped.
BUILD=.aws-sam/release/build
echo "release: sam build --build-dir $BUILD"
rm -rf "$BUILD"
"$VENV_BIN/sam" build --build-dir "$BUILD"
[[ -f $BUILD/ProviderFunction/app.py && -d $BUILD/DependenciesLayer/python ]] \
    || die "sam build did not produce ProviderFunction/ and DependenciesLayer/python/"

# -------------------------------------------------------------------- zips and template
FUNCTION_ZIP=$NAME-function.zip
LAYER_ZIP=$NAME-layer.zip
"$PY" - "$BUILD" "$OUT" "$FUNCTION_ZIP" "$LAYER_ZIP" <<'EOF'
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path

build, out, function_zip, layer_zip = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]


def zip_dir(source: Path, target: Path) -> None:
    """A reproducible zip of source's contents: sorted, fixed times, modes kept."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


zip_dir(build / "ProviderFunction", out / function_zip)
zip_dir(build / "DependenciesLayer", out / layer_zip)

# sam package uploads a local .zip as it is: point the built template at the zips.
text = (build / "template.yaml").read_text()
for key, directory, archive in (
    ("CodeUri", "ProviderFunction", function_zip),
    ("ContentUri", "DependenciesLayer", layer_zip),
):
    text, count = re.subn(rf"^(\s+{key}:) {directory}\s*$", rf"\1 {archive}", text, flags=re.MULTILINE)
    if count != 1:
        sys.exit(f"release: expected one '{key}: {directory}' in the built template, found {count}")

# The Serverless Application Repository metadata names LICENSE and README.md relative to the
# build directory: ship them in the release directory, so that it stands on its own.
def beside(match: re.Match[str]) -> str:
    source = (build / match.group(2)).resolve()
    if not source.is_file():
        sys.exit(f"release: {match.group(1).strip()} {match.group(2)} does not exist")
    shutil.copyfile(source, out / source.name)
    return f"{match.group(1)} {source.name}"


text = re.sub(r"^(\s+(?:LicenseUrl|ReadmeUrl):) (?!s3://|https?://)(\S+)\s*$", beside, text, flags=re.MULTILINE)
(out / "template.yaml").write_text(text)
EOF

mkdir -p "$OUT/stacksets"
cp examples/stacksets/*.yaml "$OUT/stacksets/"

# ----------------------------------------------------------------------- CDK wheel
if [[ -f cdk/pyproject.toml ]]; then
    CDK_VERSION=$("$PY" -c 'import tomllib; print(tomllib.load(open("cdk/pyproject.toml", "rb"))["project"]["version"])')
    [[ $CDK_VERSION == "$VERSION" ]] \
        || die "cdk/pyproject.toml has version $CDK_VERSION, template.yaml $VERSION: release them together"
    echo "release: CDK construct library wheel"
    # Built from a copy: an in-tree build leaves build/ and *.egg-info in cdk/.
    SCRATCH=$(mktemp -d)
    trap 'rm -rf "$SCRATCH"' EXIT
    cp -R cdk/. "$SCRATCH/cdk"
    rm -rf "$SCRATCH/cdk/build" "$SCRATCH/cdk"/src/*.egg-info
    "$PY" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$OUT" "$SCRATCH/cdk"
else
    echo "release: cdk/pyproject.toml not found: no CDK wheel in this release" >&2
fi

# ----------------------------------------------------------------------------- summary
(
    cd "$OUT"
    find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS
)
echo
echo "release: $OUT ($((SECONDS - START)) s)"
(cd "$OUT" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | while read -r file; do
    printf '  %-44s %10s bytes\n' "$file" "$(wc -c < "$file" | tr -d ' ')"
done)
cat <<EOF

Next (with AWS credentials; nothing was uploaded):
  SAM:       sam package --template-file $OUT/template.yaml --s3-bucket <bucket> \\
               --output-template-file packaged.yaml && sam deploy --template-file packaged.yaml --guided
  StackSets: copy $FUNCTION_ZIP, $LAYER_ZIP and stacksets/provider-stackset.yaml to
             s3://<prefix>-<region>/spacelift-cfn/$VERSION/ (docs/organizations.md)
EOF
