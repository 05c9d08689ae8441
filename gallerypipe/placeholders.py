"""Placeholders a site paints before a photo loads: a blurhash and the dominant colour.

Computed from the smallest rendition's pixels, already in memory in the render worker, so they
cost no decode. The blurhash encoder follows the reference algorithm (blurha.sh) in numpy.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .model import Placeholder

BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def placeholder(img: Image.Image, width: int, height: int) -> Placeholder:
    """The placeholder of a photo published at width×height, from any smaller copy of it."""
    small = img.convert("RGB")
    small.thumbnail((32, 32), Image.Resampling.BOX)
    x, y = (4, 3) if small.width >= small.height else (3, 4)
    return Placeholder(blurhash(small, x, y), dominant_color(small), width, height)


def dominant_color(img: Image.Image) -> str:
    """The colour of the largest of 6 median-cut clusters, as #rrggbb."""
    quantized = img.convert("RGB").quantize(colors=6, method=Image.Quantize.MEDIANCUT)
    _, index = max(quantized.getcolors())
    r, g, b = quantized.getpalette()[3 * index : 3 * index + 3]
    return f"#{r:02x}{g:02x}{b:02x}"


def blurhash(img: Image.Image, x_components: int = 4, y_components: int = 3) -> str:
    """The blurhash of an RGB image (keep it small: the cost is per pixel)."""
    if not (1 <= x_components <= 9 and 1 <= y_components <= 9):
        raise ValueError("blurhash takes 1 to 9 components each way")
    linear = _to_linear(np.asarray(img.convert("RGB"), dtype=np.float64) / 255)
    height, width = linear.shape[:2]
    cos_x = np.cos(np.pi * np.outer(np.arange(x_components), np.arange(width)) / width)
    cos_y = np.cos(np.pi * np.outer(np.arange(y_components), np.arange(height)) / height)
    factors = np.einsum("jy,ix,yxc->jic", cos_y, cos_x, linear) / (width * height)
    factors = factors.reshape(-1, 3)
    factors[1:] *= 2  # every component but the average carries a factor of 2
    dc, ac = factors[0], factors[1:]
    parts = [_base83((x_components - 1) + (y_components - 1) * 9, 1)]
    if len(ac):
        quantised_max = int(max(0, min(82, np.floor(np.abs(ac).max() * 166 - 0.5))))
        maximum = (quantised_max + 1) / 166
        parts.append(_base83(quantised_max, 1))
    else:
        maximum = 1.0
        parts.append(_base83(0, 1))
    r, g, b = (_to_srgb_byte(v) for v in dc)
    parts.append(_base83((r << 16) + (g << 8) + b, 4))
    for value in ac:
        q = np.clip(np.floor(np.sign(value) * np.sqrt(np.abs(value / maximum)) * 9 + 9.5), 0, 18)
        parts.append(_base83(int(q[0] * 19 * 19 + q[1] * 19 + q[2]), 2))
    return "".join(parts)


def _to_linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _to_srgb_byte(linear: float) -> int:
    v = min(1.0, max(0.0, float(linear)))
    srgb = v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055
    return int(srgb * 255 + 0.5)


def _base83(value: int, length: int) -> str:
    return "".join(BASE83[(value // 83 ** (length - i)) % 83] for i in range(1, length + 1))
