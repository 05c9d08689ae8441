"""Encoder settings, time against bytes, on the sample photos at 2048 px (the largest rendition).

    python bench/webp_settings.py [--repeat 2]

For WebP `method` 0–6 × `quality` 70–90, AVIF `speed` × `quality`, and JPEG q85 progressive for
reference: CPU ms per 2048 px image (process time, the best of --repeat) and kB per image. The
render defaults (RenderSettings) were chosen from these figures.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

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


def measure(imgs: list[Image.Image], repeat: int, fmt: str, **params) -> tuple[float, float]:
    """Mean CPU ms and kB per image."""
    ms = kb = 0.0
    for img in imgs:
        best = float("inf")
        for _ in range(repeat):
            out = io.BytesIO()
            start = time.process_time()
            img.save(out, fmt, **params)
            best = min(best, time.process_time() - start)
        ms += best * 1000
        kb += len(out.getvalue()) / 1000
    return ms / len(imgs), kb / len(imgs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    imgs = images()
    print(f"{len(imgs)} sample photos at 2048 px long edge; CPU ms and kB per image\n")
    ms, kb = measure(imgs, args.repeat, "JPEG", quality=85, progressive=True)
    print(f"JPEG q85 progressive: {ms:6.1f} ms {kb:6.0f} kB\n")
    qualities = (70, 75, 80, 85, 90)
    print("WebP    " + "".join(f"   q{q:<2}  ms    kB" for q in qualities))
    for method in range(7):
        cells = [measure(imgs, args.repeat, "WEBP", quality=q, method=method) for q in qualities]
        print(f"method {method}" + "".join(f"   {ms:7.1f} {kb:5.0f}" for ms, kb in cells))
    if not features.check("avif"):
        print("\nAVIF: this Pillow cannot write it")
        return
    print("\nAVIF (one thread)" + "".join(f"   q{q:<2}  ms    kB" for q in (50, 60, 70)))
    for speed in (6, 8, 10):
        cells = [
            measure(imgs, 1, "AVIF", quality=q, speed=speed, max_threads=1) for q in (50, 60, 70)
        ]
        print(f"speed {speed:<11}" + "".join(f"   {ms:7.1f} {kb:5.0f}" for ms, kb in cells))


if __name__ == "__main__":
    sys.exit(main())
