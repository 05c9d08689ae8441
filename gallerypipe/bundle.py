"""Write the Hugo page bundle: numbered gallery files and index.md's `resources:` front matter.

Hugo applies the first matching resource entry per field, so the header gets a file of its own
(`header.jpg`): an entry for the same file would steal the gallery photo's name and title.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tomli_w
import yaml

from .model import GalleryItem
from .storage import atomic_write

GALLERY_DIR = "gallery"
HEADER_FILE = "header.jpg"
SHORTCODE = '{{< gallery folder="gallery" title="" >}}'
_SHORTCODE_RE = re.compile(r"\{\{[<%]\s*gallery\b")


class FrontMatterError(ValueError):
    """index.md's front matter does not parse; the message names the file and line."""


@dataclass(frozen=True)
class Page:
    fmt: str  # "yaml", "toml" or "none"
    front_text: str  # the front matter as written, without delimiters
    data: dict
    body: str


@dataclass(frozen=True)
class BundleResult:
    index: Path
    files_written: int
    files_removed: int


def gallery_name(number: int, source_name: str, total: int) -> str:
    width = max(3, len(str(total)))
    stem = re.sub(r"[^a-z0-9_]+", "-", Path(source_name).stem.lower()).strip("-_") or "photo"
    return f"{number:0{width}d}-{stem}.jpg"


def read_page(index: Path) -> Page:
    if not index.exists():
        return Page("none", "", {}, "")
    text = index.read_text(encoding="utf-8")
    for fmt, fence in (("yaml", "---"), ("toml", "+++")):
        match = re.match(
            rf"\A{re.escape(fence)}[ \t]*\r?\n(.*?)^{re.escape(fence)}[ \t]*\r?\n?",
            text,
            re.S | re.M,
        )
        if match:
            return Page(
                fmt, match.group(1), _parse(index, fmt, match.group(1)), text[match.end() :]
            )
    return Page("none", "", {}, text)


def _parse(index: Path, fmt: str, text: str) -> dict:
    try:
        data = yaml.safe_load(text) if fmt == "yaml" else tomllib.loads(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f"line {mark.line + 2}" if mark else "front matter"
        raise FrontMatterError(f"{index}: {line}: YAML front matter does not parse: {err}") from err
    except tomllib.TOMLDecodeError as err:
        at = re.search(r"at line (\d+)", str(err))
        line = f"line {int(at.group(1)) + 1}" if at else "front matter"  # +1: the +++ line
        raise FrontMatterError(f"{index}: {line}: TOML front matter does not parse: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontMatterError(f"{index}: line 2: front matter is not a mapping of keys")
    return data


def is_ours(entry: object) -> bool:
    """Resource entries gallerypipe manages: the header and everything under gallery/."""
    if not isinstance(entry, dict):
        return False
    src, name = str(entry.get("src", "")), str(entry.get("name", ""))
    return src.startswith(f"{GALLERY_DIR}/") or name == "header" or name.startswith("gallery-")


def resource_entries(
    items: Sequence[GalleryItem], header: GalleryItem, kept: Sequence[object]
) -> list[object]:
    """The header first, then one numbered entry per gallery photo, then the user's own."""
    total = len(items)
    width = max(3, len(str(total)))
    entries: list[object] = [{"src": HEADER_FILE, "name": "header", "title": header.title}]
    for item in items:
        name = gallery_name(item.number, item.photo.source.path.name, total)
        entries.append(
            {
                "src": f"{GALLERY_DIR}/{name}",
                "name": f"gallery-{item.number:0{width}d}",
                "title": item.title,
            }
        )
    return entries + [e for e in kept if not is_ours(e)]


def render_page(page: Page, resources: list[object], defaults: dict) -> str:
    """The new index.md text: other keys and the body as they were, resources replaced."""
    body = page.body if page.fmt != "none" or page.body else ""
    if not _SHORTCODE_RE.search(body):
        body = body.rstrip("\n") + ("\n\n" if body.strip() else "") + SHORTCODE + "\n"
    if page.fmt == "toml":
        return f"+++\n{_replace_toml_resources(page.front_text, resources)}+++\n{body}"
    front = page.front_text if page.fmt == "yaml" else _yaml(defaults)
    return f"---\n{_replace_yaml_key(front, 'resources', resources)}---\n{body}"


def _replace_toml_resources(front: str, resources: list[object]) -> str:
    """Drop the [[resources]] tables from TOML text and append new ones; other lines stay.

    An array of tables may stand anywhere after the top-level keys, so appending is valid.
    """
    kept, inside = [], False
    for line in front.splitlines(keepends=True):
        header = line.strip()
        if header.startswith("["):
            inside = re.match(r"\[\[\s*resources\s*\]\]", header) is not None
        if not inside:
            kept.append(line)
    text = "".join(kept).rstrip("\n")
    block = tomli_w.dumps({"resources": resources})
    return f"{text}\n\n{block}" if text else block


def _yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000) if data else ""


def _replace_yaml_key(front: str, key: str, value: object) -> str:
    """Swap one top-level key's block in YAML text, leaving every other line as written."""
    lines = front.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(rf"{key}\s*:", line)), None)
    block = _yaml({key: value})
    if start is None:
        text = "".join(lines)
        return text + ("" if not text or text.endswith("\n") else "\n") + block
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t-"):
        end += 1
    return "".join(lines[:start]) + block + "".join(lines[end:])


def write_bundle(
    bundle: Path,
    items: Sequence[GalleryItem],
    header: GalleryItem,
    fetch: Callable[[GalleryItem], bytes],
    defaults: dict,
) -> BundleResult:
    """Place gallery files (atomically, reusing identical ones), then index.md, then tidy up."""
    index = bundle / "index.md"
    page = read_page(index)  # parse first: a broken page is reported and left untouched
    gallery = bundle / GALLERY_DIR
    targets = {
        gallery / gallery_name(i.number, i.photo.source.path.name, len(items)): i for i in items
    }
    targets[bundle / HEADER_FILE] = header
    written = _place_files(targets, fetch, _current_files(gallery, bundle / HEADER_FILE))
    kept = page.data.get("resources") or []
    text = render_page(
        page, resource_entries(items, header, kept if isinstance(kept, list) else []), defaults
    )
    atomic_write(index, text.encode("utf-8"))
    removed = _remove_stale(gallery, set(targets))
    for leftover in bundle.glob(".tmp-*"):  # from a run killed while writing index.md
        leftover.unlink()
    return BundleResult(index, written, removed)


def _current_files(gallery: Path, *extra: Path) -> dict[Path, str]:
    """The sha256 of every file already in place."""
    paths = [*gallery.glob("*.jpg"), *extra] if gallery.exists() else list(extra)
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in paths
        if p.is_file() and not p.name.startswith(".")  # not a killed run's temporary file
    }


def _place_files(
    targets: dict[Path, GalleryItem],
    fetch: Callable[[GalleryItem], bytes],
    current: dict[Path, str],
) -> int:
    """Stage every missing file under a temporary name first, so a renumbering never loses one."""
    existing = {sha: path for path, sha in current.items()}
    staged: list[tuple[Path, Path]] = []
    try:
        for target, item in targets.items():
            sha = item.largest.sha256
            if current.get(target) == sha:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".tmp-{target.name}")
            if sha in existing:
                tmp.unlink(missing_ok=True)
                os.link(existing[sha], tmp)
            else:
                atomic_write(tmp, fetch(item))
            staged.append((tmp, target))
    except BaseException:  # a full disk, Ctrl-C: leave no staged file behind
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, target in staged:
        os.replace(tmp, target)
    return len(staged)


def _remove_stale(gallery: Path, wanted: set[Path]) -> int:
    if not gallery.exists():
        return 0
    stale = [p for p in gallery.iterdir() if p.is_file() and p not in wanted]
    stale = [p for p in stale if p.suffix.lower() == ".jpg" or p.name.startswith(".tmp-")]
    for path in stale:
        path.unlink()
    return len(stale)
