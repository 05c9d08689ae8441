"""One settings model: the command line, GALLERYPIPE_* and gallerypipe.toml reach ingest and sync
alike, and every bad value is a usage error (exit 2, one line naming it) before any work."""

from __future__ import annotations

import re
import shutil
import tomllib
from dataclasses import fields, replace
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from conftest import REPO, SAMPLE_PHOTOS

import gallerypipe.cli
import gallerypipe.sync
from gallerypipe.cli import main
from gallerypipe.clock import ClockOffset
from gallerypipe.pipeline import IngestOptions
from gallerypipe.settings import SETTINGS

README = (REPO / "README.md").read_text(encoding="utf-8")
VARIABLES = ["GALLERYPIPE_CONFIG", *(s.envvar for s in SETTINGS.values() if s.envvar)]
README_TOML = re.findall(r"```toml\n(.*?)```", README, re.S)


class Stop(Exception):
    """Raised by the spy instead of ingesting, where only the options matter."""


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[IngestOptions]:
    """The IngestOptions that `ingest` and `sync` hand to the pipeline; nothing is ingested."""
    options: list[IngestOptions] = []

    def spy(given: IngestOptions, progress=None):
        options.append(given)
        raise Stop

    monkeypatch.setattr(gallerypipe.cli, "ingest", spy)
    monkeypatch.setattr(gallerypipe.sync, "ingest", spy)
    return options


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with one small card, the current directory of the test."""
    shutil.copytree(SAMPLE_PHOTOS / "phone", tmp_path / "cards/phone")
    monkeypatch.chdir(tmp_path)
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def usage_error(result: Result) -> str:
    """The one `Error:` line of a usage error; asserts exit 2 and no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def file_error(result: Result) -> str:
    """A settings file's error: exit 2 and that one line alone on stderr, nothing on stdout."""
    line = usage_error(result)
    assert (result.stderr, result.stdout) == (line + "\n", "")
    return line


EVENT = '\n[[events]]\nname = "phone"\nsources = ["cards/phone"]\nbundle = "site/phone"\n'


def ingest_and_sync(config: str, library: Path, seen: list) -> tuple[IngestOptions, IngestOptions]:
    """The options ingest and sync take from one settings file (events added where none)."""
    (library / "gallerypipe.toml").write_text(config + ("" if "[[events]]" in config else EVENT))
    result = run("ingest", "cards/phone", "--bundle", "site/phone")
    assert isinstance(result.exception, Stop), result.output
    result = run("sync")
    assert isinstance(result.exception, Stop), result.output
    return seen[0], seen[1]


SHARED = [f.name for f in fields(IngestOptions) if f.name not in ("sources", "bundle", "store")]


def same_settings(a: IngestOptions, b: IngestOptions) -> None:
    """Everything but the per-event fields (sync's cache is its state file)."""
    assert replace(a, cache=None) == replace(
        b, sources=a.sources, bundle=a.bundle, store=a.store, cache=None
    )


# ---- the README's examples ----


def test_the_readme_has_toml_examples() -> None:
    assert len(README_TOML) >= 2
    for text in README_TOML:
        tomllib.loads(text)


@pytest.mark.parametrize("example", README_TOML, ids=lambda t: t.splitlines()[0])
def test_every_readme_toml_example_works_for_ingest_and_sync(example, library, seen) -> None:
    config = re.sub(r'^url = ".*"', 'url = "published"', example, flags=re.M)
    for source in re.findall(r'"(cards/[^"]+)"', config):  # the example's cards
        if not (library / source).exists():
            shutil.copytree(SAMPLE_PHOTOS / "phone", library / source)
    by_ingest, by_sync = ingest_and_sync(config, library, seen)
    same_settings(by_ingest, by_sync)
    table = tomllib.loads(example)
    ingest = table.get("ingest", {})
    assert by_ingest.threshold == ingest.get("threshold", 8)
    wanted = [ClockOffset(camera, s) for camera, s in table.get("clock_offsets", {}).items()]
    wanted += [ClockOffset(*spec.split("=")) for spec in ingest.get("clock_offset", [])]
    assert [(o.camera, o.seconds) for o in by_sync.clock_offsets] == [
        (o.camera, float(o.seconds)) for o in wanted
    ]
    assert by_ingest.store_options.endpoint_url == table["store"].get("endpoint_url")


def test_a_readme_example_really_publishes_with_ingest_and_sync(library) -> None:
    """The first example end to end (a local store): offsets from both tables are applied."""
    config = re.sub(r'^url = ".*"', 'url = "published"', README_TOML[0], flags=re.M)
    (library / "gallerypipe.toml").write_text(config + EVENT)
    result = run("ingest", "cards/phone", "--bundle", "b", "--no-cache", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert (library / "published/manifest.json").is_file()
    result = run("sync", "--json")
    assert result.exit_code == 0, result.output
    assert (library / "published/phone/manifest.json").is_file()


# ---- the cases of issue 17 ----


def test_clock_offset_in_ingest_and_the_clock_offsets_table_reach_sync(library, seen) -> None:
    config = '[ingest]\nclock_offset = ["NIKON D750=+3600"]\n[clock_offsets]\n"Canon" = -65\n'
    by_ingest, by_sync = ingest_and_sync(config, library, seen)
    wanted = (ClockOffset("Canon", -65.0), ClockOffset("NIKON D750", 3600.0))
    assert by_ingest.clock_offsets == by_sync.clock_offsets == wanted


@pytest.mark.parametrize("given", ['"2048,1024"', "[2048, 1024]", '["2048", "1024"]'])
def test_sizes_as_text_or_a_list_for_ingest_and_sync(given, library, seen) -> None:
    by_ingest, by_sync = ingest_and_sync(f"[ingest]\nsizes = {given}\n", library, seen)
    assert by_ingest.render.sizes == by_sync.render.sizes == (2048, 1024)


@pytest.mark.parametrize("given", ['"jpeg, webp"', '["jpeg", "webp"]'])
def test_formats_as_text_or_a_list(given, library, seen) -> None:
    by_ingest, by_sync = ingest_and_sync(f"[ingest]\nformats = {given}\n", library, seen)
    assert by_ingest.render.formats == by_sync.render.formats == ("jpeg", "webp")


BAD_FILE_VALUES = [
    ("jobs", '"abc"', "whole number"),
    ("jobs", "-1", "whole number"),
    ("threshold", "65", "from 0 to 64"),
    ("sizes", '"2048,abc"', "long edges"),
    ("sizes", "[0]", "long edges"),
    ("sizes", '"1024,1024"', "each size once"),
    ("quality", "0", "from 1 to 100"),
    ("webp_quality", "101", "from 1 to 100"),
    ("avif-quality", '"high"', "from 1 to 100"),
    ("formats", '"webp"', "jpeg plus"),
    ("title_template", '"{foo}"', "unknown field {foo}"),
    ("clock_offset", '["NIKON"]', "CAMERA=±SECONDS"),
    ("clock_offset", '["NIKON=+99999999999"]', "more than 100 years"),
    ("keep_all", '"perhaps"', "true or false"),
    ("executor", '"localhost:8786"', "dask://HOST:PORT"),
    ("treshold", "6", "unknown setting"),
    ("endpoint_url", '"http://x"', "belongs in [store]"),
]


@pytest.mark.parametrize(("key", "value", "says"), BAD_FILE_VALUES)
@pytest.mark.parametrize("command", ["ingest", "sync"])
def test_a_bad_ingest_setting_stops_ingest_and_sync_before_any_work(
    command, key, value, says, library, seen
) -> None:
    (library / "gallerypipe.toml").write_text(f"[ingest]\n{key} = {value}\n{EVENT}")
    args = ["ingest", "cards/phone", "--bundle", "b"] if command == "ingest" else ["sync"]
    line = file_error(run(*args))
    assert f"gallerypipe.toml: [ingest] {key}: " in line and says in line
    assert not seen and sorted(p.name for p in library.iterdir()) == ["cards", "gallerypipe.toml"]


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('[clock_offsets]\n"NIKON" = "an hour"\n', "[clock_offsets] 'NIKON': give seconds"),
        ('[clock_offsets]\n"NIKON" = 1e12\n', "more than 100 years"),
        ("[store]\ntransfers = 0\n", "[store] transfers: expected a whole number of at least 1"),
        ('[store]\nendpoint_url = "127.0.0.1:7480"\n', "[store] endpoint_url: expected an http"),
        ("[sync]\nlock_timeout = -1\n", "[sync] lock_timeout"),
        ("[ingset]\nthreshold = 6\n", "[ingset]: no such table"),
        ("[verify]\nthreshold = 6\n", "`gallerypipe verify` has no such setting"),
        ("threshold = 6\n", "expected a table of settings"),
    ],
)
def test_a_bad_table_is_named(table, says, library, seen) -> None:
    (library / "gallerypipe.toml").write_text(table + EVENT)
    for args in (["ingest", "cards/phone", "--bundle", "b"], ["sync"], ["verify"]):
        assert says in file_error(run(*args))
    assert not seen


BAD_OPTIONS = [
    ("--title-template", "{foo}", "unknown field {foo}"),
    ("--title-template", "{}", "name each field"),
    ("--title-template", "{n:x", "not a valid template"),
    ("--title-template", "{event:d}", "not a valid template"),
    ("--sizes", "abc", "long edges"),
    ("--sizes", "2048,-1", "long edges"),
    ("--quality", "0", "from 1 to 100"),
    ("--quality", "101", "from 1 to 100"),
    ("--webp-quality", "0", "from 1 to 100"),
    ("--avif-quality", "x", "from 1 to 100"),
    ("--jobs", "abc", "whole number"),
    ("--jobs", "-2", "whole number"),
    ("--threshold", "99", "from 0 to 64"),
    ("--min-rating", "6", "from 0 to 5"),
    ("--clock-offset", "NIKON", "CAMERA=±SECONDS"),
    ("--clock-offset", "NIKON=+1h", "CAMERA=±SECONDS"),
    ("--clock-offset", "NIKON=1e20", "CAMERA=±SECONDS"),
    ("--clock-offset", "NIKON=99999999999", "more than 100 years"),
    ("--formats", "jpeg,gif", "jpeg plus"),
    ("--transfers", "0", "at least 1"),
    ("--executor", "tcp://h:1", "dask://HOST:PORT"),
    ("--store", "gs://bucket/events", "no store for gs:// URLs"),
    ("--cache", "cards", "cards is a folder"),
]


@pytest.mark.parametrize(("option", "value", "says"), BAD_OPTIONS)
def test_a_bad_option_is_a_usage_error_before_any_work(option, value, says, library) -> None:
    cache = library / "cache.sqlite"
    args = ["ingest", "cards/phone", "--bundle", "b", "--cache", str(cache), option, value]
    line = usage_error(run(*args))
    assert f"Invalid value for '{option}'" in line and says in line
    assert sorted(p.name for p in library.iterdir()) == ["cards"]  # no bundle, store or cache


def test_a_title_template_with_every_field_is_accepted(library, seen) -> None:
    template = "{event} {n:03d} {date} {time} {camera} {filename}"
    run("ingest", "cards/phone", "--bundle", "b", "--title-template", template)
    assert seen[0].title_template == template


def test_a_bad_variable_is_a_usage_error(library, seen, monkeypatch) -> None:
    monkeypatch.setenv("GALLERYPIPE_TRANSFERS", "many")
    assert "at least 1" in usage_error(run("ingest", "cards/phone", "--bundle", "b"))
    assert not seen


def test_variables_reach_sync_as_they_reach_ingest(library, seen, monkeypatch) -> None:
    monkeypatch.setenv("GALLERYPIPE_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("GALLERYPIPE_PATH_STYLE", "1")
    monkeypatch.setenv("GALLERYPIPE_TRANSFERS", "3")
    by_ingest, by_sync = ingest_and_sync("[store]\ntransfers = 5\n", library, seen)
    assert by_ingest.store_options == by_sync.store_options
    assert by_sync.store_options.endpoint_url == "http://127.0.0.1:9"
    assert (by_sync.store_options.path_style, by_sync.store_options.transfers) == (True, 3)


def test_the_command_line_wins_over_the_file(library, seen) -> None:
    (library / "gallerypipe.toml").write_text("[ingest]\nthreshold = 6\nsizes = [800]\n")
    run("ingest", "cards/phone", "--bundle", "b", "--threshold", "3")
    assert (seen[0].threshold, seen[0].render.sizes) == (3, (800,))


@pytest.mark.parametrize(
    "args",
    [
        ["sync", "--config", "lib/settings.toml"],
        ["--config", "lib/settings.toml", "sync"],
        ["ingest", "cards/phone", "--bundle", "b", "--config", "lib/settings.toml"],
        ["--config", "lib/settings.toml", "ingest", "cards/phone", "--bundle", "b"],
    ],
)
def test_config_works_before_and_after_the_command(args, library, seen) -> None:
    (library / "lib").mkdir()
    events = EVENT.replace('"cards/phone"', '"../cards/phone"')
    (library / "lib/settings.toml").write_text(f"[ingest]\nthreshold = 5\n{events}")
    (library / "gallerypipe.toml").write_text("[ingest]\nthreshold = 7\n")  # not this one
    assert isinstance(run(*args).exception, Stop)
    assert seen[0].threshold == 5
    if args[-1] == "sync":
        assert [s.resolve() for s in seen[0].sources] == [(library / "cards/phone").resolve()]


def test_a_named_config_that_is_missing_is_an_error(library) -> None:
    line = file_error(run("sync", "--config", "nowhere.toml"))
    assert "nowhere.toml: cannot read" in line


def test_relative_paths_in_the_file_are_from_its_folder(library, seen) -> None:
    (library / "lib").mkdir()
    (library / "lib/g.toml").write_text('[store]\nurl = "published"\n[ingest]\ncache = "c.db"\n')
    run("ingest", "cards/phone", "--bundle", "b", "--config", "lib/g.toml")
    assert (seen[0].store, seen[0].cache) == ("lib/published", Path("lib/c.db"))


def test_sync_publishes_beside_its_settings_file_by_default(library, seen) -> None:
    (library / "lib").mkdir()
    (library / "lib/g.toml").write_text(EVENT.replace('"cards/phone"', '"../cards/phone"'))
    run("sync", "--config", "lib/g.toml")
    assert seen[0].store == str((library / "lib/published/phone").resolve())


def test_sync_refuses_a_cache_of_its_own(library, seen) -> None:
    (library / "gallerypipe.toml").write_text('[ingest]\ncache = "c.db"\n' + EVENT)
    assert "[sync] state" in file_error(run("sync"))


def test_every_option_has_help_text() -> None:
    missing = [
        f"{name} {param.opts[0]}"
        for name, command in main.commands.items()
        for param in command.params
        if isinstance(param, click.Option) and not param.help
    ]
    assert not missing


def test_dedup_and_header_look_at_the_photos_as_ingest_would(library, seen, monkeypatch) -> None:
    """[ingest] threshold and jobs reach dedup, header takes them too; a [dedup] table wins."""
    calls = []
    monkeypatch.setattr(gallerypipe.cli, "review", lambda *args: calls.append(args) or stop())
    monkeypatch.setattr(gallerypipe.cli, "choose_header", lambda options: seen.append(options))
    config = library / "gallerypipe.toml"
    config.write_text("[ingest]\nthreshold = 5\njobs = 1\nkeep_all = true\n")
    run("dedup", "cards/phone")
    run("header", "cards/phone")
    assert (calls[0][0].threshold, calls[0][0].jobs, calls[0][0].keep_all) == (5, 1, True)
    assert (seen[0].threshold, seen[0].jobs, seen[0].keep_all) == (5, 1, True)
    config.write_text("[ingest]\nthreshold = 5\n[dedup]\nthreshold = 2\n")
    run("dedup", "cards/phone")
    assert calls[1][0].threshold == 2


def stop():
    raise Stop
