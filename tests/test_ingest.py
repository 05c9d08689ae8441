"""End to end: the CLI on the bundled sample cards, into a Hugo bundle and a local store."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import piexif
import pytest
import yaml
from click.testing import CliRunner
from photos import change_a_photo, corrupt_scan_data, xmp_packet
from PIL import Image

import gallerypipe.pipeline
from gallerypipe.cli import main
from gallerypipe.pipeline import IngestOptions, ingest
from gallerypipe.storage import LocalStorage

CAPTION = "Larches turning below the Aitzgorri ridge"  # IMG_5101's ImageDescription


def run_cli(*args: str | Path, cache: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)} if cache else None
    return subprocess.run(
        [sys.executable, "-m", "gallerypipe", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def front_matter(index: Path) -> dict:
    text = index.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def published(cards: Path, tmp_path: Path):
    bundle, store = tmp_path / "site/content/stories/spark-2018", tmp_path / "published"
    before = tree_digest(cards)
    result = run_cli(
        "ingest", cards, "--bundle", bundle, "--store", store, "--json", cache=tmp_path / "cache"
    )
    assert result.returncode == 0, result.stderr
    assert tree_digest(cards) == before, "an original was modified"
    return json.loads(result.stdout), bundle, store


def test_json_summary_counts_what_was_found(published) -> None:
    summary, bundle, store = published
    assert summary["found"] == 12
    assert summary["photos"] == 10
    assert summary["duplicates"] == 2  # DSC_0044 (exact copy) and DSC_0045 (export)
    assert summary["skipped"] == []
    assert summary["uploaded"] == 100 and summary["reused"] == 0
    assert summary["bundle"] == str(bundle) and summary["store"] == str(store)
    assert summary["manifest"] == "manifest.json"
    assert summary["ignored"]["macOS resource forks (._*)"] == 1


def test_bundle_front_matter_is_in_capture_order_with_stable_names(published) -> None:
    summary, bundle, store = published
    sources = {s["id"]: Path(s["source"]) for s in summary["sources"]}
    manifest = json.loads((store / "manifest.json").read_text())
    resources = front_matter(bundle / "index.md")["resources"]
    header, gallery = resources[0], resources[1:]
    assert header["name"] == "header" and header["title"]
    assert (bundle / header["src"]).is_file()
    times = [p["capture_time"] for p in manifest["photos"]]
    assert times == sorted(times)
    assert [e["src"] for e in gallery] == [p["file"] for p in manifest["photos"]]
    for entry, photo in zip(gallery, manifest["photos"], strict=True):
        stamp = photo["capture_time"][:19].replace("-", "").replace(":", "").replace("T", "-")
        stem = sources[photo["id"]].stem.lower()
        assert entry["src"] == f"gallery/{stamp}-{stem}.jpg"  # capture time, then the name
        assert entry["name"] == "gallery-" + Path(entry["src"]).stem
    assert [e["name"] for e in gallery] == sorted(e["name"] for e in gallery), "name order"
    assert gallery[0]["title"] == CAPTION
    assert all(e["title"] and e["title"].strip() for e in gallery)
    assert sorted(p.name for p in (bundle / "gallery").iterdir()) == [
        Path(e["src"]).name for e in gallery
    ]
    assert (
        (bundle / "index.md")
        .read_text()
        .rstrip()
        .endswith('{{< gallery folder="gallery" title="" >}}')
    )


def test_gallery_files_are_web_size_upright_and_private(published) -> None:
    _, bundle, _ = published
    for path in (bundle / "gallery").iterdir():
        with Image.open(path) as img:
            assert max(img.size) <= 2048
            assert_minimal_exif(img.info.get("exif"))
    with Image.open(next((bundle / "gallery").glob("*-img_5103.jpg"))) as img:
        assert img.height > img.width  # stored landscape with Orientation 6


def test_every_manifest_key_is_in_the_store_with_its_sha256(published) -> None:
    summary, _, store = published
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["schema"] == 1
    ids = {p["id"] for p in manifest["photos"]}
    assert manifest["header"] in ids
    for photo in manifest["photos"]:
        long_edges = [max(r["width"], r["height"]) for r in photo["renditions"]]
        assert long_edges == [
            min(s, max(photo["width"], photo["height"]))
            for s in (2048, 1280, 800, 640, 480)
            for _ in "jw"
        ]
        types = [r["content_type"] for r in photo["renditions"]]
        assert types == ["image/jpeg", "image/webp"] * 5
        assert [r["key"].rsplit(".", 1)[1] for r in photo["renditions"]] == ["jpg", "webp"] * 5
        placeholder = photo["placeholder"]
        assert (placeholder["width"], placeholder["height"]) == (
            photo["renditions"][0]["width"],
            photo["renditions"][0]["height"],
        )
        assert len(placeholder["blurhash"]) == 28  # 4×3 components
        assert re.fullmatch(r"#[0-9a-f]{6}", placeholder["color"])
        for r in photo["renditions"]:
            data = (store / r["key"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == r["sha256"] and len(data) == r["bytes"]
            assert photo["id"] in r["key"]
    dropped = {d["source"].split("/")[-1]: d for d in summary["decisions"]}  # not published
    assert dropped["DSC_0044.JPG"]["reason"] == "exact"
    assert dropped["DSC_0045.JPG"]["kept_source"].endswith("IMG_5101.JPG")


KEPT_0TH = {piexif.ImageIFD.Artist, piexif.ImageIFD.Copyright, piexif.ImageIFD.ExifTag}
KEPT_EXIF = {
    piexif.ExifIFD.DateTimeOriginal,
    piexif.ExifIFD.SubSecTimeOriginal,
    piexif.ExifIFD.OffsetTimeOriginal,
}


def assert_minimal_exif(exif: bytes | None) -> None:
    if exif is None:
        return
    tags = piexif.load(exif)
    assert set(tags["0th"]) <= KEPT_0TH and set(tags["Exif"]) <= KEPT_EXIF
    assert not tags["GPS"] and not tags["1st"] and not tags["thumbnail"]


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
def test_renditions_carry_no_gps_serial_or_maker_notes(published, cards) -> None:
    _, _, store = published
    files = sorted(str(p) for p in (store / "renditions").iterdir())
    assert {Path(f).suffix for f in files} == {".jpg", ".webp"}
    gps_source = cards / "card-a/DCIM/100CANON/IMG_5102.JPG"
    run = subprocess.run(
        ["exiftool", "-j", "-G", "-a", "-u", str(gps_source), *files],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    source, *renditions = json.loads(run.stdout)
    assert "Composite:GPSPosition" in source  # the sample does carry a position
    assert "EXIF:SerialNumber" in source and "EXIF:ThumbnailImage" in source
    for tags in renditions:
        names = {k.split(":")[-1] for k in tags}
        assert not {n for n in names if n.startswith("GPS")}, tags["SourceFile"]
        assert not {k for k in tags if k.startswith(("MakerNotes:", "IFD1:"))}
        assert not names & {"SerialNumber", "InternalSerialNumber", "ThumbnailImage", "Make"}
    dated = [t for t in renditions if "EXIF:DateTimeOriginal" in t]
    assert len(dated) == len(renditions)  # every sample photo has a capture time


def test_rerun_decodes_nothing_and_changes_nothing(published, cards: Path, tmp_path) -> None:
    first, bundle, store = published
    assert first["analysed"] == 12 and first["rendered"] == 10
    before_bundle, before_store = tree_digest(bundle), tree_digest(store)
    result = run_cli(
        "ingest", cards, "--bundle", bundle, "--store", store, "--json", cache=tmp_path / "cache"
    )
    summary = json.loads(result.stdout)
    assert summary["uploaded"] == 0 and summary["reused"] == 100
    assert summary["analysed"] == 0 and summary["rendered"] == 0
    assert summary["manifest_changed"] is False
    assert tree_digest(bundle) == before_bundle and tree_digest(store) == before_store


def test_progress_does_not_garble_piped_output(cards: Path, tmp_path: Path) -> None:
    result = run_cli("ingest", cards, "--bundle", tmp_path / "b", "--store", tmp_path / "s")
    assert result.returncode == 0
    assert "\r" not in result.stderr and "\r" not in result.stdout
    assert "found 12 photos; published 10; dropped 2 duplicates" in result.stdout


def test_the_summary_says_what_became_of_the_manifest(cards: Path, tmp_path: Path) -> None:
    args = ("ingest", cards, "--bundle", tmp_path / "b", "--store", tmp_path / "s")
    cache = tmp_path / "cache"
    assert "manifest: manifest.json written\n" in run_cli(*args, cache=cache).stdout
    assert "manifest: manifest.json unchanged\n" in run_cli(*args, cache=cache).stdout
    change_a_photo(cards)
    dry = run_cli(*args, "--dry-run", "--json", cache=cache)
    archived = json.loads(dry.stdout)["manifest_archived"]
    assert re.fullmatch(r"manifests/\d{8}T\d{6}Z-[0-9a-f]{12}\.json", archived)
    updated = run_cli(*args, cache=cache).stdout
    assert f"manifest: manifest.json updated; the current one kept as {archived}\n" in updated
    assert (tmp_path / "s" / archived).exists()


def test_bad_files_are_reported_and_the_rest_published(cards: Path, tmp_path: Path) -> None:
    card = cards / "card-a/DCIM/100CANON"
    good = (card / "IMG_5102.JPG").read_bytes()
    (card / "IMG_9001.JPG").write_bytes(good[: len(good) // 3])
    (card / "IMG_9002.JPG").write_bytes(b"")
    (card / "IMG_9003.JPG").write_text("this is a text file named like a photo\n")
    (card / "IMG_9004.JPG").write_bytes(_bomb(good))
    before = tree_digest(cards)
    result = run_cli(
        "ingest", cards, "--bundle", tmp_path / "b", "--store", tmp_path / "s", "--json"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    reasons = {Path(s["path"]).name: s["reason"] for s in summary["skipped"]}
    assert set(reasons) == {"IMG_9001.JPG", "IMG_9002.JPG", "IMG_9003.JPG", "IMG_9004.JPG"}
    assert "truncated" in reasons["IMG_9001.JPG"] or "decode" in reasons["IMG_9001.JPG"]
    assert "empty" in reasons["IMG_9002.JPG"]
    assert "not a JPEG" in reasons["IMG_9003.JPG"]
    assert "pixels" in reasons["IMG_9004.JPG"]
    assert summary["photos"] == 10
    assert tree_digest(cards) == before


def _bomb(jpeg: bytes) -> bytes:
    """A real JPEG whose frame header claims 50000×50000 pixels (walking the segments, so the
    EXIF thumbnail's own frame header is left alone)."""
    i = 2
    while jpeg[i + 1] not in (0xC0, 0xC1, 0xC2):
        i += 2 + int.from_bytes(jpeg[i + 2 : i + 4], "big")
    size = (50000).to_bytes(2, "big")
    return jpeg[: i + 5] + size + size + jpeg[i + 9 :]


def test_nothing_found_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "card"
    (empty / "DCIM").mkdir(parents=True)
    (empty / "DCIM/notes.txt").write_text("no photos here")
    result = run_cli("ingest", empty, "--bundle", tmp_path / "b", "--store", tmp_path / "s")
    assert result.returncode == 1
    assert "no usable photos" in result.stderr
    assert not (tmp_path / "s").exists() and not (tmp_path / "b").exists()


def test_header_override_and_an_unknown_one(cards: Path, tmp_path: Path) -> None:
    chosen = cards / "phone/IMG_20180614_104009.jpg"
    report = ingest(
        IngestOptions((cards,), tmp_path / "b", str(tmp_path / "s"), header=chosen, jobs=1)
    )
    assert report.header == str(chosen)
    manifest = json.loads((tmp_path / "s/manifest.json").read_text())
    header = next(p for p in manifest["photos"] if p["id"] == manifest["header"])
    source = next(s for s in report.sources if s["id"] == header["id"])
    assert source["source"].endswith("IMG_20180614_104009.jpg")
    result = run_cli(
        "ingest", cards, "--bundle", tmp_path / "b2", "--store", tmp_path / "s2",
        "--header", tmp_path / "nope.jpg",
    )  # fmt: skip
    assert result.returncode == 1 and "nope.jpg" in result.stderr


def test_a_header_that_cannot_be_rendered_is_reported_and_exits_1(
    cards: Path, tmp_path: Path, monkeypatch
) -> None:
    """The photo named with --header is analysed, then its card is pulled before it is rendered:
    the gallery is published with gallerypipe's pick as its header, the summary and an error
    line say so, and the exit is 1 (the user asked for that photo)."""
    chosen = cards / "phone/IMG_20180614_104009.jpg"
    select = gallerypipe.pipeline.select

    def select_then_pull_the_photo(*args, **kwargs):
        selection = select(*args, **kwargs)
        chosen.unlink()
        return selection

    monkeypatch.setattr(gallerypipe.pipeline, "select", select_then_pull_the_photo)
    result = CliRunner().invoke(
        main,
        [
            "ingest", str(cards), "--bundle", str(tmp_path / "b"), "--store", str(tmp_path / "s"),
            "--header", str(chosen), "--sizes", "320", "--no-cache", "--jobs", "2",
        ],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    manifest = json.loads((tmp_path / "s/manifest.json").read_text())
    header = next(p for p in manifest["photos"] if p["id"] == manifest["header"])
    shown = next(line for line in result.stdout.splitlines() if line.startswith("header: "))
    fallback = shown.removeprefix("header: ").partition(" (instead of")[0]
    assert fallback != str(chosen)
    assert header["id"] == hashlib.sha256(Path(fallback).read_bytes()).hexdigest()[:16]
    assert f"header: {fallback} (instead of --header {chosen}: it could not be rendered)" in (
        result.stdout
    )
    errors = result.stderr.splitlines()
    assert len(errors) == 1 and errors[0].startswith(
        f"error: {chosen}: --header photo not published"
    )
    assert f"the header is {fallback}, gallerypipe's pick, instead" in errors[0]
    assert (
        f"  {chosen}: cannot render" in result.stdout or f"  {chosen}: [Errno 2]" in result.stdout
    )
    assert (tmp_path / "b/header.jpg").is_file()
    assert "published 9" in result.stdout and len(manifest["photos"]) == 9


def test_no_photo_that_can_be_rendered_is_one_line_and_nothing_published(
    cards: Path, tmp_path: Path, monkeypatch
) -> None:
    select = gallerypipe.pipeline.select

    def select_then_pull_the_cards(*args, **kwargs):
        selection = select(*args, **kwargs)
        for photo in [*selection.dedup.kept]:
            photo.source.path.unlink()
        return selection

    monkeypatch.setattr(gallerypipe.pipeline, "select", select_then_pull_the_cards)
    result = CliRunner().invoke(
        main,
        [
            "ingest", str(cards), "--bundle", str(tmp_path / "b"), "--store", str(tmp_path / "s"),
            "--sizes", "320", "--no-cache", "--jobs", "2",
        ],
    )  # fmt: skip
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: none of the 10 photos could be rendered, e.g. ")
    assert result.stderr.endswith("; nothing was published\n") and result.stderr.count("\n") == 1
    assert not (tmp_path / "s/manifest.json").exists() and not (tmp_path / "b/index.md").exists()


def test_existing_page_keeps_its_keys_and_body(cards: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "spark-2018"
    bundle.mkdir()
    (bundle / "index.md").write_text(
        "---\ntitle: Spark 2018\n# the organisers' wording\ntags: [conference, ai]\n"
        'resources:\n- src: gallery/IMG_5107.jpg\n  name: "header"\n'
        '- src: "gallery/*.jpg"\n  name: gallery-:counter\n  title: gallery-title-:counter\n'
        "- src: slides.pdf\n  name: slides\n---\nA day of talks.\n\n"
        '{{< gallery folder="gallery" title="" >}}\n'
    )
    ingest(IngestOptions((cards,), bundle, str(tmp_path / "s"), jobs=1))
    text = (bundle / "index.md").read_text()
    assert "# the organisers' wording\ntags: [conference, ai]\n" in text
    assert text.endswith('---\nA day of talks.\n\n{{< gallery folder="gallery" title="" >}}\n')
    data = front_matter(bundle / "index.md")
    names = [r["name"] for r in data["resources"]]
    assert names[0] == "header" and names[-1] == "slides"  # gallery/IMG_5107.jpg is not there
    assert names.count("header") == 1, "an entry for a file that is not there is replaced"
    assert names[-2] == "gallery-:counter", "the person's own pattern entry is kept, after ours"
    assert data["resources"][1]["title"] == CAPTION
    assert data["resources"][2]["title"] == "Spark 2018, 2018-06-14 09:06"  # folder, time


def test_dry_run_writes_nothing(cards: Path, tmp_path: Path) -> None:
    args = ("--bundle", tmp_path / "b", "--store", tmp_path / "s", "--dry-run", "--json")
    result = run_cli("ingest", cards, *args)
    assert result.returncode == 0
    summary = json.loads(result.stdout)
    assert summary["dry_run"] is True and summary["uploaded"] == 100
    assert not (tmp_path / "b").exists() and not (tmp_path / "s").exists()


def test_a_store_write_failure_fails_the_run_before_the_manifest(cards, tmp_path) -> None:
    store = tmp_path / "s"
    store.mkdir()
    (store / "renditions").write_text("a file where the folder should be")
    result = run_cli("ingest", cards, "--bundle", tmp_path / "b", "--store", store)
    assert result.returncode == 1 and "renditions/" in result.stderr
    assert not (store / "manifest.json").exists()
    assert LocalStorage(store).list().keys() == {"renditions"}


def test_formats_without_jpeg_or_unknown_are_refused(tmp_path: Path) -> None:
    for formats, word in (("webp", "jpeg"), ("jpeg,gif", "gif")):
        result = run_cli(
            "ingest", tmp_path, "--bundle", tmp_path / "b", "--store", tmp_path / "s",
            "--formats", formats,
        )  # fmt: skip
        assert result.returncode == 2 and word in result.stderr and "--formats" in result.stderr
    assert not (tmp_path / "s").exists() and not (tmp_path / "b").exists()


def test_a_manifest_without_placeholders_gets_them_without_new_uploads(cards, tmp_path) -> None:
    options = IngestOptions((cards,), tmp_path / "b", str(tmp_path / "s"), jobs=2, cache=None)
    ingest(options)
    manifest_path = tmp_path / "s/manifest.json"
    manifest = json.loads(manifest_path.read_text())
    expected = {p["id"]: p["placeholder"] for p in manifest["photos"]}
    for photo in manifest["photos"]:  # as an older gallerypipe wrote it
        del photo["placeholder"]
    manifest_path.write_text(json.dumps(manifest))
    report = ingest(options)
    assert report.rendered == 10 and report.uploaded == 0
    again = json.loads(manifest_path.read_text())
    assert {p["id"]: p["placeholder"] for p in again["photos"]} == expected


def test_a_corrupt_copy_loses_to_the_intact_one_and_is_reported(cards: Path, tmp_path) -> None:
    """The same photo on two cards, one copy garbled by a failing card: the intact one is
    published even though the garbled one is rated higher, and the garbled one is named."""
    original = cards / "card-a/DCIM/100CANON/IMG_5102.JPG"
    damaged = cards / "card-b/DCIM/100NIKON/IMG_5102.JPG"
    damaged.write_bytes(corrupt_scan_data(original.read_bytes()))
    damaged.with_suffix(".xmp").write_bytes(xmp_packet(rating=5))
    report = ingest(
        IngestOptions(sources=(cards,), bundle=tmp_path / "b", store=str(tmp_path / "s"))
    )
    (group,) = [g for g in report.duplicates.groups if g.keep.source.path.name == "IMG_5102.JPG"]
    assert group.keep.source.path == original
    assert [d.photo.source.path for d in group.duplicates] == [damaged]
    assert group.why_kept.startswith("intact")
    reasons = {p.path: p.reason for p in report.warnings}  # read and used: not skipped
    assert str(damaged) not in {p.path for p in report.skipped}
    assert reasons[str(damaged)].startswith("decoded with errors, check it: Corrupt JPEG data")
    assert str(original) not in reasons
