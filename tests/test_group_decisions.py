"""A duplicate group is one photo: a rejection, a rating, a caption or a capture time on any of its
copies holds for the photo (ingest, header and dedup alike)."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from photos import CANON, NIKON, add_xmp, photo_of, real_photo, write_jpeg, xmp_packet

from gallerypipe.cli import main
from gallerypipe.clock import parse_offsets
from gallerypipe.pipeline import IngestOptions, choose_header, ingest, select

REJECTED = "rejected: the original IMG_5125.JPG is rated -1"


def options(root: Path, **kwargs) -> IngestOptions:
    return IngestOptions(
        sources=(root,), bundle=root.parent / "bundle", cache=None, jobs=1, **kwargs
    )


def rejected_card(root: Path) -> dict[str, Path]:
    """A rejected original with an exact copy, a q95 export that kept its EXIF, a q70 re-encode
    and a 1600-px share without metadata; and one other photo."""
    scene = real_photo("aitzgorri", 2000)
    shot = dict(**CANON, taken="2018:06:14 09:00:00")
    files = {"original": write_jpeg(root / "card" / "IMG_5125.JPG", scene, quality=92, **shot)}
    add_xmp(files["original"], xmp_packet(rating=-1))
    files["backup"] = root / "backup" / "IMG_5125.JPG"
    files["backup"].parent.mkdir(parents=True)
    shutil.copyfile(files["original"], files["backup"])
    files["q95"] = write_jpeg(root / "exports" / "IMG_5125-q95.jpg", scene, quality=95, **shot)
    files["q70"] = write_jpeg(root / "exports" / "IMG_5125-q70.jpg", scene, quality=70)
    share = real_photo("aitzgorri", 1600)
    files["share"] = write_jpeg(root / "phone" / "IMG-20180614-WA0001.jpg", share, quality=80)
    other = real_photo("picos", 1200)
    shot = dict(**CANON, taken="2018:06:14 09:05:00")
    files["other"] = write_jpeg(root / "card" / "IMG_5126.JPG", other, **shot)
    return files


def test_a_rejected_original_rejects_every_copy(tmp_path):
    root = tmp_path / "cards"
    files = rejected_card(root)
    chosen = select(options(root))
    assert [p.source.path for p in chosen.dedup.kept] == [files["other"]]
    left_out = {e.photo.source.path: e.reason for e in chosen.excluded}
    assert set(left_out) == {files[k] for k in ("original", "backup", "q95", "q70", "share")}
    assert set(left_out.values()) == {REJECTED}
    # --include-rejected keeps the photo once, never as the header
    chosen = select(options(root, include_rejected=True))
    assert len(chosen.dedup.kept) == 2 and chosen.excluded == ()
    assert choose_header(options(root, include_rejected=True)).header.source.path == files["other"]


def test_the_rejection_is_reported_by_ingest_and_dedup(tmp_path):
    root = tmp_path / "cards"
    files = rejected_card(root)
    runner = CliRunner()
    cache = tmp_path / "analysis.sqlite"
    common = [str(root), "--cache", str(cache), "--jobs", "1"]
    done = runner.invoke(main, ["dedup", *common, "--json"])
    assert done.exit_code == 0, done.output
    assert cache.exists()  # the same analysis cache ingest reads
    review = json.loads(done.output)
    (group,) = review["groups"]
    assert group["excluded"] == REJECTED
    assert len(group["duplicates"]) == 4
    assert review["unique"] == [str(files["other"])]
    bundle, store = tmp_path / "bundle", tmp_path / "store"
    ingest_args = ["ingest", *common, "--bundle", str(bundle), "--store", str(store), "--json"]
    done = runner.invoke(main, ingest_args)
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert report["photos"] == 1 and report["analysed"] == 0  # all found in dedup's cache
    assert {e["path"] for e in report["excluded"]} == {e["path"] for e in review["excluded"]}
    assert {e["reason"] for e in report["excluded"]} == {REJECTED}
    manifest = json.loads((store / "manifest.json").read_text())
    assert len(manifest["photos"]) == 1
    assert [Path(p["source"]).name for p in report["sources"]] == [files["other"].name]
    decisions = [d for d in report["decisions"] if d["action"] == "excluded"]
    assert len(decisions) == 5 and {d["reason"] for d in decisions} == {REJECTED}
    sheet = tmp_path / "sheet.html"
    done = runner.invoke(main, ["dedup", *common, "--html", str(sheet)])
    assert f"left out: {REJECTED}" in done.output
    assert f"left out, {REJECTED}" in sheet.read_text(encoding="utf-8")


def edited_card(root: Path) -> dict[str, Path]:
    """An unrated original and its edit (no EXIF) rated 5 stars; another photo rated 3."""
    scene = real_photo("kleiber", 1800)
    files = {
        "original": write_jpeg(
            root / "card" / "DSC_0042.JPG", scene, **NIKON, taken="2018:06:14 09:06:52"
        ),
        "edit": write_jpeg(root / "edits" / "DSC_0042-edit.jpg", scene.resize((1600, 900))),
        "other": write_jpeg(
            root / "card" / "DSC_0050.JPG",
            real_photo("fig", 1800),
            **NIKON,
            taken="2018:06:14 09:20:00",
        ),
    }
    add_xmp(files["edit"], xmp_packet(rating=5))
    add_xmp(files["other"], xmp_packet(rating=3))
    return files


def test_a_five_star_edit_lifts_its_group_above_min_rating_and_into_the_header_pick(tmp_path):
    root = tmp_path / "cards"
    files = edited_card(root)
    chosen = select(options(root, min_rating=4))
    (kept,) = chosen.dedup.kept
    assert kept.source.path in (files["original"], files["edit"])
    assert kept.meta.rating == 5
    assert [e.photo.source.path for e in chosen.excluded] == [files["other"]]
    assert chosen.excluded[0].reason == "rated 3, below --min-rating 4"
    ranked = choose_header(options(root)).ranked
    by_group = {s.photo.source.path.name: s for s in ranked}
    assert by_group[kept.source.path.name].rating == 1.5  # five stars count for the group
    # the lone photo rated 3 alone is below 4, so --min-rating 5 leaves the 5-star group only
    assert [p.meta.rating for p in select(options(root, min_rating=5)).dedup.kept] == [5]


def test_a_share_without_exif_takes_its_originals_time_and_clock_offset(tmp_path):
    """The share is the keeper (rated 5); the original (Canon, clock an hour slow) dates it."""
    root = tmp_path / "cards"
    scene = real_photo("picos", 1800)
    original = write_jpeg(
        root / "card" / "IMG_5102.JPG", scene, **CANON, taken="2018:06:14 09:00:00"
    )
    share = write_jpeg(root / "phone" / "IMG-WA0002.jpg", real_photo("picos", 1600), quality=80)
    add_xmp(share, xmp_packet(rating=5))
    later = write_jpeg(
        root / "card2" / "DSC_0050.JPG",
        real_photo("fig", 1200),
        **NIKON,
        taken="2018:06:14 09:30:00",
    )
    offsets = parse_offsets(["Canon=+3600"])
    kept = select(options(root, clock_offsets=offsets)).dedup.kept
    assert [p.source.path for p in kept] == [later, share]  # 09:30, then 09:00 + 1 h
    camera_time = photo_of(original).taken
    assert kept[1].taken == camera_time + timedelta(hours=1)
    assert not kept[1].time_from_file and kept[1].meta.rating == 5
    assert photo_of(share).time_from_file  # on its own it has only its file time


def test_a_caption_only_on_the_edit_titles_the_published_photo(tmp_path):
    root = tmp_path / "cards"
    scene = real_photo("aitzgorri", 1800)
    original = write_jpeg(
        root / "card" / "IMG_5101.JPG", scene, **CANON, taken="2018:06:14 09:02:11"
    )
    edit = write_jpeg(root / "edits" / "IMG_5101-edit.jpg", scene, quality=90)
    add_xmp(edit, xmp_packet(title="Aitzgorri at dawn"))
    store = tmp_path / "store"
    report = ingest(options(root, store=str(store)))
    assert report.photos == 1 and report.duplicates.groups[0].keep.source.path == original
    manifest = json.loads((store / "manifest.json").read_text())
    assert [p["title"] for p in manifest["photos"]] == ["Aitzgorri at dawn"]
