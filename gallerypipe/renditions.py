"""Web renditions from one reduced-scale decode per photo, resized in a cascade.

Keys are derived from the source's sha256 and a digest of the settings, so a re-run knows which
renditions already exist before decoding anything, and a site may cache every key forever.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass

import PIL
from PIL import Image, ImageCms

from .imaging import BadImage, apply_orientation, decode, open_image
from .model import Photo, Problem, Rendition

RENDER_VERSION = 2  # bump when the pixels produced for the same settings change
_SRGB = ImageCms.createProfile("sRGB")


def _undated(profile: bytes) -> bytes:
    """LittleCMS stamps a new profile with the time it was made (header bytes 24–35); without
    the stamp the same photo gives the same bytes whenever and wherever it is rendered."""
    return profile[:24] + bytes(12) + profile[36:]


_SRGB_BYTES = _undated(ImageCms.ImageCmsProfile(_SRGB).tobytes())


@dataclass(frozen=True)
class RenderSettings:
    sizes: tuple[int, ...] = (2048, 1024, 480)  # long edge in pixels
    jpeg_quality: int = 85

    @property
    def digest(self) -> str:
        """Changes whenever the bytes produced could change."""
        spec = {**asdict(self), "pillow": PIL.__version__, "version": RENDER_VERSION}
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class PlannedRendition:
    key: str
    width: int
    height: int
    content_type: str


@dataclass(frozen=True)
class RenderOutput:
    """The renditions of one photo and their encoded bytes, in the same order."""

    photo_id: str
    renditions: tuple[Rendition, ...]
    payloads: tuple[bytes, ...]


def plan_renditions(photo: Photo, settings: RenderSettings) -> tuple[PlannedRendition, ...]:
    """Rendition keys and sizes, known before decoding; never larger than the photo itself."""
    width, height = photo.analysis.width, photo.analysis.height
    planned: dict[tuple[int, int], PlannedRendition] = {}
    for edge in sorted(settings.sizes, reverse=True):
        w, h = fit(width, height, edge)
        key = f"renditions/{photo.id}-{settings.digest}-{w}.jpg"
        planned.setdefault((w, h), PlannedRendition(key, w, h, "image/jpeg"))
    return tuple(planned.values())


def fit(width: int, height: int, edge: int) -> tuple[int, int]:
    scale = min(1.0, edge / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def render_photo(photo: Photo, settings: RenderSettings) -> RenderOutput | Problem:
    """Decode once at the smallest sufficient scale, then resize 2048 → 1024 → 480 in turn."""
    planned = plan_renditions(photo, settings)
    try:
        data = photo.source.path.read_bytes()
        img, icc = _decode_for(data, photo, planned[0])
    except (OSError, BadImage) as err:
        return Problem(photo.source.display, str(err))
    renditions, payloads = [], []
    converted = False
    for i, plan in enumerate(planned):
        img = img.resize((plan.width, plan.height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        if i == 0 and icc:
            img, converted = _to_srgb(img, icc)
        payload = _encode_jpeg(img, settings, tag_srgb=converted)
        payloads.append(payload)
        renditions.append(_described(plan, payload))
    return RenderOutput(photo.id, tuple(renditions), tuple(payloads))


def _decode_for(data: bytes, photo: Photo, largest: PlannedRendition) -> tuple[Image.Image, bytes]:
    orientation = photo.meta.orientation
    with open_image(data) as img:
        icc = img.info.get("icc_profile") or b""
        need = (
            (largest.height, largest.width)
            if orientation in (5, 6, 7, 8)
            else (
                largest.width,
                largest.height,
            )
        )
        decoded = decode(img, "RGB", need)
    return apply_orientation(decoded, orientation), icc


def _to_srgb(img: Image.Image, icc: bytes) -> tuple[Image.Image, bool]:
    """The pixels in sRGB, and whether they were converted (an unreadable profile: as they are)."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(img, source, _SRGB, outputMode="RGB"), True
    except (ImageCms.PyCMSError, OSError):
        return img, False


def _encode_jpeg(img: Image.Image, settings: RenderSettings, tag_srgb: bool) -> bytes:
    out = io.BytesIO()
    extra = {"icc_profile": _SRGB_BYTES} if tag_srgb else {}
    img.save(out, "JPEG", quality=settings.jpeg_quality, progressive=True, **extra)
    return out.getvalue()


def _described(plan: PlannedRendition, payload: bytes) -> Rendition:
    return Rendition(
        key=plan.key,
        width=plan.width,
        height=plan.height,
        bytes=len(payload),
        content_type=plan.content_type,
        sha256=hashlib.sha256(payload).hexdigest(),
    )
