"""How much a re-run costs: cold analysis, unchanged paths, and moved copies (content lookup).

    python bench/bench_incremental.py [--copies 4] [--jobs 0]

Copies the sample cards `--copies` times (each copy re-encoded with a different comment so its
sha256 differs), analyses them into a fresh cache, then analyses again (same paths), then moves
every file into another folder under a new name and analyses again (found by content).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's package, not an installed one

from gallerypipe.imaging import register_formats  # noqa: E402
from gallerypipe.pipeline import analyse_all  # noqa: E402
from gallerypipe.scan import scan  # noqa: E402

SAMPLES = REPO / "sample_photos"


def make_cards(root: Path, copies: int) -> Path:
    cards = root / "cards"
    for n in range(copies):
        for src in sorted(SAMPLES.rglob("*")):
            if src.is_file() and src.suffix.lower() in (".jpg", ".jpeg"):
                dest = cards / f"copy{n}" / src.relative_to(SAMPLES)
                dest.parent.mkdir(parents=True, exist_ok=True)
                data = src.read_bytes()  # a COM segment after SOI makes each copy's bytes unique
                comment = f"copy {n}".encode()
                com = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
                dest.write_bytes(data[:2] + com + data[2:])
    return cards


def timed(label: str, sources: list[Path], jobs: int, cache: Path) -> None:
    start = time.perf_counter()
    scanned = scan(sources)
    photos, _problems, decoded = analyse_all(scanned, jobs, lambda *_: None, cache)
    seconds = time.perf_counter() - start
    print(
        f"{label:<34} {len(photos):4d} photos  decoded {decoded:4d}  "
        f"{seconds:7.2f} s  {1000 * seconds / max(1, len(photos)):7.1f} ms/photo"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=0)
    args = parser.parse_args()
    register_formats()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cards = make_cards(root, args.copies)
        cache = root / "analysis.sqlite"
        total = sum(f.stat().st_size for f in cards.rglob("*") if f.is_file())
        print(f"{total / 1e6:.1f} MB of JPEGs, jobs={args.jobs or 'all cores'}")
        timed("cold (empty cache)", [cards], args.jobs, cache)
        timed("re-run, same paths", [cards], args.jobs, cache)
        moved = root / "reorganised"
        shutil.move(cards, moved)
        for f in sorted(moved.rglob("*.*")):
            f.rename(f.with_name(f"event-{f.name}"))
        timed("re-run, moved + renamed (sha256)", [moved], args.jobs, cache)
        timed("cold, no cache", [moved], args.jobs, root / "other.sqlite")


if __name__ == "__main__":
    main()
