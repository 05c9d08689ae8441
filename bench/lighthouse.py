"""Lighthouse on the example site with a 40-photo story: the default build and the store build.

    python bench/lighthouse.py [--runs 3] [--photos 40] [--keep DIR] [--builds …] [--forms …]

Ingests a 40-photo card made from the sample photographs (tests/site_helpers.py:
write_event_cards), builds examples/hugo-site with Debian's Hugo twice (no publicURL: Hugo
resizes the bundle's files; publicURL=/media: the store's renditions, served under /media), serves
each as a web host would (gzipped text, immutable renditions: docs/site.md), and runs Lighthouse
(tests/browser/lighthouse.mjs, simulated throttling) --runs times per build and form factor.
Prints each run and the median of the performance score, LCP, bytes and the other figures; the
goals (issue 19) are mobile LCP ≤ 2.5 s, CLS 0, oversized images ≤ 150 KiB, accessibility and SEO
100, performance ≥ 95, desktop performance 100.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from site_helpers import (  # noqa: E402  (tests/site_helpers.py: the site, Hugo and browser)
    build_site,
    chromium,
    debian_hugo,
    ingest_event,
    lighthouse_node,
    run_lighthouse,
    serve,
)

STORY = "stories/sample"
BUILDS = {"default": "", "store": "/media"}  # build name: publicURL
FIGURES = (
    ("performance", lambda r: r["scores"]["performance"], "{:.0f}"),
    ("accessibility", lambda r: r["scores"]["accessibility"], "{:.0f}"),
    ("seo", lambda r: r["scores"]["seo"], "{:.0f}"),
    ("LCP s", lambda r: r["lcpMs"] / 1000, "{:.2f}"),
    ("FCP s", lambda r: r["fcpMs"] / 1000, "{:.2f}"),
    ("TBT ms", lambda r: r["tbtMs"], "{:.0f}"),
    ("CLS", lambda r: r["cls"], "{:.3f}"),
    ("image KiB", lambda r: r["imageBytes"] / 1024, "{:.0f}"),
    ("oversized KiB", lambda r: r["oversizedBytes"] / 1024, "{:.0f}"),
    ("total KiB", lambda r: r["totalBytes"] / 1024, "{:.0f}"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temp dir)")
    parser.add_argument("--builds", nargs="+", choices=BUILDS, default=list(BUILDS))
    parser.add_argument(
        "--forms", nargs="+", choices=("mobile", "desktop"), default=["mobile", "desktop"]
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        site, store = ingest_event(root / "event", args.photos)
        print(f"ingest of {args.photos} photos: {time.monotonic() - start:.1f} s")
        hugo, node, browser = debian_hugo(), lighthouse_node(), chromium()
        for build in args.builds:
            public_url = BUILDS[build]
            public = root / f"public-{build}"
            resources = root / f"hugo-resources-{build}"  # empty: Hugo makes every image first
            # a first build of 40 photos' WebP sizes: 38 s of CPU, minutes on a loaded machine
            result = build_site(hugo, site, public, public_url, resources, timeout=900)
            again = build_site(hugo, site, public, public_url=public_url, resources=resources)
            print(f"{build} build ({hugo}): {result.seconds:.1f} s, {again.seconds:.1f} s again")
            if public_url:
                (public / "media").symlink_to(store, target_is_directory=True)
            with serve(public, production=True) as base:
                for form in args.forms:
                    runs = [
                        run_lighthouse(node, browser, f"{base}/{STORY}/", form, root / "profile")
                        for _ in range(args.runs)
                    ]
                    report(build, form, runs)


def report(build: str, form: str, runs: list[dict]) -> None:
    print(f"\n{build} build, {form}, {len(runs)} runs (median last)")
    for name, get, fmt in FIGURES:
        values = [get(r) for r in runs]
        shown = " ".join(fmt.format(v) for v in values)
        print(f"  {name:14} {shown:30} median {fmt.format(statistics.median(values))}")
    failing = {tuple(r["failing"]["accessibility"] + r["failing"]["seo"]) for r in runs}
    print(f"  failing audits {sorted(failing)}")


if __name__ == "__main__":
    main()
