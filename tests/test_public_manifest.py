"""The published manifest carries what a site needs and nothing private (#16); verify, prune and
a no-op re-run work from a fresh machine (no analysis cache) against the same store."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from click.testing import CliRunner

from gallerypipe.cli import main

SMALL_ARGS = ("--sizes", "640,320", "--formats", "jpeg")
PUBLIC_PHOTO_KEYS = {
    "id",
    "number",
    "file",
    "capture_time",
    "capture_time_from_file",
    "title",
    "description",  # the photographer's own words, for alt text
    "width",
    "height",
    "renditions",
    "placeholder",
}


def cli(*args: str | Path, cache_home: Path) -> dict:
    env = {"XDG_CACHE_HOME": str(cache_home), "HOME": str(cache_home)}
    result = CliRunner(env=env).invoke(main, [*map(str, args)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_published_manifest_holds_nothing_private(cards: Path, tmp_path: Path) -> None:
    cards = cards.resolve()  # an absolute SRC
    bundle, store = tmp_path / "site/content/stories/spark-2018", tmp_path / "store"
    ingest = ("ingest", cards, "--bundle", bundle, "--store", store, *SMALL_ARGS, "--json")
    out = cli(*ingest, cache_home=tmp_path / "machine-a")
    cameras = cli("cameras", cards, "--json", cache_home=tmp_path / "machine-a")["cameras"]
    serials = [c["serial"] for c in cameras if c["serial"]]
    assert serials, "the sample cards have serial numbers to leak"

    for where in (store / "manifest.json", bundle / "manifest.json"):
        text = where.read_text()
        manifest = json.loads(text)
        assert set(manifest) == {"schema", "generator", "event", "header", "photos"}
        assert all(set(p) <= PUBLIC_PHOTO_KEYS for p in manifest["photos"])
        assert str(tmp_path) not in text and str(cards) not in text, "no local path"
        assert not re.search(r"card-[ab]|DCIM|100CANON|phone/", text), "no card folder"
        for source in out["sources"]:  # every card file name, as found
            assert Path(source["source"]).name not in text
            assert source["sha256"] not in text, "no original's sha256"
        for serial in serials:
            assert serial not in text
        for camera in cameras:
            assert camera["model"] not in text
    assert out["decisions"], "the decisions are in the run's own report instead"

    # a fresh machine: no analysis cache, the site's bundle as checked in, the same store
    fresh = tmp_path / "machine-b"
    verify = cli("verify", "--store", store, "--json", cache_home=fresh)
    assert verify["ok"] and verify["checked"] == 20
    prune = cli("prune", "--store", store, "--json", cache_home=fresh)
    assert prune["delete"] == [] and prune["referenced"] == 21  # 20 renditions, manifest.json
    before = {p: p.stat().st_mtime_ns for p in [*bundle.rglob("*"), *store.rglob("*")]}
    again = cli(*ingest, cache_home=fresh)
    assert again["uploaded"] == 0 and again["manifest_changed"] is False
    assert again["bundle_files"]["added"] == again["bundle_files"]["replaced"] == []
    after = {p: p.stat().st_mtime_ns for p in [*bundle.rglob("*"), *store.rglob("*")]}
    assert after == before, "nothing rewritten"
    assert os.listdir(fresh), "the fresh machine analysed the cards into its own cache"
