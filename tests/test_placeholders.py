"""Placeholders: a blurhash whose average is the photo's, and the colour most of it has."""

from __future__ import annotations

import numpy as np
import pytest
from photos import real_photo
from PIL import Image, ImageFilter

from gallerypipe.placeholders import blurhash, dominant_color, placeholder

BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def from_base83(text: str) -> int:
    value = 0
    for char in text:
        value = value * 83 + BASE83.index(char)
    return value


def srgb_mean(img: Image.Image) -> np.ndarray:
    """The average colour as blurhash defines it: averaged in linear light, back to sRGB."""
    v = np.asarray(img.convert("RGB"), dtype=np.float64) / 255
    linear = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).mean(axis=(0, 1))
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055) * 255


@pytest.mark.parametrize("name", ["sunset", "life", "wine"])
def test_blurhash_carries_the_photos_average_colour_and_shape(name):
    img = real_photo(name, 32)
    x, y = (4, 3) if img.width >= img.height else (3, 4)
    hashed = blurhash(img, x, y)
    assert len(hashed) == 4 + 2 * x * y
    size_flag = from_base83(hashed[0])
    assert (size_flag % 9 + 1, size_flag // 9 + 1) == (x, y)
    dc = from_base83(hashed[2:6])
    encoded = np.array([dc >> 16, (dc >> 8) & 255, dc & 255])
    assert np.abs(encoded - srgb_mean(img)).max() <= 1
    assert set(hashed) <= set(BASE83)


def test_blurhash_differs_between_photos():
    hashes = {blurhash(real_photo(name, 32)) for name in ("sunset", "life", "kleiber", "fig")}
    assert len(hashes) == 4


def test_dominant_colour_is_the_colour_of_most_of_the_picture():
    photo = real_photo("life", (400, 300))
    flat = photo.crop((0, 0, 300, 300)).filter(ImageFilter.BoxBlur(400))  # 3/4, nearly one colour
    photo.paste(flat, (0, 0))
    expected = np.asarray(flat, dtype=np.float64).mean(axis=(0, 1))
    color = dominant_color(photo.resize((32, 24), Image.Resampling.BOX))
    found = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])
    assert np.abs(found - expected).max() <= 6, (color, expected)


def test_placeholder_is_portrait_for_a_portrait_photo():
    result = placeholder(real_photo("wine", 480), 1366, 2048)
    assert (result.width, result.height) == (1366, 2048)
    size_flag = from_base83(result.blurhash[0])
    assert (size_flag % 9 + 1, size_flag // 9 + 1) == (3, 4)
    assert result.color.startswith("#") and len(result.color) == 7
