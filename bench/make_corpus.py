"""Build a labelled dedup corpus from real photographs.

    python bench/make_corpus.py OUT [--photos DIR] [--seed N]

Every JPEG under --photos (default: sample_photos/) is one scene. For each scene it writes the
camera original (EXIF: camera, serial, capture time) and, in the original's group:

- an exact copy (backup/), a q70 re-encode, a 1600-px export, a 2-4 % crop and a ±0.3 EV export,
  none with metadata (exports/);
- an EXIF-rotated copy (pixels stored turned, Orientation tag turning them back, EXIF kept)
  and a pixel-rotated copy (turned 90°/180°/270°, no EXIF);
- a burst: four more frames 0.2 s apart (a tiny shift, some blur, sensor noise, a small region
  changed), each with a 1600-px export;

and, each in a group of its own with the same four exports, four later moments of the same camera
15-180 s on (15 s or more apart): two with a region (12-25 % of each side) replaced (a person
stepping in: a patch of another photograph; something moved: a region copied from elsewhere; or
a shadow), and two gestures: a region of 8-25 % of the frame warped, shifted or mirrored where it
stands (mean change of 20 gray levels or more), with a little reframing, a light change and
sensor noise, the closest by phash of six tries (0-8 bits from the first moment as often as
not). Every fifth scene's original is rejected (embedded XMP xmp:Rating -1) and another rated 5;
their copies carry no metadata (truth.json "ratings"). Bad inputs (truncated, empty, text) go in
bad/.

truth.json maps every decodable file (relative to OUT) to its group; "bad" lists the rest.
Licences: see sample_photos/ATTRIBUTION.md, or the source package's copyright file; the corpus
is for measuring and is not to be committed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

import imagehash
from PIL import Image, ImageChops, ImageEnhance, ImageFilter, ImageOps, ImageStat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from photos import (  # noqa: E402  (tests/photos.py: JPEG, EXIF and XMP helpers)
    XMP_APP1,
    encode_jpeg,
    exif_block,
    insert_segment,
    xmp_packet,
)

CAMERAS = [
    {"make": "Canon", "model": "Canon EOS 5D Mark III", "serial": "032021001234"},
    {"make": "NIKON CORPORATION", "model": "NIKON D750", "serial": "6004321"},
]
FOLDERS = ["cam-a/DCIM/100CANON", "cam-b/DCIM/100NIKON"]
MAX_EDGE = 2400
START = datetime(2018, 6, 14, 9, 0, 0)
VISIBLE = 30  # mean gray-level change (of 255) over the changed region
GESTURE_VISIBLE = 20  # mean gray-level change (of 255) over a gesture's region
BURST_STEP = timedelta(seconds=0.2)
DISTINCT = 16  # source photos with closer phashes are one scene: the later one is left out


class Corpus:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.truth: dict[str, str] = {}
        self.bad: list[str] = []
        self.counter = 0
        self.ratings: dict[str, int] = {}  # group: the rating of its camera original
        self.gesture_bits: list[int] = []  # phash distance of each gesture to its first moment

    def write(self, relative: str, data: bytes, group: str | None) -> None:
        path = self.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if group is None:
            self.bad.append(relative)
        else:
            self.truth[relative] = group

    def camera_file(self, scene: int) -> str:
        self.counter += 1
        return f"{FOLDERS[scene % 2]}/IMG_{self.counter:04d}.JPG"


def load(path: Path) -> Image.Image:
    with Image.open(path) as img:
        upright = ImageOps.exif_transpose(img).convert("RGB")
    if max(upright.size) > MAX_EDGE:
        upright.thumbnail((MAX_EDGE, MAX_EDGE), Image.Resampling.LANCZOS)
    return upright


def camera_exif(scene: int, taken: datetime, orientation: int | None = None) -> bytes:
    subsec = f"{taken.microsecond // 10000:02d}"
    return exif_block(**CAMERAS[scene % 2], taken=taken, subsec=subsec, orientation=orientation)


def resized(img: Image.Image, edge: int) -> Image.Image:
    scale = edge / max(img.size)
    return img.resize(
        (round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS
    )


def crop(img: Image.Image, fraction: float, rng: random.Random) -> Image.Image:
    dx, dy = round(img.width * fraction), round(img.height * fraction)
    left, top = rng.randint(0, dx), rng.randint(0, dy)
    return img.crop((left, top, img.width - (dx - left), img.height - (dy - top)))


def exposure(img: Image.Image, ev: float) -> Image.Image:
    return ImageEnhance.Brightness(img).enhance(2**ev)


def change_region(img: Image.Image, other: Image.Image, rng: random.Random, size: float):
    """The frame with one region visibly changed, as between two moments of one scene."""
    while True:
        out, kind, change = _change_region(img, other, rng, size)
        if change >= VISIBLE:
            return out, kind


def _change_region(img: Image.Image, other: Image.Image, rng: random.Random, size: float):
    out = img.copy()
    w, h = round(img.width * size), round(img.height * size)
    x, y = rng.randint(0, img.width - w), rng.randint(0, img.height - h)
    kind = rng.choice(["person", "moved", "shadow"])
    if kind == "person":
        patch = ImageOps.fit(other, (w, h), Image.Resampling.LANCZOS)
    elif kind == "moved":
        sx, sy = rng.randint(0, img.width - w), rng.randint(0, img.height - h)
        patch = img.crop((sx, sy, sx + w, sy + h))
    else:
        patch = exposure(img.crop((x, y, x + w, y + h)), -1.5)
    before = ImageOps.grayscale(img.crop((x, y, x + w, y + h)))
    change = ImageStat.Stat(ImageChops.difference(before, ImageOps.grayscale(patch))).mean[0]
    out.paste(patch, (x, y))
    return out, kind, change


def shifted(img: Image.Image, fraction: float) -> Image.Image:
    dx, dy = round(img.width * fraction), round(img.height * fraction)
    return img.crop((dx, dy, img.width, img.height)).resize(img.size, Image.Resampling.LANCZOS)


def gesture(img: Image.Image, rng: random.Random) -> tuple[Image.Image, str, float]:
    """The frame with a region of 8-25 % of it warped, shifted or mirrored where it stands (an
    arm raised, a head turned), a little reframing, a light change and sensor noise."""
    area = rng.uniform(0.08, 0.25)
    aspect = rng.uniform(0.6, 1.6)
    w = min(img.width - 2, round(img.width * (area * aspect) ** 0.5))
    h = min(img.height - 2, round(img.height * (area / aspect) ** 0.5))
    x, y = rng.randint(0, img.width - w), rng.randint(0, img.height - h)
    box = (x, y, x + w, y + h)
    region = img.crop(box)
    kind = rng.choice(["warp", "shift", "mirror"])
    if kind == "warp":  # turned and stretched about its centre
        region = region.rotate(rng.choice([-1, 1]) * rng.uniform(12, 30), Image.Resampling.BICUBIC)
        region = region.resize((w, h), Image.Resampling.BICUBIC, box=_shrunk(w, h, rng))
    elif kind == "shift":  # the region's content moved by 15-30 % of its size
        dx = round(w * rng.uniform(0.15, 0.3)) * rng.choice([-1, 1])
        dy = round(h * rng.uniform(0.0, 0.2)) * rng.choice([-1, 1])
        sx, sy = min(max(x + dx, 0), img.width - w), min(max(y + dy, 0), img.height - h)
        region = img.crop((sx, sy, sx + w, sy + h))
    else:
        region = ImageOps.mirror(region)
    before = ImageOps.grayscale(img.crop(box))
    change = ImageStat.Stat(ImageChops.difference(before, ImageOps.grayscale(region))).mean[0]
    out = img.copy()
    out.paste(region, box)
    out = shifted(out, rng.uniform(0.002, 0.01))
    out = exposure(out, rng.uniform(-0.1, 0.1))
    return noisy(out, rng), f"gesture-{kind}", change


def _shrunk(w: int, h: int, rng: random.Random) -> tuple[float, float, float, float]:
    fx, fy = rng.uniform(0.05, 0.15), rng.uniform(0.0, 0.1)
    return (w * fx, h * fy, w * (1 - fx), h * (1 - fy))


def noisy(img: Image.Image, rng: random.Random, sigma: float = 3.0) -> Image.Image:
    noise = Image.effect_noise(img.size, sigma).convert("RGB")
    return ImageChops.add(img, noise, scale=1.0, offset=-128)


def small_gesture(img: Image.Image, rng: random.Random) -> tuple[Image.Image, str, int]:
    """Of a few gestures, the one closest to the frame by its phash (0-8 bits: the hard case)."""
    base = imagehash.phash(img)
    tries = [gesture(img, rng) for _ in range(6)]
    tries = [(frame, kind) for frame, kind, change in tries if change >= GESTURE_VISIBLE]
    if not tries:
        return small_gesture(img, rng)
    frame, kind = min(tries, key=lambda t: imagehash.phash(t[0]) - base)
    return frame, kind, imagehash.phash(frame) - base


def burst_frame(img: Image.Image, others, rng: random.Random) -> Image.Image:
    """A frame of a burst 0.2 s on: a tiny shift, a little blur or noise, a small change."""
    frame, _ = change_region(shifted(img, rng.uniform(0.001, 0.005)), others(), rng, 0.06)
    if rng.random() < 0.5:
        frame = frame.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    return noisy(frame, rng, 2.0)


def exports(corpus: Corpus, stem: str, img: Image.Image, group: str, rng, ev: float) -> None:
    """What a photographer makes of a frame: a q70 re-encode, a 1600-px share, a 2-4 % crop and
    an exposure edit, none with metadata."""
    corpus.write(f"exports/{stem}-q70.jpg", encode_jpeg(img, quality=70), group)
    corpus.write(f"exports/{stem}-1600.jpg", encode_jpeg(resized(img, 1600), quality=80), group)
    cropped = crop(img, rng.uniform(0.02, 0.04), rng)
    corpus.write(f"exports/{stem}-crop.jpg", encode_jpeg(cropped, quality=85), group)
    corpus.write(f"exports/{stem}-ev{ev:+.1f}.jpg", encode_jpeg(exposure(img, ev)), group)


def rating_of(scene: int) -> int | None:
    """Every fifth scene's original is rejected, every fifth (another) rated 5 stars."""
    return {1: -1, 3: 5}.get(scene % 5)


def build_scene(corpus: Corpus, scene: int, img: Image.Image, others, rng) -> None:
    group = f"scene{scene:02d}"
    taken = START + timedelta(minutes=20 * scene, seconds=rng.randint(0, 59))
    original = corpus.camera_file(scene)
    data = encode_jpeg(img, quality=92, exif=camera_exif(scene, taken))
    rating = rating_of(scene)
    if rating is not None:
        data = insert_segment(data, 0xE1, XMP_APP1 + xmp_packet(rating=rating))
        corpus.ratings[group] = rating
    corpus.write(original, data, group)
    stem = Path(original).stem
    corpus.write(f"backup/{original}", data, group)
    ev = 0.3 if scene % 2 else -0.3
    exports(corpus, stem, img, group, rng, ev)
    stored, tag = [(Image.Transpose.ROTATE_90, 6), (Image.Transpose.ROTATE_270, 8)][scene % 2]
    exif = camera_exif(scene, taken, orientation=tag)
    corpus.write(f"rotated/{stem}-exif.jpg", encode_jpeg(img.transpose(stored), exif=exif), group)
    turn = [Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270]
    turned = img.transpose(turn[scene % 3])
    corpus.write(f"rotated/{stem}-turned.jpg", encode_jpeg(turned, quality=85), group)
    for k in range(1, 5):  # a burst of five frames, 0.2 s apart, before the later moments
        frame = burst_frame(img, others, rng)
        data = encode_jpeg(frame, quality=92, exif=camera_exif(scene, taken + k * BURST_STEP))
        name = corpus.camera_file(scene)
        corpus.write(name, data, group)
        corpus.write(
            f"exports/{Path(name).stem}-1600.jpg", encode_jpeg(resized(frame, 1600)), group
        )
    seconds = [15 * k + rng.randint(0, 30) for k in (1, 4, 7, 10)]  # 15-180 s, 15+ s apart
    for moment, later in enumerate(seconds):
        if moment < 2:
            frame, kind = change_region(img, others(), rng, rng.uniform(0.12, 0.25))
            frame = exposure(frame, rng.uniform(-0.05, 0.05))
        else:
            frame, kind, bits = small_gesture(img, rng)
            corpus.gesture_bits.append(int(bits))
        name = corpus.camera_file(scene)
        moment_group = f"{group}-moment{moment}-{kind}"
        data = encode_jpeg(
            frame, quality=92, exif=camera_exif(scene, taken + timedelta(seconds=later))
        )
        corpus.write(name, data, moment_group)
        exports(corpus, Path(name).stem, frame, moment_group, rng, -ev)


def distinct(images: list[Image.Image], sources: list[Path]) -> list[Image.Image]:
    """The images, less any that is a copy of an earlier one (the samples hold two exports)."""
    kept, hashes = [], []
    for img, path in zip(images, sources, strict=True):
        h = imagehash.phash(img)
        if any(h - other <= DISTINCT for other in hashes):
            print(f"left out {path}: the same photograph as an earlier source")
            continue
        kept.append(img)
        hashes.append(h)
    return kept


def bad_inputs(corpus: Corpus, img: Image.Image) -> None:
    data = encode_jpeg(resized(img, 800), exif=camera_exif(0, START))
    corpus.write("bad/IMG_9001.JPG", data[: len(data) // 2], None)
    corpus.write("bad/IMG_9002.JPG", b"", None)
    corpus.write("bad/notes.jpg", b"Notes saved with the wrong name.\n", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--photos", type=Path, default=ROOT / "sample_photos")
    parser.add_argument("--seed", type=int, default=20180614)
    args = parser.parse_args()
    sources = sorted(p for p in args.photos.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    sources = [p for p in sources if not p.name.startswith("._")]
    images = distinct([load(p) for p in sources], sources)
    rng = random.Random(args.seed)
    corpus = Corpus(args.out)
    for scene, img in enumerate(images):
        others = [im for k, im in enumerate(images) if k != scene]
        build_scene(corpus, scene, img, lambda others=others: rng.choice(others), rng)
    bad_inputs(corpus, images[0])
    truth = {
        "groups": corpus.truth,
        "bad": corpus.bad,
        "ratings": corpus.ratings,
        "seed": args.seed,
    }
    (args.out / "truth.json").write_text(json.dumps(truth, indent=1))
    groups = len(set(corpus.truth.values()))
    print(f"{args.out}: {len(corpus.truth)} photos in {groups} groups, {len(corpus.bad)} bad")
    bits = sorted(corpus.gesture_bits)
    print(f"gesture moments: phash distance to their first moment {bits}")


if __name__ == "__main__":
    main()
