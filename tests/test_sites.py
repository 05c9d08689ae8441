"""Site targets (#17): a second target registered by name runs through the pipeline as it is.

A plain HTML gallery, defined here, is all a new target needs: the pipeline plans it before the
store is touched and writes it after, with real photos, renders and a local store.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from photos import copy_sample

from gallerypipe import sites
from gallerypipe.model import Photo
from gallerypipe.pipeline import IngestOptions, ingest
from gallerypipe.renditions import RenderSettings
from gallerypipe.sites import Draft, Gallery, SiteChanges, SiteError, SiteKind, SiteState

SMALL = RenderSettings(sizes=(320,), formats=("jpeg",))
MARK = "<!-- plain gallery by gallerypipe -->"


class PlainGallery:
    """index.html with one <img> per photo, the photos in photos/."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def read(self, header_asked: bool) -> SiteState:
        return SiteState(users_header=None, titles={})

    def files(self, photos: Sequence[Photo]) -> dict[str, str]:
        return {p.id: f"photos/{p.taken:%Y%m%d-%H%M%S}-{p.id[:8]}.jpg" for p in photos}

    def plan(self, state: SiteState, draft: Draft) -> SiteChanges:
        index = self.folder / "index.html"
        if index.exists() and MARK not in index.read_text():
            raise SiteError(f"{index}: not written by gallerypipe; nothing was changed")
        return SiteChanges(add=(*sorted(draft.files.values()), "index.html"))

    def write(self, state: SiteState, gallery: Gallery) -> SiteChanges:
        for item in gallery.items:
            path = self.folder / gallery.files[item.photo.id]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(gallery.fetch(item))
        images = "".join(
            f'<img src="{gallery.files[i.photo.id]}" alt="{html.escape(i.title)}">\n'
            for i in gallery.items
        )
        (self.folder / "index.html").write_text(f"{MARK}\n<h1>{gallery.event}</h1>\n{images}")
        return SiteChanges(add=(*sorted(gallery.files.values()), "index.html"))


@pytest.fixture
def plain(monkeypatch: pytest.MonkeyPatch) -> None:
    kind = SiteKind("plain", f"{__name__}:PlainGallery", "a plain HTML gallery")
    monkeypatch.setitem(sites.SITES, "plain", kind)


@pytest.fixture
def card(tmp_path: Path) -> Path:
    for name in ("seeding", "bridge"):
        copy_sample(name, tmp_path / "card" / f"{name}.jpg")
    return tmp_path / "card"


def options(card: Path, tmp_path: Path, site: str = "plain", **kw) -> IngestOptions:
    return IngestOptions(
        (card,), tmp_path / "site", str(tmp_path / "store"), cache=None, render=SMALL, jobs=1,
        site=site, **kw,
    )  # fmt: skip


def test_a_registered_target_gets_the_gallery_and_hugo_is_not_written(
    plain: None, card: Path, tmp_path: Path
) -> None:
    report = ingest(options(card, tmp_path, event="Spark"))
    site = tmp_path / "site"
    manifest = json.loads((tmp_path / "store/manifest.json").read_bytes())
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()) == [
        "index.html",
        *sorted(p["file"] for p in manifest["photos"]),
    ]  # no index.md, gallery/, header.jpg or .gallerypipe.json: Hugo's target did not run
    page = (site / "index.html").read_text()
    assert [p["file"] for p in manifest["photos"]] == [
        line.split('"')[1] for line in page.splitlines() if line.startswith("<img")
    ]  # the manifest names the target's files, in the gallery's order
    for photo in manifest["photos"]:
        assert html.escape(photo["title"]) in page
        (largest,) = photo["renditions"]
        assert hashlib.sha256((site / photo["file"]).read_bytes()).hexdigest() == largest["sha256"]
    assert report.bundle_plan.add[-1] == "index.html" and report.photos == 2


def test_the_targets_conflict_stops_the_run_before_the_store(
    plain: None, card: Path, tmp_path: Path
) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site/index.html").write_text("<p>my own page</p>")
    with pytest.raises(SiteError, match=r"index\.html: not written by gallerypipe"):
        ingest(options(card, tmp_path))
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())
    assert (tmp_path / "site/index.html").read_text() == "<p>my own page</p>"


def test_an_unknown_target_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-card"  # select() would fail on it: the name is checked first
    with pytest.raises(SiteError, match=r"no site target named 'jekyll'; give one of hugo"):
        ingest(options(missing, tmp_path, site="jekyll"))
    assert not (tmp_path / "site").exists() and not (tmp_path / "store").exists()
