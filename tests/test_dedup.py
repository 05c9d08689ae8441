"""dedup: exact copies, re-encoded exports and bursts collapse to one keeper; moments stay."""

from __future__ import annotations

import shutil
from itertools import combinations

import numpy as np
import pytest
from photos import CANON, NIKON, hamming, photos_of, real_photo, write_jpeg
from PIL import Image

from gallerypipe import dedup
from gallerypipe.dedup import DEFAULT_THRESHOLD, close_pairs, find_duplicates


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


def test_two_cameras_framing_one_scene_are_near_copies_not_a_burst(tmp_path, stream):
    """Time apart only separates frames of one body; two bodies' close frames are near copies."""
    base, changed = stream
    canon = write_jpeg(tmp_path / "IMG_0001.JPG", base, **CANON, taken="2018:06:14 09:00:00")
    nikon = write_jpeg(tmp_path / "DSC_0001.JPG", changed, **NIKON, taken="2018:06:14 09:01:00")
    _, dups = only_group(find_duplicates(photos_of(canon, nikon)))
    (dup,) = dups.values()
    assert dup.reason == "near"


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


# close_pairs against a plain Python reference


def reference_pairs(hashes, threshold):
    return sorted(
        (i, j, (a ^ b).bit_count())
        for (i, a), (j, b) in combinations(enumerate(hashes), 2)
        if (a ^ b).bit_count() <= threshold
    )


def clustered_hashes(rng, clusters: int, per_cluster: int) -> list[int]:
    """64-bit hashes in clusters (a few bits flipped around a centre), plus exact repeats.

    Uniformly random hashes are almost never within 10 bits of each other, which would leave
    the comparison with nothing to compare.
    """
    hashes = []
    for centre in rng.integers(0, 2**64, size=clusters, dtype=np.uint64):
        for _ in range(per_cluster):
            flips = rng.choice(64, size=int(rng.integers(0, 12)), replace=False)
            value = int(centre)
            for bit in flips:
                value ^= 1 << int(bit)
            hashes.append(value)
    hashes += hashes[:: per_cluster + 1]  # exact repeats, far apart in the list
    order = rng.permutation(len(hashes))
    return [hashes[k] for k in order]


@pytest.mark.parametrize("threshold", [0, 5, 10])
def test_close_pairs_matches_brute_force(threshold):
    rng = np.random.default_rng(20180614)
    hashes = clustered_hashes(rng, clusters=40, per_cluster=8)
    hashes.append((1 << 64) - 1)  # the top bit set: must survive the uint64 conversion
    hashes.append((1 << 64) - 1 ^ 0b111)
    expected = reference_pairs(hashes, threshold)
    assert len(expected) > 3  # the case is not trivially empty
    assert sorted(close_pairs(hashes, threshold)) == expected


@pytest.mark.parametrize("block", [1, 7, 64])
def test_close_pairs_is_the_same_across_block_boundaries(monkeypatch, block):
    rng = np.random.default_rng(7)
    hashes = clustered_hashes(rng, clusters=12, per_cluster=6)
    monkeypatch.setattr(dedup, "_BLOCK", block)
    assert sorted(close_pairs(hashes, 10)) == reference_pairs(hashes, 10)


def test_close_pairs_of_nothing():
    assert close_pairs([], 10) == []
    assert close_pairs([0xFFFF], 64) == []
