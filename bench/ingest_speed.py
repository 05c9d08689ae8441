"""How fast gallerypipe turns 24 MP camera JPEGs into renditions, against sigal and the decoder.

    python bench/ingest_speed.py -n 40 [--sigal /tmp/sigal-venv/bin/sigal] [--jobs 0]

Makes N 24 MP (6000×4000) JPEGs from the real sample photos (upscaled, with noise so each
differs; cached in --cache-dir), then times on all cores, each in a process of its own:

- the decode floor: Pillow's draft decode alone at ⅛ and ½ scale;
- gallerypipe's real ingest() into a local store: JPEG only and the default JPEG + WebP, cold
  (analysis + renditions) and with the analysis cache warm (renditions alone);
- sigal build with the same long edge (2048), a 480 thumbnail and JPEG quality 85.

It prints img/s for each (wall clock, and from CPU time, which is what to compare on a shared
machine), the ratios the goals are stated in, and peak RSS of the main process and of the largest
worker. --blocks adds a run with Pillow keeping freed image blocks (PILLOW_BLOCKS_MAX=16).
sigal runs from its own virtualenv (pip install sigal there); without it that row is skipped.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import piexif
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's gallerypipe, not another installed one

SIZE = (6000, 4000)
SAMPLES = sorted(
    p
    for p in (REPO / "sample_photos").rglob("*")
    if p.suffix.lower() in (".jpg", ".jpeg") and not p.name.startswith("._")
)


def make_photo(index: int, folder: Path) -> Path:
    """A 24 MP camera-like JPEG: a real photo upscaled to 3:2, grain added, EXIF with a time."""
    path = folder / f"IMG_{index:04d}.JPG"
    if path.exists():
        return path
    with Image.open(SAMPLES[index % len(SAMPLES)]) as src:
        upright = ImageOps.exif_transpose(src).convert("RGB")
    img = ImageOps.fit(upright, SIZE, Image.Resampling.BICUBIC)
    rng = np.random.default_rng(index)
    pixels = np.asarray(img, dtype=np.int16)
    pixels += rng.integers(-6, 7, size=pixels.shape, dtype=np.int16)  # sensor-like grain
    img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    taken = f"2018:06:14 {9 + index // 3600:02d}:{index // 60 % 60:02d}:{index % 60:02d}"
    exif = piexif.dump(
        {
            "0th": {piexif.ImageIFD.Make: "Canon", piexif.ImageIFD.Model: "EOS 5D Mark IV"},
            "Exif": {piexif.ExifIFD.DateTimeOriginal: taken},
        }
    )
    out = io.BytesIO()
    img.save(out, "JPEG", quality=92, exif=exif)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(out.getvalue())
    tmp.rename(path)
    return path


def make_photos(n: int, folder: Path, jobs: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(make_photo, range(n), [folder] * n))


def draft_decode(args: tuple[Path, int]) -> float:
    """CPU seconds to read and draft-decode one photo."""
    path, scale = args
    start = time.process_time()
    with Image.open(io.BytesIO(path.read_bytes())) as img:
        img.draft("RGB", (img.width // scale, img.height // scale))
        img.load()
    return time.process_time() - start


def decode_floor(paths: list[Path], scale: int, jobs: int) -> tuple[float, float]:
    """Wall and CPU seconds to draft-decode every photo at 1/scale on all cores, nothing else."""
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(draft_decode, [(paths[0], scale)] * jobs))  # warm up
        start = time.perf_counter()
        cpu = sum(pool.map(draft_decode, [(p, scale) for p in paths]))
        return time.perf_counter() - start, cpu


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_ingest(photos: Path, work: Path, formats: str, cache: Path, jobs: int) -> dict:
    """One gallerypipe ingest, in this process (the bench runs it in a child of its own)."""
    from gallerypipe.pipeline import IngestOptions, ingest
    from gallerypipe.renditions import RenderSettings

    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        marks[stage] = time.perf_counter()

    start = time.perf_counter()
    report = ingest(
        IngestOptions(
            sources=(photos,),
            bundle=work / "bundle",
            store=str(work / "store"),
            keep_all=True,  # grain makes them differ, but not every upscale clears dedup
            jobs=jobs,
            cache=cache,
            render=RenderSettings(formats=tuple(formats.split(","))),
        ),
        progress,
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "cpu": cpu_seconds(resource.RUSAGE_SELF) + cpu_seconds(resource.RUSAGE_CHILDREN),
        "analyse_seconds": marks.get("analyse", start) - start,
        "photos": report.photos,
        "rendered": report.rendered,
        "analysed": report.analysed,
        "skipped": len(report.skipped),
        "bytes": sum(p.stat().st_size for p in (work / "store/renditions").iterdir()),
        "rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def ingest_in_child(photos, formats, cache, jobs, env=None) -> dict:
    with tempfile.TemporaryDirectory(prefix="gp-bench-") as work:
        cmd = [sys.executable, __file__, "--child", str(photos), work, formats, str(cache)]
        cmd += ["--jobs", str(jobs)]
        out = subprocess.run(
            cmd, capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}
        )
        return json.loads(out.stdout.strip().splitlines()[-1])


SIGAL_CONF = """
source = {source!r}
destination = {destination!r}
img_size = (2048, 2048)
thumb_size = (480, 480)
thumb_fit = False
jpg_options = {{"quality": 85, "optimize": True, "progressive": True}}
keep_orig = False
write_html = False
copy_exif_data = False
autorotate_images = True
"""


def run_sigal(sigal: str, photos: Path, jobs: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="sigal-bench-") as work:
        conf = Path(work) / "sigal.conf.py"
        conf.write_text(SIGAL_CONF.format(source=str(photos), destination=f"{work}/out"))
        ncpu = ["-n", str(jobs)] if jobs else []
        start, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_CHILDREN)
        subprocess.run([sigal, "build", "-q", "-c", str(conf), *ncpu], check=True, cwd=work)
        seconds = time.perf_counter() - start
        cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu
        written = [p for p in Path(work, "out").rglob("*") if p.suffix.lower() == ".jpg"]
        if len(written) < 2 * len(list(photos.glob("*.JPG"))):
            raise SystemExit(f"sigal wrote only {len(written)} images")
        return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=40, help="number of 24 MP photos")
    parser.add_argument("--jobs", type=int, default=0, help="processes (0: every core)")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "gp-24mp")
    parser.add_argument("--sigal", default="/tmp/sigal-venv/bin/sigal")
    parser.add_argument(
        "--blocks", action="store_true", help="also run with Pillow keeping freed blocks"
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        photos, work, formats, cache = args.child
        cache_path = None if cache == "-" else Path(cache)
        print(json.dumps(run_ingest(Path(photos), Path(work), formats, cache_path, args.jobs)))
        return
    bench(args)


def bench(args) -> None:
    jobs = args.jobs = args.jobs or len(os.sched_getaffinity(0))
    photos = args.cache_dir / f"n{args.n}"
    start = time.perf_counter()
    paths = make_photos(args.n, args.cache_dir / "all", jobs)
    if photos.exists():
        shutil.rmtree(photos)
    photos.mkdir(parents=True)
    for p in paths:
        os.link(p, photos / p.name)
    mb = sum(p.stat().st_size for p in paths) / args.n / 1e6
    print(
        f"{args.n} photos of {SIZE[0]}×{SIZE[1]} ({mb:.1f} MB each) ready in "
        f"{time.perf_counter() - start:.0f} s; {jobs} processes"
    )
    rates: dict[str, float] = {}
    print(
        f"{'':<50} {'wall s':>7} {'img/s':>7} {'CPU ms/img':>10} {'img/s on ' + str(jobs):>12}"
        "  (from CPU time: what an otherwise idle machine does)"
    )

    def row(name: str, seconds: float, cpu: float, extra: str = "") -> None:
        rates[name] = args.n / cpu * jobs
        print(
            f"{name:<50} {seconds:7.2f} {args.n / seconds:7.2f} {cpu / args.n * 1000:10.0f} "
            f"{rates[name]:12.2f}  {extra}"
        )

    row("decode floor ⅛ (draft only)", *decode_floor(paths, 8, jobs))
    row("decode floor ½ (draft only)", *decode_floor(paths, 2, jobs))
    configs = [("jpeg", {}), ("jpeg,webp", {})]
    if args.blocks:
        configs.append(("jpeg", {"PILLOW_BLOCKS_MAX": "16"}))
    for formats, env in configs:
        with tempfile.TemporaryDirectory(prefix="gp-cache-") as tmp:
            cache = Path(tmp) / "analysis.sqlite"
            label = formats + (" PILLOW_BLOCKS_MAX=16" if env else "")
            cold = ingest_in_child(photos, formats, cache, args.jobs, env)
            warm = ingest_in_child(photos, formats, cache, args.jobs, env)
        assert cold["rendered"] == warm["rendered"] == args.n and warm["analysed"] == 0, warm
        mem = lambda r: f"RSS main {r['rss_main_mb']:.0f} MB, worker {r['rss_worker_mb']:.0f} MB"  # noqa: E731
        per = cold["bytes"] / args.n / 1e3
        row(
            f"gallerypipe {label}: ingest",
            cold["seconds"],
            cold["cpu"],
            f"{mem(cold)}; {per:.0f} kB/photo",
        )
        row(
            f"gallerypipe {label}: renditions (analysis cached)",
            warm["seconds"],
            warm["cpu"],
            mem(warm),
        )
    if shutil.which(args.sigal):
        row("sigal build (2048 + 480 thumb, q85)", *run_sigal(args.sigal, photos, args.jobs))
    print("\nratios of the CPU-time rates:")
    floor = rates["decode floor ½ (draft only)"]
    for name in ("gallerypipe jpeg: renditions (analysis cached)", "gallerypipe jpeg: ingest"):
        print(f"{name} / ½ decode floor: {rates[name] / floor:.0%} (goal ≥ 70 %)")
    if "sigal build (2048 + 480 thumb, q85)" in rates:
        sigal = rates["sigal build (2048 + 480 thumb, q85)"]
        for name in ("gallerypipe jpeg,webp: ingest", "gallerypipe jpeg: ingest"):
            print(f"{name} / sigal: {rates[name] / sigal:.2f}× (goal ≥ 3× for jpeg,webp)")


if __name__ == "__main__":
    main()
