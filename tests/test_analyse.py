"""analyse: identity, oriented size, hashes and quality figures; broken files become Problems."""

from __future__ import annotations

import hashlib
import os

import imagehash
import pytest
from photos import (
    CANON,
    claim_size,
    corrupt_scan_data,
    encode_jpeg,
    exif_block,
    hamming,
    real_photo,
    sample_path,
    write_bomb,
    write_empty_jpg,
    write_jpeg,
    write_text_as_jpg,
    write_truncated_jpeg,
)
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from gallerypipe.analyse import Analysed, _hash_size, analyse_file
from gallerypipe.imaging import BadImage, decode, decode_gray, open_image
from gallerypipe.model import Problem, SourceFile
from gallerypipe.scan import scan


def source_of(path) -> SourceFile:
    """The SourceFile scan makes for a file (which must look like a photo)."""
    (source,) = scan([path]).photos
    return source


def raw_source(path) -> SourceFile:
    """A SourceFile for any file, as if its content changed after the scan."""
    stat = os.stat(path)
    return SourceFile(path, str(path), path.name, "jpeg", stat.st_size, stat.st_mtime)


def analysis_of(path):
    result = analyse_file(source_of(path))
    assert isinstance(result, Analysed), result
    return result.analysis


@pytest.fixture(scope="module")
def landscape():
    return real_photo("picos", 1200)  # 1200×900


@pytest.mark.parametrize(("orientation", "swapped"), [(1, False), (3, False), (6, True), (8, True)])
def test_size_is_reported_after_orientation(tmp_path, landscape, orientation, swapped):
    path = write_jpeg(tmp_path / "a.jpg", landscape, **CANON, orientation=orientation)
    a = analysis_of(path)
    expected = (900, 1200) if swapped else (1200, 900)
    assert (a.width, a.height) == expected


def test_rotated_sample_reads_as_portrait():
    a = analysis_of(sample_path("IMG_5103.JPG"))  # stored 1800×1198, Orientation 6
    assert (a.width, a.height) == (1198, 1800)


def test_sha256_is_of_the_file_bytes(tmp_path, landscape):
    path = write_jpeg(tmp_path / "a.jpg", landscape, **CANON, taken="2018:06:14 09:00:00")
    assert analysis_of(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_hashes_follow_orientation(tmp_path, landscape):
    """The same scene stored upright, or rotated with Orientation 6, hashes alike."""
    upright = write_jpeg(tmp_path / "upright.jpg", landscape, **CANON)
    stored = landscape.transpose(Image.Transpose.ROTATE_90)  # display needs a turn clockwise
    rotated = write_jpeg(tmp_path / "rotated.jpg", stored, **CANON, orientation=6)
    a, b = analysis_of(upright), analysis_of(rotated)
    assert hamming(a.phash, b.phash) <= 4
    assert hamming(a.dhash, b.dhash) <= 6
    assert (b.width, b.height) == (a.width, a.height)


def test_a_2400_px_photo_is_analysed_from_a_quarter_scale_decode():
    """The precondition of the next test: the smallest DCT scale keeping 512 px is used (¼ here;
    ⅛ for a 24 MP frame)."""
    with Image.open(sample_path("aitzgorri")) as img:
        full = img.size
        img.draft("L", _hash_size(img.size))
        assert img.size == ((full[0] + 3) // 4, (full[1] + 3) // 4)
    assert _hash_size((6000, 4000)) == (750, 500)


@pytest.mark.parametrize("name", ["aitzgorri", "life", "wine", "friends"])
def test_phash_of_the_reduced_decode_matches_a_full_decode(name):
    """analyse hashes a ⅛- or ¼-scale decode; the hash must be the one of the full picture."""
    path = sample_path(name)
    with Image.open(path) as img:
        full = ImageOps.exif_transpose(img).convert("L")
    reference = int(str(imagehash.phash(full)), 16)
    assert hamming(analysis_of(path).phash, reference) <= 4


def test_different_photos_hash_far_apart():
    a, b = analysis_of(sample_path("picos")), analysis_of(sample_path("fig"))
    assert hamming(a.phash, b.phash) > 16


def test_blur_lowers_sharpness(tmp_path, landscape):
    sharp = write_jpeg(tmp_path / "sharp.jpg", landscape, **CANON)
    soft = write_jpeg(tmp_path / "soft.jpg", landscape.filter(ImageFilter.GaussianBlur(4)), **CANON)
    assert analysis_of(soft).sharpness < analysis_of(sharp).sharpness / 4


def test_clipping_figures_follow_exposure(tmp_path, landscape):
    normal = analysis_of(write_jpeg(tmp_path / "n.jpg", landscape))
    dark = analysis_of(
        write_jpeg(tmp_path / "d.jpg", ImageEnhance.Brightness(landscape).enhance(0.15))
    )
    bright = analysis_of(
        write_jpeg(tmp_path / "b.jpg", ImageEnhance.Brightness(landscape).enhance(2.5))
    )
    assert dark.clipped_shadows > normal.clipped_shadows + 0.2
    assert bright.clipped_highlights > normal.clipped_highlights + 0.2
    for a in (normal, dark, bright):
        assert 0.0 <= a.clipped_shadows <= 1.0
        assert 0.0 <= a.clipped_highlights <= 1.0


def test_truncated_jpeg_is_a_problem(tmp_path):
    path = write_truncated_jpeg(tmp_path / "IMG_0001.JPG")
    result = analyse_file(source_of(path))  # it still looks like a JPEG to scan
    assert isinstance(result, Problem)
    assert result.path == str(path)
    assert "cannot decode" in result.reason
    assert "truncated" in result.reason


def test_corrupt_scan_data_is_analysed_and_flagged(tmp_path, landscape):
    intact = encode_jpeg(landscape, exif=exif_block(**CANON))
    path = tmp_path / "IMG_0001.JPG"
    path.write_bytes(corrupt_scan_data(intact))
    damaged = analysis_of(path)
    assert "Corrupt JPEG data" in damaged.damage
    path.write_bytes(intact)
    assert analysis_of(path).damage == ""


def test_a_few_padding_bytes_before_the_end_marker_are_not_damage(tmp_path, landscape):
    """Some firmwares pad after the last block; libjpeg-turbo warns, yet no pixel changes."""
    intact = encode_jpeg(landscape, exif=exif_block(**CANON))
    path = tmp_path / "IMG_0002.JPG"
    path.write_bytes(intact[:-2] + bytes(3) + intact[-2:])
    padded = analysis_of(path)
    assert padded.damage == ""
    path.write_bytes(intact)
    assert padded.phash == analysis_of(path).phash


@pytest.mark.parametrize("name", ["aitzgorri", "wine", "picos"])
def test_the_checked_grey_decode_gives_pillows_pixels(name):
    """Hashes must not change with the decoder that checks the data."""
    data = sample_path(name).read_bytes()
    with open_image(data) as img:
        size = _hash_size(img.size)
        checked, damage = decode_gray(data, img, size)
    with open_image(data) as img:
        assert checked.tobytes() == decode(img, "L", size).tobytes()
    assert damage == ""


def test_decompression_bomb_header_is_refused_unread(tmp_path):
    path = write_bomb(tmp_path / "IMG_0002.JPG")
    result = analyse_file(source_of(path))
    assert isinstance(result, Problem)
    assert result.reason.startswith("refused")
    assert "pixels" in result.reason


def test_text_file_is_a_problem(tmp_path):
    path = write_text_as_jpg(tmp_path / "IMG_0003.JPG")
    result = analyse_file(raw_source(path))
    assert isinstance(result, Problem)
    assert result.reason.startswith("not a readable image")


def test_empty_file_is_a_problem(tmp_path):
    path = write_empty_jpg(tmp_path / "IMG_0004.JPG")
    result = analyse_file(raw_source(path))
    assert isinstance(result, Problem)
    assert result.reason.startswith("not a readable image")


def test_vanished_file_is_a_problem(tmp_path, landscape):
    path = write_jpeg(tmp_path / "IMG_0005.JPG", landscape)
    source = source_of(path)
    path.unlink()  # the card was pulled between scan and analyse
    result = analyse_file(source)
    assert isinstance(result, Problem)
    assert result.reason.startswith("cannot read")


# Fujifilm GFX100 / Hasselblad X2D frames: 11648 × 8736 ≈ 102 MP, well under MAX_PIXELS (250 MP).
GFX100 = (11648, 8736)


def test_a_100_megapixel_frame_is_not_refused():
    jpeg = claim_size(encode_jpeg(real_photo("picos", 600), exif=exif_block(**CANON)), *GFX100)
    with open_image(jpeg) as img:  # opening reads the header only
        assert img.size == GFX100


def test_over_max_pixels_is_refused_before_decoding():
    jpeg = claim_size(encode_jpeg(real_photo("picos", 600)), 20_000, 15_000)  # 300 MP
    with pytest.raises(BadImage, match="refused"), open_image(jpeg):
        pass
