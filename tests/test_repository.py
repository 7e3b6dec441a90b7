"""The repository stands alone, and the one dependency held by its private parts says so when it
changes."""

from __future__ import annotations

import inspect
import re
import subprocess
from pathlib import Path

import crhelper
import crhelper.resource_helper

from spacelift_cfn.responder import Responder

ROOT = Path(__file__).parent.parent
#: Pointers a clone cannot follow: this machine's paths, research notes kept outside, issue numbers
#: of the project's own tracker. Public sources (a repository and its issue) are fine.
#: (Each word is spelled with a character class, so that this line does not match itself.)
OUTSIDE = re.compile(r"/w[o]rk/|\.\./sh[a]red|r[e]ference §|the r[e]ference's|\bi[s]sues? [0-9]")
#: The crhelper version the Responder is tested with (layers/deps/requirements.txt pins it).
CRHELPER_VERSION = "2.0.12"
#: crhelper's methods the Responder overrides, with the parameters crhelper calls them with.
OVERRIDDEN = {
    "_log_setup": ["self", "event", "context"],
    "_set_timeout": ["self"],
    "_wait_for_cwlogs": ["self", "sleep"],
    "_poll_enabled": ["self"],
    "_get_func": ["self"],
    "_cfn_response": ["self", "event"],
    "_send": ["self", "status", "reason", "send_response"],
}
#: What crhelper's request skeleton must still do for the overrides to take effect.
SKELETON = ("self._log_setup(", "self._crhelper_init(", "self._poll_enabled()", "self._cfn_response(")


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listed.stdout.splitlines() if not name.endswith("package-lock.json")]


def test_nothing_points_outside_the_repository() -> None:
    found = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        found += [
            f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}"
            for number, line in enumerate(text.splitlines(), 1)
            if OUTSIDE.search(line)
        ]
    assert not found, "point inside the repository instead (docs/…):\n" + "\n".join(found)


def test_crhelper_is_the_version_the_responder_was_written_against() -> None:
    requirements = (ROOT / "layers" / "deps" / "requirements.txt").read_text()
    assert f"crhelper=={CRHELPER_VERSION}" in requirements
    installed = getattr(crhelper, "__version__", None) or _distribution_version()
    assert installed == CRHELPER_VERSION, (
        f"crhelper {installed} is installed; the Responder overrides private methods of "
        f"{CRHELPER_VERSION}: check each of {sorted(OVERRIDDEN)} before moving the pin"
    )


def test_the_private_methods_the_responder_overrides_are_still_there() -> None:
    base = crhelper.resource_helper.CfnResource
    for name, parameters in OVERRIDDEN.items():
        method = getattr(base, name, None)
        assert method is not None, f"crhelper no longer has CfnResource.{name}, which Responder overrides"
        assert list(inspect.signature(method).parameters) == parameters, (
            f"crhelper changed CfnResource.{name}{inspect.signature(method)}; Responder expects {parameters}"
        )
        assert name in vars(Responder), f"Responder no longer overrides {name}"
    skeleton = inspect.getsource(base.__call__)
    missing = [call for call in SKELETON if call not in skeleton]
    assert not missing, (
        f"crhelper's CfnResource.__call__ no longer calls {missing}; the Responder relies on it"
    )


def _distribution_version() -> str:
    from importlib.metadata import version

    return version("crhelper")


#: What the root shows: the SAM application's own layout, its docs and examples, the CDK package,
#: and one home for the test and demo tooling.
ROOT_FOLDERS = {"src", "layers", "events", "tests", "docs", "examples", "cdk", "scripts", "harness"}


def top_level_folders() -> set[str]:
    return {
        path.relative_to(ROOT).parts[0] for path in tracked_files() if len(path.relative_to(ROOT).parts) > 1
    }


def test_the_root_shows_the_product() -> None:
    folders = {name for name in top_level_folders() if not name.startswith(".")}
    assert folders == ROOT_FOLDERS, "keep test and demo tooling under harness/"
    for file in ("template.yaml", "samconfig.toml", "README.md", "CONTRIBUTING.md"):
        assert (ROOT / file).is_file()


def test_the_readme_map_names_every_top_level_folder() -> None:
    readme = (ROOT / "README.md").read_text()
    file_map = readme.split("## How it works", 1)[1].split("```")[1]
    missing = sorted(f for f in ROOT_FOLDERS if not re.search(rf"(^|\s){f}/", file_map, re.MULTILINE))
    assert not missing, f"the README's file map does not name {missing}"


def test_contributing_points_at_files_that_exist() -> None:
    """The recipes name the files to touch and the tests that guard them: each must exist."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    named = set(re.findall(r"`([\w.-]+(?:/[\w.*-]+)+)`", text))
    missing = sorted(path for path in named if not list(ROOT.glob(path)))
    assert len(named) > 15 and not missing, f"CONTRIBUTING.md names files that do not exist: {missing}"
