"""The README's examples of output are what a run on sample_photos/ prints today."""

from __future__ import annotations

import contextlib
import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, SAMPLE_PHOTOS

import gallerypipe.cli
import gallerypipe.pipeline
from gallerypipe.cli import main, summary
from gallerypipe.pipeline import IngestReport
from gallerypipe.settings import SETTINGS

README = (REPO / "README.md").read_text(encoding="utf-8")
VARIABLES = ["GALLERYPIPE_CONFIG", *(s.envvar for s in SETTINGS.values() if s.envvar)]


def block(after: str, lang: str) -> str:
    """The first ```lang block after the text `after`."""
    start = README.index(after)
    return re.search(rf"```{lang}\n(.*?)```", README[start:], re.S)[1]


def first_command() -> list[str]:
    """`gallerypipe ingest …` from the README's first command line (after the virtualenv)."""
    line = re.search(r"^    python3 -m venv \.venv && .* && (gallerypipe ingest .*)$", README, re.M)
    assert line, "the first command makes a virtualenv, installs, then runs ingest"
    return shlex.split(line[1])[1:]


def run(folder: Path, *args: str) -> str:
    """A command as a user runs it in folder (sample_photos/ there), its stdout; exit 0."""
    with contextlib.chdir(folder):
        result = CliRunner(env=dict.fromkeys(VARIABLES)).invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def sample_folder(root: Path) -> Path:
    root.mkdir()
    (root / "sample_photos").symlink_to(SAMPLE_PHOTOS)
    return root


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> tuple[Path, IngestReport, str]:
    """The first command run once with --json (in this process; --jobs 1 prints the same)."""
    folder = sample_folder(tmp_path_factory.mktemp("readme") / "sample")
    reports: list[IngestReport] = []

    def recorded(*args, **kwargs) -> IngestReport:
        reports.append(gallerypipe.pipeline.ingest(*args, **kwargs))
        return reports[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gallerypipe.cli, "ingest", recorded)
        cache = str(folder / "cache.sqlite")
        printed = run(folder, *first_command(), "--json", "--jobs", "1", "--cache", cache)
    return folder, reports[0], printed


def shown(printed: object, example: object) -> object:
    """What the README shows of printed: a list in the example that ends in "…" shows only its
    first items."""
    if isinstance(example, dict) and isinstance(printed, dict):
        return {k: shown(v, example.get(k)) for k, v in printed.items()}
    if isinstance(example, list) and isinstance(printed, list) and example[-1:] == ["…"]:
        return [*printed[: len(example) - 1], "…"]
    return printed


def test_the_first_command_prints_the_readme_json_and_summary(first_run) -> None:
    _, report, printed = first_run
    example = json.loads(block("### `--json` output of `ingest`", "json"))
    assert shown(json.loads(printed), example) == example
    assert summary(report) + "\n" == block("It ends with this summary", "text")  # without --json


def test_the_bundle_resources_and_placeholder_are_the_readmes(first_run) -> None:
    folder, _, _ = first_run
    index = (folder / "site/content/stories/sample/index.md").read_text(encoding="utf-8")
    assert block("The body gets", "yaml") in index
    manifest = json.loads((folder / "published/manifest.json").read_text(encoding="utf-8"))
    placeholder = json.loads("{" + block("A photo's `placeholder`", "json") + "}")
    assert placeholder["placeholder"] == manifest["photos"][0]["placeholder"]


def test_verify_and_prune_print_the_readme_lines(first_run) -> None:
    folder, _, _ = first_run
    verified = run(folder, "verify", "--store", "published").strip()
    assert verified.endswith("objects checked, all match")
    assert f"`{verified}`" in README
    prune = " ".join(run(folder, "prune", "--store", "published").split())
    assert f"`{prune}`" in " ".join(README.split())


def test_dedup_json_is_the_readmes(tmp_path) -> None:
    printed = run(sample_folder(tmp_path / "dedup"), "dedup", "sample_photos", "--json")
    assert json.loads(printed) == json.loads(block("### `--json` output of `dedup`", "json"))
