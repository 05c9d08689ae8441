"""Lighthouse on the example site (#19): a 40-photo story, in the default build (Hugo resizes the
bundle's files) and in the store build (the published renditions), on a phone and a desktop.

One Lighthouse run per build and form factor, with simulated throttling; asserted are the figures
that hold on a busy 2-core machine: LCP (with room for the load), no layout shift, image bytes,
bytes wasted on oversized images, accessibility and SEO. The performance score, which swings with
the machine's load, is a benchmark figure: bench/lighthouse.py (median of 3).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from site_helpers import (
    DESCRIBED,
    EVENT_PHOTOS,
    Unavailable,
    build_site,
    chromium,
    debian_hugo,
    ingest_event,
    lighthouse_node,
    parse_story,
    run_lighthouse,
    serve,
)

STORY = "stories/sample"
KIB = 1024
# The goals (issue 19) on a phone: LCP ≤ 2.5 s, oversized images ≤ 150 KiB. Before: LCP 4.1 s
# (store) and 11.6–19.3 s (default), 1,358 and 4,758 KiB of images on a phone; 3.4 s (default)
# on a desktop. LCP gets a margin for a loaded machine: simulated throttling counts every request
# started before the LCP it observed, and under load that paint comes late (1.9–3.4 s seen with
# a load average of 9 on 2 cores, 1.5–2.3 s on a quieter machine; 2.0–2.5 s at a load of 5 since
# the gallery is content-visibility: auto). Measured (bench/README.md): a phone gets 307 KiB of
# images (default) and 274–364 (store: how many lazy images start before the run ends varies),
# 14 and 26 KiB oversized; a desktop 603 and 663–715 KiB, 156 and 183–207 oversized.
LIMITS = {
    "mobile": {"lcp_ms": 3500, "image_bytes": 500 * KIB, "oversized": 60 * KIB},
    "desktop": {"lcp_ms": 1500, "image_bytes": 900 * KIB, "oversized": 300 * KIB},
}


@pytest.fixture(scope="module")
def event(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The example site with a 40-photo story and its store."""
    return ingest_event(tmp_path_factory.mktemp("event"))


@pytest.mark.browser
@pytest.mark.parametrize("build", ["default", "store"])
def test_lighthouse_on_a_40_photo_story(
    build: str, event: tuple[Path, Path], tmp_path: Path
) -> None:
    try:
        hugo, browser, node = debian_hugo(), chromium(), lighthouse_node()
    except Unavailable as why:
        pytest.skip(str(why))
    site, store = event
    public = tmp_path / "public"
    result = build_site(hugo, site, public, public_url="/media" if build == "store" else "")
    assert not result.warnings, result.stderr
    if build == "store":
        (public / "media").symlink_to(store, target_is_directory=True)
    page = parse_story((public / STORY / "index.html").read_text(encoding="utf-8"))
    assert len(page.items) == EVENT_PHOTOS
    for n, item in enumerate(page.items, 1):  # the photographer's description, or none
        assert item.img["alt"] == DESCRIBED.get(n, ""), item
        if n in DESCRIBED:
            assert item.caption == f"Along the ridge, stop {n}"
        else:  # the default title: the event and the capture time, nothing positional
            assert re.fullmatch(r"Sample, 2018-06-14 \d\d:\d\d", item.caption), item
    with serve(public, production=True) as base:
        reports = {
            form: run_lighthouse(node, browser, f"{base}/{STORY}/", form, tmp_path / form)
            for form in ("mobile", "desktop")
        }
    for form, report in reports.items():
        print(f"{build} build, {form}: {report}")
        limits = LIMITS[form]
        assert report["scores"]["accessibility"] == 100, report["failing"]
        assert report["scores"]["seo"] == 100, report["failing"]
        assert report["cls"] == 0
        assert report["lcpMs"] <= limits["lcp_ms"]
        assert "story-header-image" in (report["lcpElement"] or ""), "the header is the LCP"
        assert 0 < report["imageBytes"] <= limits["image_bytes"]
        assert report["oversizedBytes"] <= limits["oversized"]
        assert report["offscreenBytes"] == 0, "everything below the fold is lazy"
        assert report["modernFormatBytes"] == 0, "WebP wherever it saves bytes"
