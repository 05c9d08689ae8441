"""The camera boilerplate filter: every listed text and every rule, and real captions kept."""

from __future__ import annotations

import pytest

from gallerypipe.boilerplate import KNOWN, boilerplate, caption


@pytest.mark.parametrize("text", sorted(KNOWN))
def test_every_listed_camera_default_is_boilerplate(text):
    assert boilerplate(text) == "a known camera default"
    assert boilerplate(f"  {text.lower()}   ") == "a known camera default"  # case, padding
    assert caption(text) is None


@pytest.mark.parametrize(
    ("text", "make", "model", "why"),
    [
        ("", None, None, "blank"),
        (" " * 31, "Canon", None, "blank"),  # Canon's 31 spaces
        ("NIKON CORPORATION", "NIKON CORPORATION", "NIKON D70", "the camera's make or model"),
        ("E1035", "General Imaging Co.", "E1035", "the camera's make or model"),
        ("Canon Canon EOS 6D", "Canon", "Canon EOS 6D", "the camera's make or model"),
        ("GC-X1E Image", "JVC", "GC-X1E", "'<model> Image'"),
        ("GZ-HM30  image", "JVC", "GZ-HM30", "'<model> Image'"),
        ("PENTAX DIGITAL CAMERA", None, None, "a maker's '… DIGITAL CAMERA'"),
        ("FUJIFILM DIGITAL STILL CAMERA", None, None, "a maker's '… DIGITAL CAMERA'"),
        ("LEAD Technologies Inc. V1.01", None, None, "LEAD Technologies' encoder"),
        ("<Digimax i50 MP3, Samsung #1 MP3>", None, None, "a camera name in angle brackets"),
        ("DCIM\\100GOPRO\\GOPR0482.JPG", "GoPro", "HERO6 Black", "a DCIM path"),
        ("/DCIM/100MSDCF", None, None, "a DCIM path"),
        ("P1010001.JPG", None, None, "a file name"),
        ("holiday-2019.heic", None, None, "a file name"),
        ("IMG_0042", None, None, "a camera file name"),
        ("DSC01234", None, None, "a camera file name"),
        ("GOPR0482", None, None, "a camera file name"),
        ("...", None, None, "punctuation only"),
        ("-_- !", None, None, "punctuation only"),
    ],
)
def test_rules(text, make, model, why):
    assert boilerplate(text, make, model) == why
    assert caption(text, make, model) is None


@pytest.mark.parametrize(
    "text",
    [
        "Olympus digital camera on a tripod at dawn",  # longer than the default
        "My new digital camera",  # not a maker's upper-case default
        "Canon",  # only boilerplate when the camera is a Canon
        "Images of the GC-X1E",
        "DCIM folder backup, day 2",
        "Río Urbión",
        "2019",
    ],
)
def test_real_captions_are_kept(text):
    assert boilerplate(text, "OLYMPUS IMAGING CORP.", "E-M10") is None
    assert caption(f" {text} ", "OLYMPUS IMAGING CORP.", "E-M10") == text


def test_a_title_of_punctuation_only_is_meant() -> None:
    """A person types a title; `~` as a title is a choice, as a camera description it is noise."""
    assert caption("~", title=True) == "~"
    assert caption("~") is None
    assert caption("OLYMPUS DIGITAL CAMERA", title=True) is None
