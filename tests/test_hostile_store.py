"""A store whose manifest was tampered with or broken: ingest treats it as absent (with a warning
naming it) and publishes a sound one; verify and prune say what is wrong in one line."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gallerypipe import manifest as manifest_module
from gallerypipe import publish
from gallerypipe.cli import main
from gallerypipe.manifest import is_blurhash, parse_manifest, placeholder_problem
from gallerypipe.pipeline import IngestOptions, ingest
from gallerypipe.renditions import RenderSettings

EVIL_COLOR = "red;background-image:url(https://evil.example/track.gif)"


def tamper(manifest: dict, change) -> bytes:
    change(manifest["photos"][0])
    return json.dumps(manifest).encode()


def _set(field: str, value):
    def change(photo: dict) -> None:
        photo["placeholder"][field] = value

    return change


def _key(photo: dict) -> None:
    photo["renditions"][0]["key"] = "../victim/events/x.jpg"


def _size(photo: dict) -> None:
    photo["renditions"][0]["width"] = -5


HOSTILE = {
    "photos is a list of numbers": lambda m: b'{"schema": 1, "photos": [1]}',
    "photos is null": lambda m: b'{"schema": 1, "photos": null}',
    "nested 100,000 deep": lambda m: b"[" * 100_000,
    "not UTF-8": lambda m: b'{"photos": "\xff\xfe"}',
    "a colour that is CSS": lambda m: tamper(m, _set("color", EVIL_COLOR)),
    "a blurhash with markup": lambda m: tamper(m, _set("blurhash", '<img src=x onerror="1">')),
    "a negative width": lambda m: tamper(m, _size),
    "a key outside the prefix": lambda m: tamper(m, _key),
}


@pytest.fixture
def published(cards: Path, tmp_path: Path) -> tuple[Path, Path, dict]:
    """The phone folder published to a local store; (source, store, its sound manifest)."""
    store = tmp_path / "store"
    ingest(options(cards / "phone", tmp_path / "first", store))
    return cards / "phone", store, json.loads((store / "manifest.json").read_bytes())


def options(source: Path, bundle: Path, store: Path) -> IngestOptions:
    return IngestOptions(
        (source,), bundle, str(store), jobs=1, cache=None, render=RenderSettings(sizes=(320,))
    )


def run(*args: str | Path):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_manifest_counts_as_none(published, tmp_path, case) -> None:
    source, store, sound = published
    (store / "manifest.json").write_bytes(HOSTILE[case](sound))
    bundle = tmp_path / "bundle"
    result = run("ingest", source, "--bundle", bundle, "--store", store, "--sizes", "320",
                 "--jobs", "1", "--no-cache")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and f"{store}/manifest.json is not a gallerypipe" in warnings[0]
    for where in (store, bundle):
        fresh = parse_manifest((where / "manifest.json").read_bytes())
        assert len(fresh["photos"]) == 3
        assert all(placeholder_problem(p["placeholder"]) is None for p in fresh["photos"])
    assert EVIL_COLOR not in (bundle / "manifest.json").read_text()
    verified = run("verify", "--store", store)
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize("case", HOSTILE)
def test_verify_and_prune_refuse_it_in_one_line(published, case) -> None:
    _, store, sound = published
    (store / "manifest.json").write_bytes(HOSTILE[case](sound))
    verified = run("verify", "--store", store)
    prune = run("prune", "--store", store, "--yes", "--min-age", "0")
    if case.startswith("a ") and "key" not in case:  # fields prune and verify never read
        assert verified.exit_code == 0 and prune.exit_code == 0
        return
    assert verified.exit_code == 1
    assert verified.output.startswith("manifest.json: ") and "1 problem" in verified.output
    assert prune.exit_code == 1 and "nothing was deleted" in prune.stderr
    assert len(prune.stderr.strip().splitlines()) == 1


def test_a_manifest_over_the_size_bound_is_not_read(published, tmp_path, monkeypatch) -> None:
    source, store, _ = published
    monkeypatch.setattr(manifest_module, "MAX_MANIFEST_BYTES", 100)
    monkeypatch.setattr(publish, "MAX_MANIFEST_BYTES", 100)
    result = run("ingest", source, "--bundle", tmp_path / "b", "--store", store, "--sizes", "320",
                 "--jobs", "1", "--no-cache")  # fmt: skip
    assert result.exit_code == 0
    assert re.search(
        r"manifest.json is not a gallerypipe manifest \(\d+ bytes, over", result.stderr
    )


@pytest.mark.parametrize(
    ("text", "ok"),
    [("LEHV6nWB2yk8pyo0adR*.7kCMdnj", True), ("LEHV6nWB2yk8pyo0adR*.7kCMdn", False),
     ("LEHV6nWB2yk8pyo0adR*.7kCMd<j", False), ("", False), (None, False)],
)  # fmt: skip
def test_blurhash_alphabet_and_length(text, ok) -> None:
    assert is_blurhash(text) is ok


def test_the_example_site_paints_only_a_hex_colour(cards: Path, tmp_path: Path) -> None:
    """A bundle's manifest is data from a store: a CSS payload in a placeholder colour must not
    reach the page's style attribute (Debian's Hugo; the site tests cover the rest)."""
    import shutil

    from site_helpers import EXAMPLE_SITE, Unavailable, build_site, debian_hugo

    try:
        hugo = debian_hugo()
    except Unavailable as why:
        pytest.skip(f"Debian's Hugo: {why}")
    site = tmp_path / "site"
    shutil.copytree(EXAMPLE_SITE, site)
    bundle = site / "content/stories/hostile"
    ingest(options(cards / "phone", bundle, tmp_path / "store"))
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["photos"][0]["placeholder"]["color"] = EVIL_COLOR
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    page = build_site(hugo, site, tmp_path / "public").page("stories/hostile")
    styles = re.findall(r'style="([^"]*)"', page)
    assert "evil.example" not in page
    colour = r"background-color:(#[0-9a-fA-F]{6})"
    tiny_copy = r'background-image:url\("data:image/webp;base64,[A-Za-z0-9+/=]+"\)'
    shape = f"(?:(?:{colour};)?{tiny_copy}|{colour})(?:;object-fit:contain)?"  # contain: portraits
    shapes = [re.fullmatch(shape, html.unescape(s)) for s in styles]
    assert all(shapes), styles
    sound = {photo["placeholder"]["color"] for photo in manifest["photos"][1:]}
    painted = {m[1] or m[2] for m in shapes}
    assert sound <= painted, "sound colours still painted"
