"""Web renditions from one reduced-scale decode per photo, resized in a cascade.

The decode lands within a third above the largest rendition (libjpeg-turbo scales by eighths),
OpenCV's SIMD resize takes it the rest of the way, and Pillow halves and encodes from there.

Keys are derived from the source's sha256 and a digest of the settings, so a re-run knows which
renditions already exist before decoding anything, and a site may cache every key forever.
Each format has its own digest: adding WebP, or changing its quality, leaves the JPEG keys alone.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
import piexif
import PIL
from PIL import Image, ImageCms, features

from .imaging import BadImage, apply_orientation, decode_rgb, exif_bytes, open_image, oriented_size
from .model import Photo, Placeholder, Problem, Rendition
from .placeholders import placeholder

RENDER_VERSION = 3  # bump when the pixels produced for the same settings change
_SRGB = ImageCms.createProfile("sRGB")


def _undated(profile: bytes) -> bytes:
    """LittleCMS stamps a new profile with the time it was made (header bytes 24–35); without
    the stamp the same photo gives the same bytes whenever and wherever it is rendered."""
    return profile[:24] + bytes(12) + profile[36:]


_SRGB_BYTES = _undated(ImageCms.ImageCmsProfile(_SRGB).tobytes())

# format name → (file extension, Content-Type); JPEG is always written (the bundle uses it).
FORMATS = {
    "jpeg": ("jpg", "image/jpeg"),
    "webp": ("webp", "image/webp"),
    "avif": ("avif", "image/avif"),
}
METADATA_MODES = ("minimal", "none")
# Bicubic, not Lanczos: 30 % less time per step, and its difference from a Lanczos resize of the
# full image (47 dB PSNR on 24 MP photos) is well below what JPEG q85 itself changes.
_FILTER = Image.Resampling.BICUBIC
# OpenCV's cubic is not widened for downscaling, so it only antialiases small steps; the scaled
# decode keeps the first step under 4/3, and a larger one (a non-JPEG) is area-averaged instead.
_CUBIC_UP_TO = 4 / 3
cv2.setNumThreads(1)  # the process pool already keeps every core busy


class RenderSettingsError(ValueError):
    """Settings this Pillow cannot honour; the message says which and why."""


@dataclass(frozen=True)
class RenderSettings:
    # Long edges in pixels. 1280 and 800 fit a full-width header on a desktop and a 1.75× phone, 640
    # and 480 a gallery column on a 1.75× phone and a 1× desktop (docs/site.md, issue 19).
    sizes: tuple[int, ...] = (2048, 1280, 800, 640, 480)
    jpeg_quality: int = 85
    formats: tuple[str, ...] = ("jpeg", "webp")
    webp_quality: int = 80
    # bench/webp_settings.py, q80 at 2048 px: method 1 takes a third of method 4's time (77 against
    # 228 ms) for 11 % more bytes at the same PSNR; 2 is slower than 1 and worse; 5–6 gain little.
    webp_method: int = 1
    avif_quality: int = 60
    avif_speed: int = 10  # the same PSNR as speed 8 for 2 % more bytes, in 30 % of the time
    metadata: str = "minimal"  # "minimal": Artist, Copyright, capture time; "none": no EXIF
    keep_gps: bool = False

    def __post_init__(self) -> None:
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown or "jpeg" not in self.formats:
            raise RenderSettingsError(
                f"formats must include jpeg and be among {', '.join(FORMATS)}; got "
                + ",".join(self.formats)
            )
        if "avif" in self.formats and not features.check("avif"):
            raise RenderSettingsError("this Pillow cannot write AVIF (features.check('avif'))")
        if self.metadata not in METADATA_MODES:
            raise RenderSettingsError(f"metadata must be one of {METADATA_MODES}")

    def digest(self, fmt: str) -> str:
        """Changes whenever the bytes produced in this format could change."""
        encoder = {
            "jpeg": {"quality": self.jpeg_quality},
            "webp": {"quality": self.webp_quality, "method": self.webp_method},
            "avif": {"quality": self.avif_quality, "speed": self.avif_speed},
        }[fmt]
        spec = {
            "format": fmt,
            "encoder": encoder,
            "sizes": self.sizes,
            "metadata": self.metadata,
            "keep_gps": self.keep_gps,
            "pillow": PIL.__version__,
            "version": RENDER_VERSION,
        }
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class PlannedRendition:
    key: str
    width: int
    height: int
    content_type: str
    format: str


@dataclass(frozen=True)
class RenderOutput:
    """The renditions of one photo and their encoded bytes, in the same order."""

    photo_id: str
    renditions: tuple[Rendition, ...]
    payloads: tuple[bytes, ...]
    placeholder: Placeholder


def plan_renditions(photo: Photo, settings: RenderSettings) -> tuple[PlannedRendition, ...]:
    """Rendition keys and sizes, largest first, each size in every format; never upscaled."""
    width, height = photo.analysis.width, photo.analysis.height
    sizes: list[tuple[int, int]] = []
    for edge in sorted(settings.sizes, reverse=True):
        if (size := fit(width, height, edge)) not in sizes:
            sizes.append(size)
    planned = []
    for w, h in sizes:
        for fmt in FORMATS:
            if fmt in settings.formats:
                ext, content_type = FORMATS[fmt]
                key = f"renditions/{photo.id}-{settings.digest(fmt)}-{w}.{ext}"
                planned.append(PlannedRendition(key, w, h, content_type, fmt))
    return tuple(planned)


def fit(width: int, height: int, edge: int) -> tuple[int, int]:
    scale = min(1.0, edge / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def render_photo(
    photo: Photo,
    settings: RenderSettings,
    planned: tuple[PlannedRendition, ...] | None = None,
) -> RenderOutput | Problem:
    """Decode once at the smallest sufficient scale, then resize to each smaller size in turn.

    planned: this photo's plan_renditions(photo, settings), as the caller planned its keys (so
    the renditions are exactly the keys planned); made here when not given.
    Any failure, at decoding or later, is this photo's Problem: it never stops the other photos.
    """
    planned = planned or plan_renditions(photo, settings)
    orientation = photo.meta.orientation
    try:
        data = photo.source.path.read_bytes()
        largest = oriented_size((planned[0].width, planned[0].height), orientation)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's: analysis reported them, naming the file
            pixels, icc, exif = _decode_for(data, largest)
    except (OSError, BadImage) as err:
        return Problem(photo.source.display, str(err))
    try:
        img = apply_orientation(_resized(pixels, largest), orientation)
        del pixels  # the decode is the largest buffer a worker holds; free it before encoding
        return _render(photo.id, img, icc, published_exif(exif, settings), planned, settings)
    except Exception as err:  # an encoder or colour-management failure on this one photo
        return Problem(photo.source.display, f"cannot render: {err}")


def _render(photo_id, img, icc, exif, planned, settings) -> RenderOutput:
    """Encode every format at each size, largest first, each size shrunk from the one before."""
    converted = False
    if icc:
        img, converted = _to_srgb(img, icc)
    renditions, payloads = [], []
    for plan in planned:
        if img.size != (plan.width, plan.height):
            img = _shrink(img, (plan.width, plan.height))
        payload = encode(img, plan.format, settings, exif, tag_srgb=converted)
        payloads.append(payload)
        renditions.append(_described(plan, payload))
    largest = planned[0]
    return RenderOutput(
        photo_id,
        tuple(renditions),
        tuple(payloads),
        placeholder(img, largest.width, largest.height),
    )


def _decode_for(data: bytes, size: tuple[int, int]) -> tuple[np.ndarray, bytes, bytes | None]:
    """Pixels as stored covering size (as stored too), the ICC profile and the EXIF block."""
    with open_image(data) as img:
        icc = img.info.get("icc_profile") or b""
        exif = exif_bytes(img)
        return decode_rgb(data, img, size), icc, exif


def _resized(pixels: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """The decoded pixels at size, as a Pillow image with no source metadata an encoder could
    fall back to."""
    height, width = pixels.shape[:2]
    if (width, height) != size:
        method = cv2.INTER_CUBIC if width / size[0] < _CUBIC_UP_TO else cv2.INTER_AREA
        pixels = cv2.resize(pixels, size, interpolation=method)
    return Image.fromarray(pixels)


def _shrink(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Halving averages 2×2 blocks (a seventh of a bicubic resize's time); other steps resample."""
    if ((img.width + 1) // 2, (img.height + 1) // 2) == size:
        return img.reduce(2)
    return img.resize(size, _FILTER, reducing_gap=2.0)


def _to_srgb(img: Image.Image, icc: bytes) -> tuple[Image.Image, bool]:
    """The pixels in sRGB, and whether they were converted (an unreadable profile: as they are)."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(img, source, _SRGB, outputMode="RGB"), True
    except (ImageCms.PyCMSError, OSError):
        return img, False


def encode(
    img: Image.Image, fmt: str, settings: RenderSettings, exif: bytes | None, tag_srgb: bool
) -> bytes:
    out = io.BytesIO()
    extra: dict = {"icc_profile": _SRGB_BYTES} if tag_srgb else {}
    if exif:
        extra["exif"] = exif
    if fmt == "jpeg":
        img.save(out, "JPEG", quality=settings.jpeg_quality, progressive=True, **extra)
    elif fmt == "webp":
        img.save(out, "WEBP", quality=settings.webp_quality, method=settings.webp_method, **extra)
    else:  # one thread: the process pool already keeps every core busy
        img.save(
            out,
            "AVIF",
            quality=settings.avif_quality,
            speed=settings.avif_speed,
            max_threads=1,
            **extra,
        )
    return out.getvalue()


_KEPT_0TH = (piexif.ImageIFD.Artist, piexif.ImageIFD.Copyright)
_KEPT_EXIF = (
    piexif.ExifIFD.DateTimeOriginal,
    piexif.ExifIFD.SubSecTimeOriginal,
    piexif.ExifIFD.OffsetTimeOriginal,
)


def published_exif(exif: bytes | None, settings: RenderSettings) -> bytes | None:
    """A new EXIF block with only Artist, Copyright, capture time (and GPS if asked).

    Built tag by tag, never copied: serial numbers, maker notes, thumbnails and anything else a
    camera wrote stay behind. Unreadable EXIF publishes none.
    """
    if not exif or settings.metadata == "none":
        return None
    try:
        return _dump_kept(piexif.load(exif), settings.keep_gps)
    except Exception:  # piexif raises many types on malformed data
        return None


def _dump_kept(tags: dict, keep_gps: bool) -> bytes | None:
    """The kept tags of piexif's loaded EXIF dumped anew; None when none are kept."""
    zeroth = {t: v for t, v in tags.get("0th", {}).items() if t in _KEPT_0TH}
    sub = {t: v for t, v in tags.get("Exif", {}).items() if t in _KEPT_EXIF}
    gps = tags.get("GPS", {}) if keep_gps else {}
    if not (zeroth or sub or gps):
        return None
    return piexif.dump({"0th": zeroth, "Exif": sub, "GPS": gps, "1st": {}, "thumbnail": None})


def _described(plan: PlannedRendition, payload: bytes) -> Rendition:
    return Rendition(
        key=plan.key,
        width=plan.width,
        height=plan.height,
        bytes=len(payload),
        content_type=plan.content_type,
        sha256=hashlib.sha256(payload).hexdigest(),
    )
