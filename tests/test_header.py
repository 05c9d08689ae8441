"""header: the sharp, well exposed landscape wins; --header names a photo or fails clearly."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from photos import (
    CANON,
    add_xmp,
    corrupt_scan_data,
    photo_of,
    photos_of,
    real_photo,
    write_jpeg,
    xmp_packet,
)
from PIL import ImageEnhance, ImageFilter

from gallerypipe.header import HeaderNotFound, pick_header, rank, score
from gallerypipe.pipeline import IngestOptions, choose_header


@pytest.fixture(scope="module", params=["fig", "life"])
def candidates(request, tmp_path_factory):
    """One real scene at 1200 px and four worse versions of it, from one camera."""
    folder = tmp_path_factory.mktemp(f"header-{request.param}")
    scene = real_photo(request.param, 1200)
    w, h = scene.size
    variants = {
        "sharp": scene,
        "blurred": scene.filter(ImageFilter.GaussianBlur(4)),
        "underexposed": ImageEnhance.Brightness(scene).enhance(0.3),
        "overexposed": ImageEnhance.Brightness(scene).enhance(2.2),
        "portrait": scene.crop(((w - h * 2 // 3) // 2, 0, (w + h * 2 // 3) // 2, h)),
    }
    paths = {
        kind: write_jpeg(folder / f"{kind}.jpg", img, **CANON, taken=f"2018:06:14 09:0{i}:00")
        for i, (kind, img) in enumerate(variants.items())
    }
    photos = {p.source.path.stem: p for p in photos_of(*paths.values())}
    return photos


def test_sharp_well_exposed_landscape_is_picked(candidates):
    assert pick_header(list(candidates.values())) is candidates["sharp"]
    # The order given does not matter.
    assert pick_header(list(reversed(candidates.values()))) is candidates["sharp"]


def test_each_worse_version_loses_on_its_own_fault(candidates):
    best = score(candidates["sharp"])
    assert score(candidates["blurred"]).sharpness < best.sharpness
    assert score(candidates["underexposed"]).exposure < best.exposure
    assert score(candidates["overexposed"]).exposure < best.exposure
    assert score(candidates["portrait"]).landscape < best.landscape
    for kind in ("blurred", "underexposed", "overexposed", "portrait"):
        assert score(candidates[kind]).score < best.score, kind


def test_rank_is_best_first_and_complete(candidates):
    ranked = rank(list(candidates.values()))
    assert ranked[0].photo is candidates["sharp"]
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)
    assert {s.photo.source.path for s in ranked} == {p.source.path for p in candidates.values()}


def test_override_by_path_wins_over_the_score(candidates):
    chosen = candidates["portrait"]
    assert pick_header(list(candidates.values()), override=chosen.source.path) is chosen


def test_override_by_file_name_alone(candidates, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # "blurred.jpg" does not exist here: matched by name
    chosen = pick_header(list(candidates.values()), override=Path("blurred.jpg"))
    assert chosen is candidates["blurred"]


def test_override_that_is_not_a_kept_photo_names_the_file(candidates, tmp_path):
    dropped = write_jpeg(tmp_path / "IMG_9999.JPG", real_photo("sunset", 600), **CANON)
    with pytest.raises(HeaderNotFound, match=re.escape(str(dropped))) as err:
        pick_header(list(candidates.values()), override=dropped)
    assert "not among the kept photos" in str(err.value)


def test_override_that_does_not_exist_names_the_file(candidates, tmp_path):
    missing = tmp_path / "nowhere" / "IMG_0404.JPG"
    with pytest.raises(HeaderNotFound, match=re.escape(str(missing))) as err:
        pick_header(list(candidates.values()), override=missing)
    assert "no such photo" in str(err.value)


def test_no_photos_is_an_error():
    with pytest.raises(ValueError):
        pick_header([])


def test_override_path_is_not_confused_with_another_cards_file_of_the_same_name(tmp_path):
    card_a = write_jpeg(
        tmp_path / "card-a" / "IMG_0001.JPG",
        real_photo("picos", 600),
        **CANON,
        taken="2018:06:14 09:00:00",
    )
    card_b = write_jpeg(
        tmp_path / "card-b" / "IMG_0001.JPG",
        real_photo("sunset", 600),
        **CANON,
        taken="2018:06:14 09:10:00",
    )
    kept = [photo_of(card_a)]  # card-b's IMG_0001.JPG is not among the kept photos
    with pytest.raises(HeaderNotFound, match="card-b"):
        pick_header(kept, override=card_b)


def test_rating_breaks_a_tie_and_rejected_is_never_picked(tmp_path):
    scene = real_photo("fig", 800)
    plain = write_jpeg(tmp_path / "a.jpg", scene, **CANON, taken="2018:06:14 09:00:00")
    starred = add_xmp(
        write_jpeg(tmp_path / "b.jpg", scene, **CANON, taken="2018:06:14 09:01:00"),
        xmp_packet(rating=5),
    )
    photos = {p.source.path: p for p in photos_of(plain, starred)}
    assert score(photos[starred]).rating > score(photos[plain]).rating
    assert pick_header(list(photos.values())) is photos[starred]
    # Same pixels, earlier (so first on a tie), but rejected: never the header.
    rejected = add_xmp(
        write_jpeg(tmp_path / "c.jpg", scene, **CANON, taken="2018:06:14 08:59:00"),
        xmp_packet(rating=-1),
    )
    both = photos_of(rejected, plain)
    assert rank(both)[0].photo.source.path == rejected  # it would win on the scores alone
    assert pick_header(both).source.path == plain


def test_a_wide_panorama_counts_as_less_landscape(tmp_path):
    """A header crops a 4:1 panorama to a fraction of it; up to 2:1 nothing is lost."""
    shapes = {"wide": (1600, 400), "two": (1200, 600), "classic": (1200, 800)}
    paths = [
        write_jpeg(tmp_path / f"{name}.jpg", real_photo("fig", size), **CANON)
        for name, size in shapes.items()
    ]
    factors = {p.source.path.stem: score(p).landscape for p in photos_of(*paths)}
    assert factors == {"wide": pytest.approx(0.5), "two": 1.0, "classic": 1.0}


def test_a_photo_with_corrupt_data_is_not_the_header_unless_alone(tmp_path):
    scene = real_photo("fig", 800)
    intact = write_jpeg(tmp_path / "a.jpg", scene, **CANON, taken="2018:06:14 09:00:00")
    jpeg = write_jpeg(tmp_path / "b.jpg", scene, **CANON, taken="2018:06:14 08:59:00")
    garbled = add_xmp(jpeg, xmp_packet(rating=5))
    garbled.write_bytes(corrupt_scan_data(garbled.read_bytes()))
    photos = photos_of(garbled, intact)
    assert photos[0].analysis.damage
    assert rank(photos)[0].photo.source.path == garbled  # rated: it would win on the scores
    assert pick_header(photos).source.path == intact
    assert pick_header(photos_of(garbled)).source.path == garbled


def test_a_burst_frame_that_was_not_kept_is_never_the_header(tmp_path):
    """The keeper (more pixels) is worse exposed than the dropped frame of the same burst."""
    scene = real_photo("life", 1200)
    kept = write_jpeg(
        tmp_path / "IMG_0001.JPG",
        ImageEnhance.Brightness(scene).enhance(1.6),
        **CANON,
        taken="2018:06:14 09:00:00",
        subsec="10",
    )
    dropped = write_jpeg(
        tmp_path / "IMG_0002.JPG",
        scene.resize((900, 600)),
        **CANON,
        taken="2018:06:14 09:00:00",
        subsec="60",
    )
    options = IngestOptions(sources=(tmp_path,), bundle=Path(), cache=None, jobs=1)
    choice = choose_header(options)
    scores = {s.photo.source.path: s.score for s in rank(photos_of(kept, dropped))}
    assert scores[dropped] > scores[kept]  # on scores alone the dropped frame would win
    assert choice.header.source.path == kept
    assert [s.photo.source.path for s in choice.ranked] == [kept]


def test_header_explain_shows_five_and_why(candidates, tmp_path):
    folder = candidates["sharp"].source.path.parent
    args = [sys.executable, "-m", "gallerypipe", "header", folder, "--no-cache", "--keep-all"]
    text = subprocess.run([*map(str, args), "--explain"], capture_output=True, text=True)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == f"header: {candidates['sharp'].source.path}"
    assert lines[1].startswith("why: highest score")
    assert len(lines) == 3 + 1 + 5  # header, why, title, column names, five candidates
    data = json.loads(subprocess.run([*map(str, args), "--json"], capture_output=True).stdout)
    assert [c["score"] for c in data["candidates"]] == sorted(
        (c["score"] for c in data["candidates"]), reverse=True
    )
    assert set(data["candidates"][0]) >= {"sharpness", "exposure", "landscape", "rating"}
    outsider = write_jpeg(tmp_path / "IMG_7777.JPG", real_photo("sunset", 300), **CANON)
    wrong = subprocess.run([*map(str, args), "--header", str(outsider)], capture_output=True)
    assert wrong.returncode == 1 and str(outsider).encode() in wrong.stderr
