"""Safe opening and reduced-scale decoding shared by analysis and renditions."""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import numpy as np
import simplejpeg
from PIL import Image, ImageFile

# Pillow calls a JPEG carrying further images (an MPF preview, as Nikon, Sony, Fujifilm and
# iPhones write) MPO; its first image is the photo, decoded like any JPEG.
JPEG_FORMATS = ("JPEG", "MPO")
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


_PADDING_BYTES = 8
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h


@cache
def keep_freed_memory() -> None:
    """Let this process reuse the memory of the last photo's buffers for the next one.

    By default glibc returns large freed blocks to the kernel, so every photo's 10–20 MB
    buffers are faulted in afresh, page by page: 7 % of a 24 MP photo's render time. Raising
    the mmap and trim thresholds keeps them in the heap; the process's footprint stays that of
    its largest photo. Once per process; a no-op off glibc.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)  # glibc's largest allowed value
    mallopt(_M_TRIM_THRESHOLD, 128 * 1024 * 1024)


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
    keep_freed_memory()
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
    if img.format in JPEG_FORMATS:
        img.draft(mode, min_size)
    try:
        img.load()
    except Exception as err:
        raise BadImage(f"cannot decode: {err}") from err
    return img if img.mode == mode else img.convert(mode)


def _turbo_decodable(img: Image.Image) -> bool:
    """A JPEG simplejpeg decodes itself (CMYK and the rest go through Pillow)."""
    return img.format in JPEG_FORMATS and img.mode in ("RGB", "L")


def decode_gray(
    data: bytes, img: Image.Image, min_size: tuple[int, int]
) -> tuple[Image.Image, str]:
    """Grey pixels at Pillow's draft scale, and what libjpeg-turbo found corrupt ("" if nothing).

    Corrupt entropy data (a failing card, an interrupted copy) decodes with grey or smeared
    blocks, and Pillow says nothing of it; libjpeg-turbo's strict mode does. It decodes at the
    scale Pillow's draft chose and with the same (accurate) DCT, so the pixels are Pillow's. What
    strict mode refuses is decoded by Pillow, which still refuses what it cannot decode (a
    truncated file); what Pillow decodes comes back with strict mode's reason.
    """
    damage = ""
    if _turbo_decodable(img):
        img.draft("L", min_size)  # only sets the scale; img.size becomes the decoded size
        try:
            pixels = simplejpeg.decode_jpeg(
                data, colorspace="GRAY", min_width=img.width, min_height=img.height
            )
            return Image.fromarray(pixels[:, :, 0]), ""
        except ValueError as err:
            damage = "" if _padding(str(err)) else str(err)
    return decode(img, "L", min_size), damage


def _padding(warning: str) -> bool:
    """A few stray bytes before the end marker: padding some firmwares write after the last
    block, which changes no pixel. Garbled scan data leaves dozens or more."""
    found = re.search(r"(\d+) extraneous bytes before marker 0xd9", warning)
    return found is not None and int(found.group(1)) <= _PADDING_BYTES


def decode_rgb(data: bytes, img: Image.Image, min_size: tuple[int, int]) -> np.ndarray:
    """RGB pixels as stored, decoded at the smallest scale still covering min_size.

    libjpeg-turbo scales by any eighth while it decodes, where Pillow's draft only halves: a
    6000 px photo for a 2048 px rendition comes out at 2250 px (3/8) instead of 3000, so the
    resize that follows is small, and a 4032 px phone photo at 2520 (5/8) instead of in full.
    What simplejpeg refuses (CMYK, or a recoverable error its strict mode reports) goes through
    Pillow, which already decoded the photo once for analysis.
    """
    if _turbo_decodable(img):
        try:
            width, height = min_size
            return simplejpeg.decode_jpeg(
                data, colorspace="RGB", min_width=width, min_height=height
            )
        except ValueError:
            pass
    return np.asarray(decode(img, "RGB", min_size))


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
