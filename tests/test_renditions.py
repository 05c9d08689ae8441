"""renditions: sizes, upright pixels, no private metadata, sRGB, progressive JPEG."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import piexif
import pytest
from photos import CANON, embedded_icc, exif_block, photo_of, real_photo, write_jpeg
from PIL import Image, ImageCms, ImageOps, features

from gallerypipe.imaging import decode, decode_rgb, open_image
from gallerypipe.model import Problem
from gallerypipe.renditions import (
    RenderOutput,
    RenderSettings,
    RenderSettingsError,
    plan_renditions,
    render_photo,
)

EXIFTOOL = shutil.which("exiftool")
SETTINGS = RenderSettings()
ORIENTATION = 0x0112


def render(path: Path, settings: RenderSettings = SETTINGS) -> RenderOutput:
    out = render_photo(photo_of(path), settings)
    assert isinstance(out, RenderOutput), out
    return out


def decoded(payload: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(payload))
    img.load()
    return img


def mean_abs_diff(a: Image.Image, b: Image.Image, size=(48, 48)) -> float:
    """Mean absolute difference (0–255) of two images shrunk to the same small size."""
    small_a = np.asarray(a.convert("RGB").resize(size, Image.Resampling.BOX), dtype=np.float32)
    small_b = np.asarray(b.convert("RGB").resize(size, Image.Resampling.BOX), dtype=np.float32)
    return float(np.abs(small_a - small_b).mean())


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory) -> Path:
    """A 2400×1598 camera JPEG with everything a camera writes, GPS and serial included."""
    return write_jpeg(
        tmp_path_factory.mktemp("cam") / "IMG_5101.JPG",
        real_photo("aitzgorri"),
        **CANON,
        taken="2018:06:14 09:02:11",
        subsec="27",
        offset="+02:00",
        description="Larches turning below the Aitzgorri ridge",
        orientation=1,
        gps=True,
    )


@pytest.fixture(scope="module")
def camera_output(camera_file) -> RenderOutput:
    return render(camera_file)


def test_large_source_gets_every_long_edge(camera_output):
    edges = [max(r.width, r.height) for r in camera_output.renditions]
    assert edges == [e for e in (2048, 1280, 800, 640, 480) for _ in "jw"]  # JPEG and WebP each
    for r, payload in zip(camera_output.renditions, camera_output.payloads, strict=True):
        img = decoded(payload)
        assert img.size == (r.width, r.height)
        assert abs(r.width / r.height - 2400 / 1598) < 0.01  # aspect ratio kept


def test_renditions_describe_their_bytes(camera_output, camera_file):
    photo = photo_of(camera_file)
    keys = [r.key for r in camera_output.renditions]
    assert len(set(keys)) == len(keys)
    assert camera_output.photo_id == photo.id
    for r, payload in zip(camera_output.renditions, camera_output.payloads, strict=True):
        assert r.bytes == len(payload)
        assert r.sha256 == hashlib.sha256(payload).hexdigest()
        assert photo.id in r.key
        if r.key.endswith(".jpg"):
            assert r.content_type == "image/jpeg" and payload[:3] == b"\xff\xd8\xff"
        else:
            assert r.key.endswith(".webp") and r.content_type == "image/webp"
            assert payload[:4] == b"RIFF" and payload[8:12] == b"WEBP"
    planned = plan_renditions(photo, SETTINGS)
    assert [(p.key, p.width, p.height) for p in planned] == [
        (r.key, r.width, r.height) for r in camera_output.renditions
    ]


def test_renditions_look_like_the_photo(camera_output):
    source = real_photo("aitzgorri")
    for payload in camera_output.payloads:
        assert mean_abs_diff(decoded(payload), source) < 3


def test_small_source_is_never_enlarged_nor_duplicated(tmp_path):
    path = write_jpeg(tmp_path / "small.jpg", real_photo("picos", 900), **CANON)  # 900×675
    out = render(path)
    sizes = [(r.width, r.height) for r in out.renditions]
    assert sizes == [
        (w, h) for w, h in ((900, 675), (800, 600), (640, 480), (480, 360)) for _ in "jw"
    ]
    assert len({r.key for r in out.renditions}) == len(out.renditions)
    assert len(out.payloads) == len(out.renditions)
    for payload in out.payloads:
        assert max(decoded(payload).size) <= 900


@pytest.mark.parametrize("sizes", [(2048, 1024, 480), (480,)])  # full decode, and a ½ draft
def test_orientation_6_gives_upright_portrait_pixels(tmp_path, sizes):
    upright = real_photo("wine", (800, 1200))  # a portrait interior
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as the sensor wrote it: landscape
    path = write_jpeg(tmp_path / "IMG_0001.JPG", stored, **CANON, orientation=6)
    # What any viewer shows for this file.
    with Image.open(path) as img:
        shown = ImageOps.exif_transpose(img)
    assert shown.size == (800, 1200)
    out = render(path, RenderSettings(sizes=sizes))
    for r, payload in zip(out.renditions, out.payloads, strict=True):
        img = decoded(payload)
        assert img.height > img.width, (r.width, r.height)
        assert ORIENTATION not in img.getexif()  # nothing left to turn it a second time
        right = mean_abs_diff(img, shown)
        wrong = mean_abs_diff(
            img, shown.transpose(Image.Transpose.ROTATE_180)
        )  # turned the wrong way
        unrotated = mean_abs_diff(img, stored)  # the stored pixels squeezed to portrait
        assert right < 3
        assert wrong > 4 * right
        assert unrotated > 4 * right


def test_only_artist_copyright_and_capture_time_are_published(camera_output):
    for payload in camera_output.payloads:
        tags = piexif.load(decoded(payload).info["exif"])
        assert tags["Exif"] == {
            piexif.ExifIFD.DateTimeOriginal: b"2018:06:14 09:02:11",
            piexif.ExifIFD.SubSecTimeOriginal: b"27",
            piexif.ExifIFD.OffsetTimeOriginal: b"+02:00",
        }
        assert set(tags["0th"]) <= {piexif.ImageIFD.ExifTag}
        assert not tags["GPS"] and not tags["1st"] and tags["thumbnail"] is None
        assert b"032021001234" not in payload  # the body serial number
        assert b"Aitzgorri" not in payload  # nor the description, nor any other text
        assert b"Canon" not in payload


def exiftool(*paths: Path) -> list[dict]:
    run = subprocess.run(
        [EXIFTOOL, "-j", "-G", "-a", "-u", *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout)


def written(out: RenderOutput, folder: Path) -> list[Path]:
    files = []
    for r, payload in zip(out.renditions, out.payloads, strict=True):
        files.append(folder / r.key.split("/")[-1])
        files[-1].write_bytes(payload)
    return files


def gps_tags(tags: dict) -> list[str]:
    return [k for k in tags if k.split(":")[-1].startswith("GPS")]


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed")
def test_exiftool_finds_no_gps_in_renditions(camera_output, camera_file, tmp_path):
    source, *renditions = exiftool(camera_file, *written(camera_output, tmp_path))
    assert gps_tags(source) and "EXIF:SerialNumber" in source  # exiftool does see them
    kept = {"EXIF:DateTimeOriginal", "EXIF:SubSecTimeOriginal", "EXIF:OffsetTimeOriginal"}
    for tags in renditions:
        assert not gps_tags(tags), tags["SourceFile"]
        assert {k for k in tags if k.startswith(("EXIF:", "IFD1:", "MakerNotes:"))} == kept


@pytest.fixture(scope="module")
def credited_file(tmp_path_factory) -> Path:
    """A camera file whose EXIF names the photographer and the rights holder, with GPS."""
    exif = piexif.load(exif_block(**CANON, taken="2018:06:14 10:00:00", gps=True))
    exif["0th"][piexif.ImageIFD.Artist] = b"Ane Etxeberria"
    exif["0th"][piexif.ImageIFD.Copyright] = b"(c) 2018 Spark"
    exif["1st"] = {}
    path = tmp_path_factory.mktemp("credited") / "IMG_0007.JPG"
    return write_jpeg(path, real_photo("picos", 1200), exif=piexif.dump(exif))


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed")
@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (RenderSettings(), {"Artist", "Copyright", "DateTimeOriginal"}),
        (RenderSettings(keep_gps=True), {"Artist", "Copyright", "DateTimeOriginal", "GPS"}),
        (RenderSettings(metadata="none"), set()),
    ],
    ids=["default", "keep-gps", "strip-all"],
)
def test_metadata_options(credited_file, tmp_path, settings, expected):
    out = render(
        credited_file,
        RenderSettings(sizes=(480,), metadata=settings.metadata, keep_gps=settings.keep_gps),
    )
    for tags in exiftool(*written(out, tmp_path)):
        exif = {k.split(":")[1] for k in tags if k.startswith("EXIF:")}
        found = {"GPS" if name.startswith("GPS") else name for name in exif}
        assert found == expected, tags["SourceFile"]
        if "Artist" in expected:
            assert tags["EXIF:Artist"] == "Ane Etxeberria"
            assert tags["EXIF:Copyright"] == "(c) 2018 Spark"
        if "GPS" not in expected:
            assert not gps_tags(tags)


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow cannot write AVIF")
def test_avif_renditions_when_asked(credited_file, tmp_path):
    settings = RenderSettings(sizes=(1024, 480), formats=("jpeg", "webp", "avif"))
    out = render(credited_file, settings)
    avif = [
        (r, p)
        for r, p in zip(out.renditions, out.payloads, strict=True)
        if r.content_type == "image/avif"
    ]
    assert [r.width for r, _ in avif] == [1024, 480] and all(
        r.key.endswith(".avif") for r, _ in avif
    )
    for r, payload in avif:
        img = decoded(payload)
        assert img.format == "AVIF" and img.size == (r.width, r.height)
        assert mean_abs_diff(img, real_photo("picos")) < 4
    if EXIFTOOL:
        for tags in exiftool(*written(out, tmp_path)):
            assert not gps_tags(tags), tags["SourceFile"]


def test_each_format_keeps_its_keys_when_another_changes(camera_file):
    photo = photo_of(camera_file)
    before = {p.key for p in plan_renditions(photo, SETTINGS)}
    after = {p.key for p in plan_renditions(photo, RenderSettings(webp_quality=70))}
    assert {k for k in before if k.endswith(".jpg")} == {k for k in after if k.endswith(".jpg")}
    assert not {k for k in before if k.endswith(".webp")} & after


def test_formats_must_include_jpeg_and_be_known():
    with pytest.raises(RenderSettingsError, match="jpeg"):
        RenderSettings(formats=("webp",))
    with pytest.raises(RenderSettingsError, match="gif"):
        RenderSettings(formats=("jpeg", "gif"))


def icc_description(payload: bytes) -> str:
    icc = decoded(payload).info.get("icc_profile")
    assert icc, "no ICC profile"
    return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()


@pytest.fixture(scope="module")
def adobe_rgb(tmp_path_factory):
    """The fig in its red bowl as sRGB, and the same converted to Adobe RGB (1998) and tagged."""
    srgb = real_photo("fig", 1200)
    icc = embedded_icc()
    adobe = ImageCms.profileToProfile(
        srgb,
        ImageCms.createProfile("sRGB"),
        ImageCms.ImageCmsProfile(io.BytesIO(icc)),
        outputMode="RGB",
    )
    path = write_jpeg(tmp_path_factory.mktemp("icc") / "IMG_0001.JPG", adobe, **CANON, icc=icc)
    return srgb, adobe, path


def test_adobe_rgb_source_gives_srgb_renditions(adobe_rgb):
    srgb, adobe, path = adobe_rgb
    assert "Adobe RGB" in ImageCms.getProfileDescription(
        ImageCms.ImageCmsProfile(io.BytesIO(embedded_icc()))
    )
    out = render(path)
    for payload in out.payloads:
        assert "sRGB" in icc_description(payload)
        img = decoded(payload)
        converted = mean_abs_diff(img, srgb)
        as_stored = mean_abs_diff(img, adobe)  # what an untagged copy would look like
        assert converted < 3
        assert as_stored > 2 * converted


def test_untagged_source_stays_untagged_srgb(camera_output):
    # Browsers read untagged JPEGs as sRGB; nothing to convert, nothing to tag.
    for payload in camera_output.payloads:
        img = decoded(payload)
        assert img.mode == "RGB"
        assert not img.info.get("icc_profile")


def test_jpeg_renditions_are_progressive(camera_output):
    for r, payload in zip(camera_output.renditions, camera_output.payloads, strict=True):
        if r.content_type != "image/jpeg":
            continue
        info = decoded(payload).info
        assert info.get("progressive") or info.get("progression")


def test_unreadable_source_is_a_problem(tmp_path):
    path = write_jpeg(tmp_path / "IMG_0001.JPG", real_photo("picos", 900), **CANON)
    photo = photo_of(path)
    path.write_bytes(path.read_bytes()[:4000])  # damaged after analysis
    result = render_photo(photo, SETTINGS)
    assert isinstance(result, Problem)
    assert result.path == str(path)
    assert "cannot decode" in result.reason


def test_decode_lands_on_the_smallest_eighth_that_covers(camera_file):
    """2400 px wide: 1300 needs 5/8 (1500 px); Pillow's draft could only give the full 2400."""
    data = camera_file.read_bytes()
    with open_image(data) as img:
        pixels = decode_rgb(data, img, (1300, 866))
    assert pixels.shape == (999, 1500, 3)  # 1598 × 5/8, rounded up
    source = real_photo("aitzgorri").resize((1500, 999))
    assert mean_abs_diff(Image.fromarray(pixels), source) < 3


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_grey_and_cmyk_jpegs_render_as_rgb(tmp_path, mode):
    """Grey goes through libjpeg-turbo's scaled decode, CMYK through Pillow."""
    path = tmp_path / f"{mode}.jpg"
    real_photo("picos", 1600).convert(mode).save(path, "JPEG", quality=90)
    out = render(path)
    assert [max(r.width, r.height) for r in out.renditions][::2] == [1600, 1280, 800, 640, 480]
    with Image.open(path) as source:
        expected = source.convert("RGB")
    for payload in out.payloads:
        img = decoded(payload)
        assert img.mode == "RGB"
        assert mean_abs_diff(img, expected) < 3


def test_a_jpeg_with_an_mpf_preview_is_decoded_like_any_jpeg(tmp_path):
    """Nikon, Sony, Fujifilm and iPhones append a preview (MPF); Pillow then says "MPO"."""
    photo = real_photo("aitzgorri", 2400)
    preview = real_photo("wine", 640)  # a different picture: the preview must not be published
    path = tmp_path / "DSC_0001.JPG"
    photo.save(path, "MPO", save_all=True, append_images=[preview], quality=90)
    data = path.read_bytes()
    with open_image(data) as img:
        assert img.format == "MPO"
        eighth = (-(-photo.width // 8), -(-photo.height // 8))
        assert decode(img, "L", (300, 190)).size == eighth  # a draft, not a full decode
    with open_image(data) as img:
        assert decode_rgb(data, img, (1300, 866)).shape == (-(-photo.height * 5 // 8), 1500, 3)
    out = render(path)
    assert [r.width for r in out.renditions][::2] == [2048, 1280, 800, 640, 480]
    for payload in out.payloads:
        assert mean_abs_diff(decoded(payload), photo) < 3
