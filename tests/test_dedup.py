"""dedup: exact copies, re-encoded exports and bursts collapse to one keeper; moments stay."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
from photos import CANON, NIKON, hamming, photos_of, real_photo, write_jpeg
from PIL import Image, ImageEnhance, ImageFilter

from gallerypipe.dedup import DEFAULT_THRESHOLD, find_duplicates


def names(photos):
    return sorted(p.source.path.name for p in photos)


def only_group(result):
    (group,) = result.groups
    return group, {d.photo.source.path.name: d for d in group.duplicates}


@pytest.fixture(scope="module")
def stream():
    """A forest stream at 1200 px, and the same frame with a rock moved in the corner."""
    base = real_photo("life", 1200)
    changed = base.copy()
    w, h = changed.size
    patch = real_photo("sunset", (int(w * 0.15), int(h * 0.15)))  # a real photo's patch
    changed.paste(patch, (int(w * 0.55), int(h * 0.5)))
    return base, changed


def test_exact_copy_is_dropped_as_exact(tmp_path):
    original = write_jpeg(
        tmp_path / "card-a" / "IMG_0001.JPG",
        real_photo("fig", 900),
        **CANON,
        taken="2018:06:14 09:00:00",
    )
    copy = tmp_path / "card-b" / "IMG_0001.JPG"
    copy.parent.mkdir()
    shutil.copyfile(original, copy)
    other = write_jpeg(
        tmp_path / "card-a" / "IMG_0002.JPG",
        real_photo("picos", 900),
        **CANON,
        taken="2018:06:14 09:05:00",
    )
    result = find_duplicates(photos_of(original, copy, other))
    group, dups = only_group(result)
    assert group.keep.source.path == original  # a tie is broken by the path, card-a first
    assert dups["IMG_0001.JPG"].reason == "exact"
    assert dups["IMG_0001.JPG"].distance == 0
    assert dups["IMG_0001.JPG"].photo.source.path == copy
    assert result.dropped == 1
    assert [p.source.path for p in result.kept] == [original, other]


def test_reencoded_and_resized_exports_without_exif_are_near_copies_of_the_original(tmp_path):
    scene = real_photo("aitzgorri", 2000)
    original = write_jpeg(
        tmp_path / "IMG_5101.JPG", scene, **CANON, taken="2018:06:14 09:02:11", subsec="27"
    )
    q70 = write_jpeg(tmp_path / "IMG_5101-q70.jpg", scene, quality=70)
    export = write_jpeg(tmp_path / "IMG_5101-1600.jpg", real_photo("aitzgorri", 1600), quality=80)
    result = find_duplicates(photos_of(original, q70, export))
    group, dups = only_group(result)
    assert group.keep.source.path == original
    assert sorted(dups) == ["IMG_5101-1600.jpg", "IMG_5101-q70.jpg"]
    for d in dups.values():
        assert d.reason == "near"
        assert d.distance <= DEFAULT_THRESHOLD
    assert names(result.kept) == ["IMG_5101.JPG"]


def test_camera_original_beats_a_larger_upscaled_export(tmp_path):
    original = write_jpeg(
        tmp_path / "DSC_0042.JPG", real_photo("kleiber", 1200), **NIKON, taken="2018:06:14 09:06:52"
    )
    upscaled = real_photo("kleiber", 1200).resize((2400, 1350), Image.Resampling.BICUBIC)
    export = write_jpeg(tmp_path / "DSC_0042-enlarged.jpg", upscaled, quality=92)
    group, _ = only_group(find_duplicates(photos_of(original, export)))
    assert group.keep.source.path == original


def test_between_two_camera_files_the_larger_is_kept(tmp_path):
    """A Lightroom export that kept the EXIF, as DSC_0045 in the samples."""
    tags = dict(**CANON, taken="2018:06:14 09:02:11", subsec="27")
    small = write_jpeg(tmp_path / "export.jpg", real_photo("aitzgorri", 1600), quality=75, **tags)
    large = write_jpeg(tmp_path / "IMG_5101.JPG", real_photo("aitzgorri", 2000), **tags)
    group, dups = only_group(find_duplicates(photos_of(small, large)))
    assert group.keep.source.path == large
    assert dups["export.jpg"].reason == "near"


def test_same_scene_a_minute_apart_is_two_moments(tmp_path, stream):
    base, changed = stream
    first = write_jpeg(tmp_path / "IMG_0001.JPG", base, **CANON, taken="2018:06:14 09:00:00")
    later = write_jpeg(tmp_path / "IMG_0002.JPG", changed, **CANON, taken="2018:06:14 09:01:00")
    photos = photos_of(first, later)
    # The two frames are close enough to be taken for one photo by their hashes alone...
    assert hamming(photos[0].analysis.phash, photos[1].analysis.phash) <= DEFAULT_THRESHOLD
    # ...but one camera a minute apart means two moments: both are kept.
    result = find_duplicates(photos)
    assert result.groups == ()
    assert names(result.kept) == ["IMG_0001.JPG", "IMG_0002.JPG"]


def test_burst_a_second_apart_keeps_one(tmp_path, stream):
    base, changed = stream
    tags = dict(CANON)
    first = write_jpeg(
        tmp_path / "IMG_0001.JPG", base, **tags, taken="2018:06:14 09:00:00", subsec="10"
    )
    second = write_jpeg(
        tmp_path / "IMG_0002.JPG", changed, **tags, taken="2018:06:14 09:00:01", subsec="10"
    )
    result = find_duplicates(photos_of(first, second))
    group, _ = only_group(result)
    assert len(result.kept) == 1
    assert [d.reason for d in group.duplicates] == ["burst"]
    assert group.keep in result.kept


def test_one_frame_under_two_camera_names_is_a_near_copy_not_a_burst(tmp_path, stream):
    """Time apart only separates frames of one body; the same frame from two is one photo."""
    base, _ = stream
    canon = write_jpeg(tmp_path / "IMG_0001.JPG", base, **CANON, taken="2018:06:14 09:00:00")
    nikon = write_jpeg(
        tmp_path / "DSC_0001.JPG", base, **NIKON, taken="2018:06:14 09:01:00", quality=75
    )
    _, dups = only_group(find_duplicates(photos_of(canon, nikon)))
    (dup,) = dups.values()
    assert dup.reason == "near"


def test_two_cameras_framing_one_scene_with_a_region_changed_are_two_photos(tmp_path, stream):
    base, changed = stream
    canon = write_jpeg(tmp_path / "IMG_0001.JPG", base, **CANON, taken="2018:06:14 09:00:00")
    nikon = write_jpeg(tmp_path / "DSC_0001.JPG", changed, **NIKON, taken="2018:06:14 09:01:00")
    photos = photos_of(canon, nikon)
    assert hamming(photos[0].analysis.phash, photos[1].analysis.phash) <= DEFAULT_THRESHOLD
    assert find_duplicates(photos).groups == ()


def test_different_photos_are_all_kept(tmp_path):
    paths = [
        write_jpeg(
            tmp_path / f"IMG_{i:04d}.JPG",
            real_photo(name, 800),
            **CANON,
            taken=f"2018:06:14 09:0{i}:00",
        )
        for i, name in enumerate(["picos", "life", "sunset", "fig", "kleiber"])
    ]
    result = find_duplicates(photos_of(*paths))
    assert result.groups == ()
    assert result.dropped == 0
    assert [p.source.path for p in result.kept] == paths  # in capture order


def test_an_export_does_not_merge_two_moments(tmp_path, stream):
    base, changed = stream
    first = write_jpeg(tmp_path / "IMG_0001.JPG", base, **CANON, taken="2018:06:14 09:00:00")
    later = write_jpeg(tmp_path / "IMG_0002.JPG", changed, **CANON, taken="2018:06:14 09:01:00")
    export = write_jpeg(tmp_path / "export.jpg", real_photo("life", 900), quality=80)
    photos = photos_of(first, later, export)
    by = {p.source.path.name: p for p in photos}
    # Preconditions: the export is within the threshold of both frames.
    for frame in ("IMG_0001.JPG", "IMG_0002.JPG"):
        assert hamming(by[frame].analysis.phash, by["export.jpg"].analysis.phash) <= 8
    result = find_duplicates(photos)
    assert names(result.kept) == ["IMG_0001.JPG", "IMG_0002.JPG"]


def test_one_body_minutes_apart_is_two_exposures_unless_pixel_identical(tmp_path, stream):
    """A tripod shot repeated on an unchanged scene is two exposures (a false keep costs a
    delete, a false merge a photo); the same image data under a retagged time is one photo."""
    base, _ = stream
    first = write_jpeg(tmp_path / "IMG_0001.JPG", base, **CANON, taken="2018:06:14 09:00:00")
    again = write_jpeg(
        tmp_path / "IMG_0002.JPG", base, **CANON, taken="2018:06:14 09:02:00", quality=80
    )
    photos = photos_of(first, again)
    assert hamming(photos[0].analysis.phash, photos[1].analysis.phash) <= 2
    result = find_duplicates(photos)
    assert result.groups == ()
    (similar,) = result.similar
    assert similar.reason == "different exposures: one camera, 2 min apart"
    retagged = tmp_path / "retagged" / "IMG_0001.JPG"
    retagged.parent.mkdir()
    data = first.read_bytes().replace(b"2018:06:14 09:00:00", b"2018:06:14 09:02:00")
    retagged.write_bytes(data)
    _, dups = only_group(find_duplicates(photos_of(first, retagged)))
    assert [d.reason for d in dups.values()] == ["near"]


@pytest.mark.parametrize(
    "turn",
    [Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270],
)
def test_a_copy_with_its_pixels_turned_is_a_rotated_duplicate(tmp_path, turn):
    scene = real_photo("picos", 900)
    original = write_jpeg(tmp_path / "IMG_5102.JPG", scene, **CANON, taken="2018:06:14 09:00:00")
    turned = write_jpeg(tmp_path / "IMG_5102-turned.jpg", scene.transpose(turn), quality=80)
    other = write_jpeg(tmp_path / "IMG_5104.JPG", real_photo("life", 900), **CANON)
    result = find_duplicates(photos_of(original, turned, other))
    group, dups = only_group(result)
    assert group.keep.source.path == original
    assert dups["IMG_5102-turned.jpg"].reason == "rotated"
    assert dups["IMG_5102-turned.jpg"].distance <= DEFAULT_THRESHOLD


def test_a_copy_stored_turned_with_an_orientation_tag_is_a_near_copy(tmp_path):
    """Hashes are of the upright image, so the tag undoes the turn before hashing."""
    scene = real_photo("fig", 900)
    original = write_jpeg(tmp_path / "DSC_0043.JPG", scene, **NIKON, taken="2018:06:14 09:00:00")
    stored = scene.transpose(Image.Transpose.ROTATE_90)  # turned back by Orientation 6
    tagged = write_jpeg(
        tmp_path / "DSC_0043-tagged.jpg",
        stored,
        **NIKON,
        taken="2018:06:14 09:00:00",
        orientation=6,
    )
    _, dups = only_group(find_duplicates(photos_of(original, tagged)))
    assert dups["DSC_0043-tagged.jpg"].reason == "near"


def test_a_copy_whose_orientation_tag_alone_differs_is_a_rotated_duplicate(tmp_path):
    scene = real_photo("fig", 900)
    original = write_jpeg(tmp_path / "DSC_0043.JPG", scene, **NIKON, taken="2018:06:14 09:00:00")
    retagged = write_jpeg(
        tmp_path / "DSC_0043-retagged.jpg",
        scene,
        **NIKON,
        taken="2018:06:14 09:00:00",
        orientation=8,
    )
    photos = photos_of(original, retagged)
    assert photos[0].landscape != photos[1].landscape  # the tag turned one of them upright
    group, dups = only_group(find_duplicates(photos))
    assert [d.reason for d in dups.values()] == ["rotated"]
    assert group.keep.source.path in (original, retagged)


def test_a_borderline_pair_needs_its_dhash_to_agree(tmp_path):
    """Only the second hash differs between the two runs: the rule is what changes the outcome."""
    scene = real_photo("aitzgorri", 1200)
    original = write_jpeg(tmp_path / "IMG_5101.JPG", scene, **CANON, taken="2018:06:14 09:00:00")
    cropped = scene.crop((30, 20, scene.width - 6, scene.height - 10))  # 3 % off the sides
    export = write_jpeg(tmp_path / "IMG_5101-crop.jpg", cropped, quality=70)
    a, b = photos_of(original, export)
    distance = hamming(a.analysis.phash, b.analysis.phash)
    assert distance > 0
    threshold = distance  # the pair sits at the top of the threshold: borderline
    assert len(find_duplicates([a, b], threshold).groups) == 1
    unrelated = replace(b, analysis=replace(b.analysis, dhash=a.analysis.dhash ^ (2**64 - 1)))
    assert find_duplicates([a, unrelated], threshold).groups == ()
    # within the lower half of the threshold the phash alone is trusted
    assert len(find_duplicates([a, unrelated], 2 * threshold + 2).groups) == 1


def rated(photo, rating):
    return replace(photo, meta=replace(photo.meta, rating=rating))


def test_the_higher_rated_copy_is_kept_even_if_smaller(tmp_path):
    tags = dict(**CANON, taken="2018:06:14 09:02:11")
    small = write_jpeg(tmp_path / "export.jpg", real_photo("aitzgorri", 1200), **tags)
    large = write_jpeg(tmp_path / "IMG_5101.JPG", real_photo("aitzgorri", 2000), **tags)
    by = {p.source.path.name: p for p in photos_of(small, large)}
    group, _ = only_group(find_duplicates([by["IMG_5101.JPG"], by["export.jpg"]]))
    assert group.keep.source.path == large
    assert group.why_kept.startswith("more pixels")
    group, _ = only_group(
        find_duplicates([rated(by["IMG_5101.JPG"], 2), rated(by["export.jpg"], 5)])
    )
    assert group.keep.source.path == small
    assert group.why_kept == "higher rating (5 over 2)"


def test_every_keeper_says_why(tmp_path):
    scene = real_photo("kleiber", 1000)
    original = write_jpeg(tmp_path / "DSC_0042.JPG", scene, **NIKON, taken="2018:06:14 09:06:52")
    export = write_jpeg(tmp_path / "DSC_0042-web.jpg", scene.resize((1000, 563)), quality=80)
    group, _ = only_group(find_duplicates(photos_of(original, export)))
    assert group.why_kept == "camera original (the others have no EXIF)"


def _gesture(name: str, box: tuple[float, float, float, float]) -> tuple[Image.Image, Image.Image]:
    """A frame and the same frame with a region (12-14 % of it) flipped where it stands: a
    gesture that leaves the phash within 0-2 bits."""
    base = real_photo(name, 1200)
    w, h = base.size
    x, y, bw, bh = box
    region = (int(w * x), int(h * y), int(w * (x + bw)), int(h * (y + bh)))
    moved = base.copy()
    moved.paste(base.crop(region).transpose(Image.Transpose.FLIP_TOP_BOTTOM), region)
    return base, moved


GESTURES = {"picos": (0.1, 0.5, 0.3, 0.4), "kleiber": (0.55, 0.45, 0.35, 0.4)}


@pytest.mark.parametrize("name", sorted(GESTURES))
def test_a_gesture_at_a_phash_distance_of_two_bits_or_less_is_another_moment(tmp_path, name):
    """Without EXIF nothing but the pixels tells; the local change test keeps the two apart
    while every kind of copy of the frame stays with it."""
    base, moved = _gesture(name, GESTURES[name])
    original = write_jpeg(tmp_path / "IMG_0001.JPG", base, **CANON, taken="2018:06:14 09:00:00")
    gesture = write_jpeg(tmp_path / "later.jpg", moved, quality=90)
    w, h = base.size
    copies = [
        write_jpeg(tmp_path / "q70.jpg", base, quality=70),
        write_jpeg(tmp_path / "1000px.jpg", base.resize((1000, round(1000 * h / w)))),
        write_jpeg(tmp_path / "crop.jpg", base.crop((24, 12, w - 12, h - 24))),  # 3 %
        write_jpeg(tmp_path / "brighter.jpg", ImageEnhance.Brightness(base).enhance(2**0.3)),
    ]
    photos = photos_of(original, gesture, *copies)
    by = {p.source.path.name: p for p in photos}
    assert hamming(by["later.jpg"].analysis.phash, by["IMG_0001.JPG"].analysis.phash) <= 2
    result = find_duplicates(photos)
    group, dups = only_group(result)
    assert group.keep.source.path == original
    assert sorted(dups) == sorted(p.name for p in copies)
    assert "later.jpg" in names(result.kept)
    apart = {tuple(names([s.left, s.right])): s.reason for s in result.similar}
    assert apart[("IMG_0001.JPG", "later.jpg")].startswith("a region changed")


def test_a_copy_joins_its_one_original_and_never_joins_two(tmp_path):
    base, moved = _gesture("kleiber", GESTURES["kleiber"])
    first = write_jpeg(tmp_path / "DSC_0001.JPG", base, **NIKON, taken="2018:06:14 09:00:00")
    later = write_jpeg(tmp_path / "DSC_0002.JPG", moved, **NIKON, taken="2018:06:14 09:01:30")
    first_share = write_jpeg(tmp_path / "share-1.jpg", base.resize((900, 506)), quality=75)
    later_share = write_jpeg(tmp_path / "share-2.jpg", moved.resize((900, 506)), quality=75)
    photos = photos_of(first, later, first_share, later_share)
    for share in photos[2:]:  # each share is within the threshold of both originals
        assert all(hamming(share.analysis.phash, o.analysis.phash) <= 4 for o in photos[:2])
    result = find_duplicates(photos)
    groups = sorted(
        sorted([g.keep.source.path.name, *names(d.photo for d in g.duplicates)])
        for g in result.groups
    )
    assert groups == [["DSC_0001.JPG", "share-1.jpg"], ["DSC_0002.JPG", "share-2.jpg"]]
    apart = {tuple(names([s.left, s.right])): s.reason for s in result.similar}
    assert apart[("DSC_0001.JPG", "DSC_0002.JPG")].startswith("different exposures")


def test_a_burst_with_small_shifts_and_blur_stays_one_photo(tmp_path):
    base = real_photo("life", 1200)
    w, h = base.size
    frames = []
    for k in range(5):  # 0.2 s apart, each a pixel or two off, some a little blurred
        frame = base.crop((k * 2, k, w - 8 + k * 2, h - 4 + k)).resize((w, h))
        if k % 2:
            frame = frame.filter(ImageFilter.GaussianBlur(0.8))
        taken = "2018:06:14 09:00:01" if k >= 3 else "2018:06:14 09:00:00"
        subsec = f"{(k * 20) % 100:02d}"
        path = tmp_path / f"IMG_{k:04d}.JPG"
        frames.append(write_jpeg(path, frame, **CANON, taken=taken, subsec=subsec))
    result = find_duplicates(photos_of(*frames))
    _, dups = only_group(result)
    assert {d.reason for d in dups.values()} == {"burst"}
    assert len(result.kept) == 1
