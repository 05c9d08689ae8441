"""Text cameras and firmware write into the description fields when the photographer wrote none.

A camera's fixed ImageDescription ("OLYMPUS DIGITAL CAMERA") is not a caption, and must never
become a photo's title. The list below gathers what digiKam, PhotoPrism, gThumb and iNaturalist
filter, and what ExifTool's sample images of real cameras carry; the rules catch the families a
list cannot (the camera's own name, a model number followed by "Image", a DCIM path, a file name,
nothing but punctuation). Matching ignores case and runs of white space. README.md lists both.
"""

from __future__ import annotations

import re

# Huawei and Honor write the capture mode they used.
_HUAWEI_MODES = [
    "rhdr",
    "hdrpl",
    "oznor",
    "oznorWO",
    "frontbhdp",
    "fbt",
    "rbt",
    "ptr",
    "fbthdr",
    "btr",
    "mon",
    "nor",
    "dav",
    "mde",
    "mde_soft",
    "edf",
    "btfmdn",
    "btf",
    "btfhdr",
    "frem",
    "rpt",
    "burst",
    "sdr_HDRB",
    "cof",
    "qrf",
    "fshbty",
]
# Exact texts (compared case-insensitively, white space collapsed), with who writes them.
KNOWN = {
    "OLYMPUS DIGITAL CAMERA": "Olympus",
    "SANYO DIGITAL CAMERA": "Sanyo",
    "GE DIGITAL CAMERA": "General Imaging (GE)",
    "MINOLTA DIGITAL CAMERA": "Minolta",
    "KONICA MINOLTA DIGITAL CAMERA": "Konica Minolta",
    "KODAK Digital Still Camera": "Kodak",
    "SAMSUNG DIGITAL CAMERA": "Samsung",
    "SAMSUNG CAMERA PICTURES": "Samsung",
    "SAMSUNG": "Samsung",
    "<Digimax i5, Samsung #1>": "Samsung Digimax",
    "<KENOX S1050 / Samsung S1050>": "Samsung Kenox",
    "SONY DSC": "Sony",
    "DIGITAL CAMERA": "various",
    "MOULTRIE DIGITAL GAME CAMERA": "Moultrie trail cameras",
    "DCF 1.0": "Minolta (the DCF version)",
    "Exif_JPEG_PICTURE": "various (Chinese OEM firmware)",
    "Exif JPEG": "various",
    "JPEG Image": "various",
    "default": "various",
    "binary comment": "various",
    "charset=Ascii": "a UserComment read as text",
    "DVC 10.1 HDMI": "DVC camcorders",
    "Scanner": "Kodak Slide N Scan",
    "Created by Imlib": "Imlib (Enlightenment)",
    "iClarified": "iClarified screenshots",
    # Huawei and Honor write the capture mode they used.
    **dict.fromkeys(_HUAWEI_MODES, "Huawei"),
}
# Whole-text patterns (case-insensitive).
PATTERNS = {
    "a maker's '… DIGITAL CAMERA'": re.compile(
        r"^[A-Z0-9&.,-]+( [A-Z0-9&.,-]+){0,2} DIGITAL( STILL)? CAMERA$"
    ),
    "LEAD Technologies' encoder": re.compile(r"^LEAD Technologies\b"),
    "a camera name in angle brackets": re.compile(r"^<[^<>]+>$"),  # Samsung: <Digimax i5, …>
    "a DCIM path": re.compile(r"^[\\/]?DCIM[\\/]\S*$", re.IGNORECASE),
    "a file name": re.compile(
        r"^\S+\.(jpe?g|heic|heif|hif|png|tiff?|dng|cr2|cr3|nef|arw|orf|rw2|raf|pef|srw|mp4|mov)$",
        re.IGNORECASE,
    ),
    "a camera file name": re.compile(
        r"^(IMG|DSC|DSCF|DSCN|DSC_|_DSC|P|PICT|GOPR|GP|DJI|PXL|SAM|CIMG|IMGP|HPIM|SDC|MVC|EX)"
        r"[_-]?\d{3,}[\d_-]*$",
        re.IGNORECASE,
    ),
    "punctuation only": re.compile(r"^[\W_]*$"),
}
_KNOWN_KEYS = {" ".join(text.split()).casefold() for text in KNOWN}


def _camera_names(make: str | None, model: str | None) -> set[str]:
    """The make, the model and "make model", whitespace-normalised and casefolded."""
    names = {" ".join(n.split()).casefold() for n in (make, model) if n and n.strip()}
    if make and model:
        names.add(f"{' '.join(make.split())} {' '.join(model.split())}".casefold())
    return names


def _name_rule(key: str, make: str | None, model: str | None) -> str | None:
    """Why a casefolded description is the camera's own name, or None."""
    names = _camera_names(make, model)
    if key in names:
        return "the camera's make or model"
    if any(key == f"{name} image" for name in names):
        return "'<model> Image'"
    return None


def _pattern_rule(normal: str, title: bool) -> str | None:
    """Why a normalised description matches one of PATTERNS, or None.

    The '… DIGITAL CAMERA' rule is for upper case alone (a person types it in mixed case)."""
    upper_rule = PATTERNS["a maker's '… DIGITAL CAMERA'"]
    if normal.isupper() and upper_rule.match(normal):
        return "a maker's '… DIGITAL CAMERA'"
    for why, pattern in PATTERNS.items():
        if title and why == "punctuation only":
            continue
        if pattern is not upper_rule and pattern.match(normal):
            return why
    return None


def boilerplate(
    text: str | None, make: str | None = None, model: str | None = None, *, title: bool = False
) -> str | None:
    """Why a description is camera boilerplate ("" for none); None when it is a real caption.

    A title (XMP dc:title, IPTC ObjectName) is typed by a person, never by a camera's firmware:
    one of punctuation only (`~`, `...`) is meant, so that rule is for descriptions alone."""
    normal = " ".join((text or "").split())
    if not normal:
        return "blank"
    key = normal.casefold()
    if key in _KNOWN_KEYS:
        return "a known camera default"
    return _name_rule(key, make, model) or _pattern_rule(normal, title)


def caption(
    text: str | None, make: str | None = None, model: str | None = None, *, title: bool = False
) -> str | None:
    """The text trimmed, or None when it is blank or camera boilerplate."""
    if text is None or boilerplate(text, make, model, title=title) is not None:
        return None
    return text.strip()
