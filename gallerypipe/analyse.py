"""Per-photo analysis from one reduced-scale decode: identity, metadata, hashes, quality figures."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image

from .imaging import BadImage, apply_orientation, decode, exif_bytes, open_image, oriented_size
from .metadata import read_metadata
from .model import Analysis, HashMethod, Metadata, Problem, SourceFile

# One ⅛-scale decode (or larger, to keep QUALITY_EDGE pixels on the long edge) serves the hashes
# and the quality figures; sharpness is measured at QUALITY_EDGE so figures compare across cameras.
QUALITY_EDGE = 512
HIGHLIGHT, SHADOW = 245, 15  # digiKam's image quality sorter's clipping levels
THUMB = 32  # imagehash's phash works on a 32×32 gray image: it doubles as the thumbnail
HASH_METHOD = HashMethod(f"imagehash {imagehash.__version__}", ("phash", "dhash"), 64, THUMB)
_TURNS = (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)


@dataclass(frozen=True)
class Analysed:
    source: SourceFile
    meta: Metadata
    analysis: Analysis


def analyse_file(source: SourceFile) -> Analysed | Problem:
    """Everything later stages need about one photo; a Problem instead of raising."""
    try:
        data = source.path.read_bytes()
    except OSError as err:
        return Problem(source.display, f"cannot read: {err.strerror or err}")
    try:
        return analyse_bytes(source, data)
    except BadImage as err:
        return Problem(source.display, str(err))


def analyse_bytes(source: SourceFile, data: bytes) -> Analysed:
    sha256 = hashlib.sha256(data).hexdigest()
    with open_image(data) as img:
        meta = read_metadata(exif_bytes(img))
        full = oriented_size(img.size, meta.orientation)
        gray = decode(img, "L", _hash_size(img.size))
    gray = apply_orientation(gray, meta.orientation)
    # phash resizes to 32×32 first; doing it here once lets the turned copies cost nothing.
    thumb = gray.resize((THUMB, THUMB), Image.Resampling.LANCZOS)
    analysis = Analysis(
        sha256=sha256,
        width=full[0],
        height=full[1],
        phash=_hash_int(imagehash.phash(thumb)),
        dhash=_hash_int(imagehash.dhash(gray)),
        rotated_phashes=tuple(_hash_int(imagehash.phash(thumb.transpose(t))) for t in _TURNS),
        thumb=thumb.tobytes(),
        hash_method=HASH_METHOD,
        **quality_figures(gray),
    )
    return Analysed(source, meta, analysis)


def _hash_size(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    scale = max(1 / 8, QUALITY_EDGE / max(width, height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def _hash_int(h: imagehash.ImageHash) -> int:
    return int("".join("1" if bit else "0" for bit in h.hash.flatten()), 2)


def quality_figures(gray: Image.Image) -> dict[str, float]:
    """Sharpness (variance of the Laplacian at a fixed size) and clipped fractions."""
    width, height = gray.size
    scale = QUALITY_EDGE / max(width, height)
    size = (max(3, round(width * scale)), max(3, round(height * scale)))
    small = gray.resize(size, Image.Resampling.BILINEAR)
    pixels = np.asarray(small, dtype=np.float32)
    laplacian = (
        pixels[:-2, 1:-1] + pixels[2:, 1:-1] + pixels[1:-1, :-2] + pixels[1:-1, 2:]
    ) - 4 * pixels[1:-1, 1:-1]
    return {
        "sharpness": float(laplacian.var()) if laplacian.size else 0.0,
        "clipped_highlights": float((pixels >= HIGHLIGHT).mean()),
        "clipped_shadows": float((pixels <= SHADOW).mean()),
    }
