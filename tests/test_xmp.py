"""Titles and ratings from XMP (embedded and sidecar), IPTC and EXIF, in the documented order."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from photos import (
    CANON,
    add_iptc_caption,
    add_xmp,
    photo_of,
    photos_of,
    real_photo,
    write_jpeg,
    xmp_packet,
)

from gallerypipe.cli import summary
from gallerypipe.decide import decide
from gallerypipe.dedup import DedupResult
from gallerypipe.pipeline import IngestOptions, ingest
from gallerypipe.scan import scan
from gallerypipe.xmp import BadXmp, parse_xmp

EXIF_CAPTION = "Caption from the camera's EXIF"
IPTC_CAPTION = "Caption from IPTC, as Photo Mechanic writes it"


def shot(folder: Path, name: str, minute: int = 0, scene: str = "picos", **tags) -> Path:
    tags = {**CANON, "taken": f"2018:06:14 09:{minute:02d}:00", **tags}
    return write_jpeg(folder / name, real_photo(scene, 320), **tags)


def test_parse_lightroom_packet():
    fields = parse_xmp(xmp_packet(title="Río Urbión", description="Long text", rating=4))
    assert (fields.title, fields.description, fields.rating) == ("Río Urbión", "Long text", 4)


def test_rating_as_an_element_and_title_in_another_language_only():
    packet = (
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF"
        b" xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
        b"<rdf:Description xmlns:xmp='http://ns.adobe.com/xap/1.0/'"
        b" xmlns:dc='http://purl.org/dc/elements/1.1/'><xmp:Rating>-1</xmp:Rating>"
        b"<dc:title><rdf:Alt><rdf:li xml:lang='de'>Hirsch</rdf:li></rdf:Alt></dc:title>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    fields = parse_xmp(packet)
    assert fields.rating == -1 and fields.title == "Hirsch"


@pytest.mark.parametrize(
    "packet",
    [
        b"<x:xmpmeta><rdf:RDF",  # cut off
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',  # entity expansion refused
        xmp_packet(rating=9),
    ],
)
def test_bad_packets_raise_bad_xmp(packet):
    with pytest.raises(BadXmp):
        parse_xmp(packet)


def test_title_order_follows_mwg(tmp_path):
    """dc:title first; then MWG's Description: EXIF ImageDescription, else XMP (no IPTCDigest
    says the IPTC changed since), else IPTC. Camera boilerplate counts as absent."""
    olympus = {"make": "OLYMPUS IMAGING CORP.", "description": "OLYMPUS DIGITAL CAMERA"}
    everything = add_xmp(
        add_iptc_caption(shot(tmp_path, "a.jpg", description=EXIF_CAPTION), IPTC_CAPTION),
        xmp_packet(title="XMP title", description="XMP description"),
    )
    no_title = add_xmp(
        add_iptc_caption(shot(tmp_path, "b.jpg", 1, description=EXIF_CAPTION), IPTC_CAPTION),
        xmp_packet(description="XMP description"),
    )
    boiler = add_xmp(
        add_iptc_caption(shot(tmp_path, "c.jpg", 2, **olympus), IPTC_CAPTION),
        xmp_packet(description="XMP description"),
    )
    iptc = add_iptc_caption(shot(tmp_path, "d.jpg", 3, **olympus), IPTC_CAPTION)
    exif = shot(tmp_path, "e.jpg", 4, description=EXIF_CAPTION)
    blank = shot(tmp_path, "f.jpg", 5, description=" " * 31)  # Canon writes 31 spaces
    camera = shot(tmp_path, "g.jpg", 6, **olympus)
    photos = photos_of(everything, no_title, boiler, iptc, exif, blank, camera)
    assert [p.meta.title for p in photos] == [
        "XMP title",
        EXIF_CAPTION,
        "XMP description",
        IPTC_CAPTION,
        EXIF_CAPTION,
        None,
        None,
    ]


def test_sidecar_wins_over_the_embedded_packet_field_by_field(tmp_path):
    path = add_xmp(shot(tmp_path, "IMG_0001.JPG"), xmp_packet(title="Embedded", rating=2))
    (tmp_path / "IMG_0001.xmp").write_bytes(xmp_packet(rating=5))
    photo = photo_of(path)
    assert photo.meta.rating == 5  # from the sidecar
    assert photo.meta.title == "Embedded"  # the sidecar has none: the embedded one stays


def test_raw_pair_sidecar_applies_to_the_jpeg_and_raw_is_its_companion(tmp_path):
    jpeg = shot(tmp_path, "IMG_0001.JPG", description=EXIF_CAPTION)
    (tmp_path / "IMG_0001.CR2").write_bytes(b"II*\x00 raw data stands in here")
    (tmp_path / "IMG_0001.CR2.xmp").write_bytes(xmp_packet(title="From darktable", rating=3))
    (source,) = scan([tmp_path]).photos
    assert source.companions == ("IMG_0001.CR2",)
    assert source.sidecars == ("IMG_0001.CR2.xmp",)
    photo = photo_of(jpeg)
    assert (photo.meta.title, photo.meta.rating) == ("From darktable", 3)


def test_malformed_embedded_xmp_keeps_the_photo_and_the_rest(tmp_path):
    path = add_xmp(shot(tmp_path, "a.jpg", description=EXIF_CAPTION), b"<x:xmpmeta><rdf:RDF")
    photo = photo_of(path)
    assert photo.meta.title == EXIF_CAPTION and photo.meta.capture_time is not None
    assert any("embedded XMP" in p for p in photo.meta.problems)


def filter_ratings(photos, include_rejected=False, min_rating=None):
    """Each photo decided on its own, as with --keep-all (no duplicate groups)."""
    kept, excluded = decide(DedupResult(tuple(photos), ()), include_rejected, min_rating)
    return list(kept.kept), excluded


def test_ratings_decide_each_lone_photo(tmp_path):
    paths = [
        add_xmp(shot(tmp_path, f"{i}.jpg", i, scene=scene), xmp_packet(rating=rating))
        for i, (scene, rating) in enumerate([("picos", -1), ("fig", 0), ("life", 3)])
    ]
    photos = photos_of(*paths)
    kept, excluded = filter_ratings(photos)
    assert [p.meta.rating for p in kept] == [0, 3]
    assert [e.photo.meta.rating for e in excluded] == [-1]
    kept, _ = filter_ratings(photos, include_rejected=True)
    assert len(kept) == 3
    kept, excluded = filter_ratings(photos, min_rating=2)
    assert [p.meta.rating for p in kept] == [3]
    assert {e.photo.meta.rating for e in excluded} == {-1, 0}


def test_ingest_titles_ratings_and_bad_sidecar_end_to_end(tmp_path):
    card = tmp_path / "card"
    titled = add_xmp(shot(card, "IMG_0001.JPG"), xmp_packet(title="Peaks at dawn", rating=5))
    rejected = add_xmp(shot(card, "IMG_0002.JPG", 5, scene="fig"), xmp_packet(rating=-1))
    damaged = shot(card, "IMG_0003.JPG", 9, scene="life")
    (card / "IMG_0003.xmp").write_bytes(b"<x:xmpmeta><rdf:RDF> not closed")
    bundle, store = tmp_path / "bundle", tmp_path / "store"
    report = ingest(
        IngestOptions(sources=(card,), bundle=bundle, store=str(store), cache=None, jobs=1)
    )
    manifest = json.loads((store / "manifest.json").read_text())
    names = {s["id"]: Path(s["source"]).name for s in report.sources}  # private: not published
    sources = [names[p["id"]] for p in manifest["photos"]]
    assert sources == [titled.name, damaged.name]  # the rejected one is left out
    assert manifest["photos"][0]["title"] == "Peaks at dawn"
    assert [e["path"] for e in report.to_json()["excluded"]] == [str(rejected)]
    excluded = [d for d in report.decisions if d["action"] == "excluded"]
    assert [Path(d["source"]).name for d in excluded] == [rejected.name]
    assert str(damaged) not in {p.path for p in report.skipped}  # published: a warning
    problem = next(p for p in report.warnings if p.path == str(damaged))
    assert "IMG_0003.xmp" in problem.reason
    as_json = report.to_json()
    assert as_json["skipped"] == []
    assert {"path": str(damaged), "reason": problem.reason} in as_json["warnings"]
    text = summary(report)
    assert "skipped" not in text
    assert f"warnings, photos used (1):\n  {damaged}: {problem.reason}" in text
    shutil.rmtree(bundle)
    again = ingest(
        IngestOptions(
            sources=(card,),
            bundle=bundle,
            store=str(store),
            cache=None,
            jobs=1,
            include_rejected=True,
        )
    )
    assert again.photos == 3 and again.header != str(rejected)
