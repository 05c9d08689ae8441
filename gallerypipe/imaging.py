"""Safe opening and reduced-scale decoding shared by analysis and renditions."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from PIL import Image, ImageFile

# Real cameras reach ~200 MP (medium format, pixel shift); anything larger is refused unread.
MAX_PIXELS = 250_000_000

_TRANSPOSE = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


class BadImage(Exception):
    """A file that cannot be decoded; the message is the one-line reason shown to the user."""


@cache
def register_formats() -> None:
    """Make HEIC/HEIF openable (pillow-heif); once per process, workers included."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


@contextmanager
def open_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Iterator[Image.Image]:
    """Open image bytes lazily; refuse bombs before any pixel is decoded."""
    register_formats()
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own 89 MP default refuses real cameras
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise BadImage(f"refused: too many pixels ({err})") from err
    except Exception as err:
        raise BadImage(f"not a readable image: {err}") from err
    with img:
        width, height = img.size
        if width * height > max_pixels:
            raise BadImage(f"refused: {width}×{height} pixels is over the {max_pixels:,} limit")
        yield img


def oriented_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    width, height = size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def decode(img: Image.Image, mode: str, min_size: tuple[int, int]) -> Image.Image:
    """Decode at the smallest JPEG DCT scale (draft) still covering min_size, as stored."""
    if img.format == "JPEG":
        img.draft(mode, min_size)
    try:
        img.load()
    except Exception as err:
        raise BadImage(f"cannot decode: {err}") from err
    return img if img.mode == mode else img.convert(mode)


def apply_orientation(img: Image.Image, orientation: int) -> Image.Image:
    for step in _TRANSPOSE.get(orientation, ()):
        img = img.transpose(step)
    return img


def exif_bytes(img: Image.Image) -> bytes | None:
    """The raw EXIF block of an opened image, whatever its format."""
    raw = img.info.get("exif")
    if isinstance(raw, bytes) and raw:
        return raw if raw.startswith(b"Exif") else b"Exif\x00\x00" + raw
    return None
