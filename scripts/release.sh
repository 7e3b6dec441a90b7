#!/usr/bin/env bash
# Prepares a release's artefacts locally, without AWS, in <out>/spacelift-cfn-<version>/
# (<out> is dist/ unless --out says otherwise):
#
#   template.yaml                        the built SAM template: CodeUri/ContentUri name the two
#                                        zips beside it, LicenseUrl/ReadmeUrl the LICENSE and
#                                        README.md beside it. This is what `sam package` takes.
#   spacelift-cfn-<version>-function.zip the function (sam build's ProviderFunction)
#   spacelift-cfn-<version>-layer.zip    the dependencies layer (python/ at the zip's root)
#   LICENSE, README.md
#   stacksets/                           examples/stacksets/*.yaml, for organisations
#   spacelift_cfn_cdk-<version>-*.whl    the CDK construct library (cdk/, make cdk): Python wheel
#   spacelift-cfn-cdk@<version>.jsii.tgz and npm package
#   SHA256SUMS
#
#   bash scripts/release.sh [--source-code-url URL] [--home-page-url URL] [--author NAME]
#                           [--out DIR] [--build-dir DIR]
#
# The Serverless Application Repository metadata in template.yaml holds only what is true before
# publishing. The source's public URL and the publisher's name exist at release time, so they are
# arguments (`make release SOURCE_CODE_URL=... AUTHOR=...`). They are written into the release's
# template and checked against the repository's published rules (scripts/release.py,
# docs/releasing.md).
#
# Nothing is uploaded. The last line printed is the one command that publishes, with AWS
# credentials: `sam package` uploads the zips, LICENSE and README.md and writes packaged.yaml
# with their s3:// URIs, and `sam publish` sends packaged.yaml to the Serverless Application
# Repository. For StackSets, copy the zips and stacksets/provider-stackset.yaml to the artifact
# buckets as docs/organizations.md describes.
#
# The version is template.yaml's Metadata.AWS::ServerlessRepo::Application.SemanticVersion;
# CHANGELOG.md must have a "## [<version>]" section and cdk/package.json the same version.
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

DIST=dist
BUILD=.aws-sam/release/build
SOURCE_CODE_URL=  # the public repository, when there is one (also for the CDK package's metadata)
METADATA_ARGS=()
while (($#)); do
    [[ $# -ge 2 ]] || die "$1 needs a value"
    case $1 in
        # An empty value means "not given": the Makefile passes every variable, set or not.
        --source-code-url | --home-page-url | --author)
            [[ -z $2 ]] || METADATA_ARGS+=("$1" "$2")
            [[ $1 != --source-code-url ]] || SOURCE_CODE_URL=$2
            ;;
        --out) DIST=$2 ;;
        --build-dir) BUILD=$2 ;;
        *) die "unknown argument $1 (see the top of scripts/release.sh)" ;;
    esac
    shift 2
done

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
# Before building: a value the repository would refuse fails here, not at publishing time.
"$PY" scripts/release.py check template.yaml || die "template.yaml's metadata breaks the published rules"

NAME=spacelift-cfn-$VERSION
OUT=$DIST/$NAME
START=$SECONDS
echo "release: $NAME"
rm -rf "$OUT"
mkdir -p "$OUT"

# ----------------------------------------------------------------------------- SAM build
# A build directory of its own: a concurrent `make build` cannot change what is zipped.
echo "release: sam build --build-dir $BUILD"
rm -rf "$BUILD"
"$VENV_BIN/sam" build --build-dir "$BUILD"
[[ -f $BUILD/ProviderFunction/app.py && -d $BUILD/DependenciesLayer/python ]] \
    || die "sam build did not produce ProviderFunction/ and DependenciesLayer/python/"

# -------------------------------------------------------------------- zips and template
# The zips, LICENSE and README.md beside a template that names them, with the release-time
# metadata; refused if the metadata breaks the Serverless Application Repository's rules.
"$PY" scripts/release.py template "$BUILD" "$OUT" "$NAME" ${METADATA_ARGS[@]+"${METADATA_ARGS[@]}"}
FUNCTION_ZIP=$NAME-function.zip
LAYER_ZIP=$NAME-layer.zip

mkdir -p "$OUT/stacksets"
cp examples/stacksets/*.yaml "$OUT/stacksets/"

# ----------------------------------------------------------- CDK construct library
CDK_VERSION=$("$PY" -c 'import json; print(json.load(open("cdk/package.json"))["version"])')
[[ $CDK_VERSION == "$VERSION" ]] \
    || die "cdk/package.json has version $CDK_VERSION, template.yaml $VERSION: release them together"
# The packages name the source's repository: this release's --source-code-url when given, else
# what `make cdk` finds (cdk/README.md, "Repository URL"). Compiled and packed in directories of
# their own (the function and layer `make cdk` built are reused), so the working tree's build keeps
# its URL and is not rebuilt after a release.
CDK_BUILD="${BUILD%/}-cdk"
CDK_MAKE_ARGS=("CDK_BUILD=$CDK_BUILD" "CDK_DIST=$CDK_BUILD/dist")
[[ -z $SOURCE_CODE_URL ]] || CDK_MAKE_ARGS+=("CDK_REPOSITORY_URL=$SOURCE_CODE_URL")
echo "release: CDK construct library (make cdk: npm package and Python wheel)"
make --no-print-directory cdk "${CDK_MAKE_ARGS[@]}"
cp "$CDK_BUILD/dist/python/spacelift_cfn_cdk-$CDK_VERSION-py3-none-any.whl" \
    "$CDK_BUILD/dist/js/spacelift-cfn-cdk@$CDK_VERSION.jsii.tgz" "$OUT/"

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
if [[ -z $SOURCE_CODE_URL ]]; then
    echo
    echo "release: no SOURCE_CODE_URL: the application can be published and shared privately;" >&2
    echo "         a public one needs the source's public URL (make release SOURCE_CODE_URL=...)." >&2
fi
cat <<EOF

StackSets: copy $FUNCTION_ZIP, $LAYER_ZIP and stacksets/provider-stackset.yaml to
           s3://<prefix>-<region>/spacelift-cfn/$VERSION/ (docs/organizations.md)
Serverless Application Repository: with AWS credentials, and a bucket that lets
serverlessrepo.amazonaws.com read it (docs/releasing.md), this one command publishes:
EOF
"$PY" scripts/release.py publish-command "$OUT"
