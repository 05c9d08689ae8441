"""Per-photo analysis from one reduced-scale decode: identity, metadata, hashes, quality figures."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, replace

import imagehash
import numpy as np
from PIL import Image

from .imaging import BadImage, apply_orientation, decode_gray, open_image, oriented_size
from .metadata import read_file_metadata
from .model import Analysis, HashMethod, Metadata, Problem, SourceFile

# One ⅛-scale decode (or larger, to keep QUALITY_EDGE pixels on the long edge) serves the hashes
# and the quality figures; sharpness is measured at QUALITY_EDGE so figures compare across cameras.
QUALITY_EDGE = 512
HIGHLIGHT, SHADOW = 245, 15  # digiKam's image quality sorter's clipping levels
THUMB = 32  # imagehash's phash works on a 32×32 gray image: it doubles as the thumbnail
DETAIL = 64  # edge of the thumbnail dedup compares region by region (a gesture is 5-16 px)
HASH_METHOD = HashMethod(f"imagehash {imagehash.__version__}", ("phash", "dhash"), 64, THUMB)
_TURNS = (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)


@dataclass(frozen=True)
class Analysed:
    source: SourceFile
    meta: Metadata
    analysis: Analysis
    sidecar_digest: str = ""  # of the XMP sidecars the metadata was read with ("" for none)
    decoded: bool = True  # False when recognised by content from an earlier run


Sidecars = tuple[tuple[str, bytes], ...]


def read_sidecars(source: SourceFile) -> tuple[Sidecars, tuple[str, ...]]:
    """The XMP sidecars' bytes (strongest first), and a problem for each one unreadable."""
    found, problems = [], []
    for name in source.sidecars:
        try:
            found.append((name, (source.path.parent / name).read_bytes()))
        except OSError as err:
            problems.append(f"cannot read XMP sidecar {name}: {err.strerror or err}")
    return tuple(found), tuple(problems)


def sidecar_digest(sidecars: Sidecars) -> str:
    """Identifies what the sidecars say, whatever they are named (a moved copy keeps it)."""
    if not sidecars:
        return ""
    digest = hashlib.sha256()
    for _name, data in sidecars:
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def read_photo(source: SourceFile) -> tuple[bytes, str] | Problem:
    """The photo's bytes and their sha256, or why they could not be read."""
    try:
        data = source.path.read_bytes()
    except OSError as err:
        return Problem(source.display, f"cannot read: {err.strerror or err}")
    return data, hashlib.sha256(data).hexdigest()


def analyse_file(source: SourceFile) -> Analysed | Problem:
    """Everything later stages need about one photo; a Problem instead of raising."""
    read = read_photo(source)
    return read if isinstance(read, Problem) else analyse_read(source, *read)


def analyse_read(source: SourceFile, data: bytes, sha256: str) -> Analysed | Problem:
    """Analyse bytes already read and hashed, with the photo's sidecars."""
    sidecars, unreadable = read_sidecars(source)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            analysed = analyse_bytes(source, data, sidecars, sha256)
    except BadImage as err:
        return Problem(source.display, str(err))
    meta = analysed.meta
    # Pillow's warnings (corrupt EXIF, a malformed MPO) become this file's problems: on stderr
    # they would name no file.
    said = tuple(dict.fromkeys(str(w.message) for w in caught))
    if unreadable or said:
        meta = replace(meta, problems=meta.problems + said + unreadable)
    return replace(analysed, meta=meta, sidecar_digest=sidecar_digest(sidecars))


def analyse_bytes(
    source: SourceFile, data: bytes, sidecars: Sidecars = (), sha256: str | None = None
) -> Analysed:
    """One lazy open (EXIF, XMP, IPTC are read from the bytes: no pixels), one reduced decode."""
    sha256 = sha256 or hashlib.sha256(data).hexdigest()
    with open_image(data) as img:
        meta = read_file_metadata(data, img, sidecars)
        full = oriented_size(img.size, meta.orientation)
        gray, damage = decode_gray(data, img, _hash_size(img.size))
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
        damage=damage,
        pixels=hashlib.sha256(gray.tobytes()).hexdigest(),
        detail=gray.resize((DETAIL, DETAIL), Image.Resampling.BOX).tobytes(),
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
