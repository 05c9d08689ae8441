"""Encoder settings, time against bytes, on the sample photos at 2048 px (the largest rendition).

    python bench/webp_settings.py [--repeat 2]

For WebP `method` 0–6 × `quality` 70–90, AVIF `speed` × `quality`, and JPEG q85 progressive for
reference: CPU ms per 2048 px image (process time, the best of --repeat), kB per image and PSNR
(dB) of the decoded result against the pixels encoded: bytes alone would favour a setting that
simply throws more away. The
render defaults (RenderSettings) were chosen from these figures.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, features

REPO = Path(__file__).resolve().parent.parent
SAMPLES = sorted(
    p
    for p in (REPO / "sample_photos").rglob("*")
    if p.suffix.lower() in (".jpg", ".jpeg") and not p.name.startswith("._")
)


def images() -> list[Image.Image]:
    out = []
    for path in SAMPLES:
        with Image.open(path) as img:
            upright = ImageOps.exif_transpose(img).convert("RGB")
        scale = 2048 / max(upright.size)
        size = (round(upright.width * scale), round(upright.height * scale))
        out.append(upright.resize(size, Image.Resampling.LANCZOS))
    return out


def psnr(a: Image.Image, b: Image.Image) -> float:
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b.convert("RGB"), dtype=np.float64)
    return float(10 * np.log10(255**2 / (diff * diff).mean()))


def measure(imgs: list[Image.Image], repeat: int, fmt: str, **params) -> tuple[float, ...]:
    """Mean CPU ms, kB and PSNR per image."""
    ms = kb = db = 0.0
    for img in imgs:
        best = float("inf")
        for _ in range(repeat):
            out = io.BytesIO()
            start = time.process_time()
            img.save(out, fmt, **params)
            best = min(best, time.process_time() - start)
        ms += best * 1000
        kb += len(out.getvalue()) / 1000
        db += psnr(img, Image.open(out))
    return ms / len(imgs), kb / len(imgs), db / len(imgs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    imgs = images()
    print(f"{len(imgs)} sample photos at 2048 px long edge; CPU ms, kB and PSNR dB per image\n")
    ms, kb, db = measure(imgs, args.repeat, "JPEG", quality=85, progressive=True)
    print(f"JPEG q85 progressive: {ms:6.1f} ms {kb:6.0f} kB {db:5.2f} dB\n")
    qualities = (70, 80, 90)
    print("WebP    " + "".join(f"   q{q:<2}  ms    kB    dB" for q in qualities))
    for method in range(7):
        cells = [measure(imgs, args.repeat, "WEBP", quality=q, method=method) for q in qualities]
        print(
            f"method {method}" + "".join(f"   {c[0]:7.1f} {c[1]:5.0f} {c[2]:5.2f}" for c in cells)
        )
    if not features.check("avif"):
        print("\nAVIF: this Pillow cannot write it")
        return
    print("\nAVIF, 1 thread" + "".join(f"   q{q:<2}  ms    kB    dB" for q in (50, 60, 70)))
    for speed in (6, 8, 10):
        cells = [
            measure(imgs, 1, "AVIF", quality=q, speed=speed, max_threads=1) for q in (50, 60, 70)
        ]
        print(
            f"speed {speed:<8}" + "".join(f"   {c[0]:7.1f} {c[1]:5.0f} {c[2]:5.2f}" for c in cells)
        )


if __name__ == "__main__":
    sys.exit(main())
