"""Write the Hugo page bundle: gallery files and index.md's `resources:` front matter.

`HugoBundle` is this module as a site target (sites.SiteTarget, registered as "hugo"): the
pipeline reaches the bundle only through it.

Hugo applies the first matching resource entry per field, so the header gets a file of its own
(`header.jpg`): an entry for the same file would steal the gallery photo's name and title.

Only files gallerypipe recorded as its own (see ownership.py) are ever replaced or removed; the
user's files, an edited copy of ours, the user's header entry and titles are kept and reported.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import tomli_w
import yaml

from .model import GalleryItem, Photo
from .ownership import (
    GALLERY_DIR,
    HEADER_FILE,
    MANIFEST_FILE,
    STATE_FILE,
    Owned,
    Record,
    bundle_lock,
    gallery_name,
    load_record,
    save_record,
    sha256_of,
    stable_name,
)
from .sites import Draft, Gallery, Kept, SiteChanges, SiteError, SiteState
from .storage import keep_mode, temp_file, write_if_changed

__all__ = ["GALLERY_DIR", "HEADER_FILE", "STATE_FILE", "Kept", "gallery_name", "stable_name"]
IMAGE_SUFFIXES = frozenset([".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".tif", ".tiff"])
SHORTCODE = '{{< gallery folder="gallery" title="" >}}'
_SHORTCODE_RE = re.compile(r"\{\{[<%]\s*gallery\b")
_OLD_SHORTCODE_RE = re.compile(r"\{\{%\s*gallery\b")
OLD_SHORTCODE_NOTE = (
    "uses {{% gallery %}}, the form from before Hugo 0.60: current Hugo renders its HTML as "
    'escaped text; write {{< gallery folder="gallery" >}} instead (left as it is)'
)


def page_notes(page: Page) -> tuple[Kept, ...]:
    """What in the user's index.md gallerypipe leaves alone but the user should fix."""
    return (Kept("index.md", OLD_SHORTCODE_NOTE),) if _OLD_SHORTCODE_RE.search(page.body) else ()


class FrontMatterError(SiteError):
    """index.md's front matter does not parse; the message names the file and line."""


@dataclass(frozen=True)
class Page:
    fmt: str  # "yaml", "toml" or "none"
    front_text: str  # the front matter as written, without delimiters
    data: dict
    body: str


class BundleConflict(SiteError):
    """A file gallerypipe did not write stands where it would write one; nothing was changed."""


@dataclass(frozen=True)
class Target:
    """A file gallerypipe wants in the bundle."""

    rel: str  # bundle-relative POSIX path
    sha256: str | None  # None: not known yet (a dry run, a photo not rendered yet)
    photo: str | None = None  # the photo it shows
    title: str | None = None  # the title gallerypipe gives its entry (before a user's own)


BundlePlan = SiteChanges  # what a run does to the bundle's files


@dataclass(frozen=True)
class UserChoices:
    """What the user set in front matter that gallerypipe keeps."""

    header: dict | None  # the user's own header entry (its src is not a file gallerypipe wrote)
    header_overridden: bool  # --header asked for gallerypipe's pick instead
    titles: Mapping[str, str]  # photo id (or "header") → the user's own title of our entry
    header_missing: bool = False  # the user's header entry names no file in the bundle

    def kept(self) -> tuple[Kept, ...]:
        found = []
        if self.header and not self.header_overridden:
            found.append(
                Kept(
                    str(self.header.get("src")),
                    "your header (front matter): kept; --header auto uses gallerypipe's pick",
                )
            )
        elif self.header:
            why = "names no file in the bundle" if self.header_missing else "--header asked"
            found.append(Kept(str(self.header.get("src")), f"your header entry replaced ({why})"))
        found += [Kept(key, f"your title kept: {title}") for key, title in self.titles.items()]
        return tuple(found)


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


def user_choices(bundle: Path, page: Page, record: Record, header_asked: bool) -> UserChoices:
    """The user's header entry (one naming a file in the bundle that gallerypipe did not write)
    and the titles the user gave to gallerypipe's entries. A header entry naming no file in the
    bundle is replaced by gallerypipe's pick, as is any with --header."""
    entries = _resource_dicts(page)
    header = _users_header(entries, record)
    missing = header is not None and not any(
        p.is_file() for p in bundle.glob(str(header.get("src")))
    )
    titles = dict(filter(None, (_user_title(entry, record) for entry in entries)))
    return UserChoices(header, header is not None and (header_asked or missing), titles, missing)


def _resource_dicts(page: Page) -> list[dict]:
    """The front matter's resources entries that are mappings (others are left alone)."""
    resources = page.data.get("resources")
    return [e for e in resources if isinstance(e, dict)] if isinstance(resources, list) else []


def _users_header(entries: Sequence[dict], record: Record) -> dict | None:
    """The first entry named "header" whose file gallerypipe did not write."""
    return next(
        (e for e in entries if e.get("name") == "header" and str(e.get("src")) not in record.files),
        None,
    )


def _user_title(entry: dict, record: Record) -> tuple[str, str] | None:
    """(photo id or "header", title) when the user retitled an entry of gallerypipe's."""
    owned = record.files.get(str(entry.get("src")))
    title = entry.get("title")
    if not owned or owned.title is None or not isinstance(title, str) or title == owned.title:
        return None
    key = "header" if entry.get("src") == HEADER_FILE else owned.photo
    return (key, title) if key else None


def is_ours(entry: object, owned: set[str], choices: UserChoices) -> bool:
    """Resource entries gallerypipe manages: those of files it wrote or writes; the user's
    header entry when --header replaces it."""
    if not isinstance(entry, dict):
        return False
    if choices.header_overridden and entry is choices.header:
        return True
    return str(entry.get("src", "")) in owned


def resource_entries(
    items: Sequence[GalleryItem],
    header: GalleryItem | None,
    kept: Sequence[object],
    owned: set[str],
    choices: UserChoices,
    files: Mapping[str, str],
) -> list[object]:
    """The header first (unless the user's is kept), one entry per gallery photo, then the
    user's own entries. A photo's resource name is its file's stem (`gallery-20180614-101500-
    img_5101`): stable, and in capture order, which is the order Hugo lists resources in."""
    entries: list[object] = []
    if header is not None:
        title = choices.titles.get("header", header.title)
        entries.append({"src": HEADER_FILE, "name": "header", "title": title})
    for item in items:
        rel = files[item.photo.id]
        entries.append(
            {"src": rel, "name": f"gallery-{PurePosixPath(rel).stem}", "title": item.title}
        )
    return entries + [e for e in kept if not is_ours(e, owned, choices)]


def gallery_files(photos: Sequence[Photo]) -> dict[str, str]:
    """Photo id → its gallery file name (stable_name; two photos that would share one both get
    their id's first digits added)."""
    plain = {p.id: stable_name(p.taken, p.source.path.name) for p in photos}
    counts = Counter(plain.values())
    return {
        p.id: stable_name(p.taken, p.source.path.name, p.id) if counts[plain[p.id]] > 1 else name
        for p in photos
        for name in [plain[p.id]]
    }


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


class _QuotingDumper(yaml.SafeDumper):
    """Every string value double-quoted, so it reads back as the same string in YAML 1.1 (Hugo
    0.111's parser: `Y`, `n`, `off` are booleans, `1e3` a number) and 1.2; keys that are plain
    words stay plain (`title:`), which the line-based edits here rely on."""

    def represent_mapping(self, tag, mapping, flow_style=None):  # type: ignore[override]
        node = super().represent_mapping(tag, mapping, flow_style)
        for key, _ in node.value:
            if key.tag == "tag:yaml.org,2002:str" and _PLAIN_KEY.fullmatch(key.value):
                key.style = None
        return node


_PLAIN_KEY = re.compile(r"(?!(?i:y|n|yes|no|on|off|true|false|null)$)[A-Za-z_][A-Za-z0-9_]*")
_QuotingDumper.add_representer(
    str, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"')
)


def _yaml(data: dict) -> str:
    if not data:
        return ""
    return yaml.dump(data, Dumper=_QuotingDumper, sort_keys=False, allow_unicode=True, width=2**30)


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


def plan_bundle(bundle: Path, targets: Sequence[Target], record: Record) -> BundlePlan:
    """Sort every file gallerypipe wants, once wrote, or finds in gallery/ into what to do."""
    wanted = {t.rel: t for t in targets}
    found = {
        p.relative_to(bundle).as_posix()
        for p in (bundle / GALLERY_DIR).rglob("*")
        if p.is_file() or p.is_symlink()
    }
    sorted_into: dict[str, list] = {name: [] for name in _PLAN_FIELDS}
    for rel in sorted(set(wanted) | set(record.files) | found):
        decision = _sort_file(bundle, rel, wanted.get(rel), record, rel in found)
        if decision is not None:
            into, reason = decision
            sorted_into[into].append(rel if reason is None else Kept(rel, reason))
    return BundlePlan(**{name: tuple(files) for name, files in sorted_into.items()})


_PLAN_FIELDS = ("add", "replace", "unchanged", "remove", "kept", "conflicts")
Decision = tuple[str, str | None]  # (a BundlePlan field, the reason a kept file is kept)


def _sort_file(
    bundle: Path, rel: str, target: Target | None, record: Record, found: bool
) -> Decision | None:
    """Where one file goes in the plan; None: nothing to do or say about it."""
    sha = sha256_of(bundle / rel)
    ours = record.owns(rel, sha)
    edited = rel in record.files and not ours
    if target is not None:
        return _sort_wanted(bundle / rel, sha, target, ours, edited)
    return _sort_unwanted(rel, sha, ours, edited, found)


def _sort_wanted(path: Path, sha: str | None, target: Target, ours: bool, edited: bool) -> Decision:
    """A file this run writes: added, unchanged, replaced (ours), kept (our file the user
    edited) or a conflict (not ours)."""
    if sha is None and not path.is_symlink():
        return "add", None
    if target.sha256 is not None and sha == target.sha256:
        return "unchanged", None
    if ours:
        return "replace", None
    if edited:
        return "kept", "edited since gallerypipe wrote it: kept as it is"
    return "conflicts", None


def _sort_unwanted(
    rel: str, sha: str | None, ours: bool, edited: bool, found: bool
) -> Decision | None:
    """A file this run does not write: removed if ours (or a killed run's temporary file),
    else kept and reported."""
    if sha is None:
        return None
    if ours or Path(rel).name.startswith(".tmp-"):  # an older version's killed run
        return "remove", None
    if edited:
        return "kept", "edited since gallerypipe wrote it: kept, now yours"
    if found:
        return "kept", _what_the_site_does(rel)
    return None


def _what_the_site_does(rel: str) -> str:
    if Path(rel).suffix.lower() in IMAGE_SUFFIXES:
        return (
            "not written by gallerypipe: kept as it is; the example site shows it in the gallery "
            '(it lists gallery/); a theme matching resource names "gallery*" (Hugo-Now-UI) '
            "shows it only if a resources entry names it gallery-…"
        )
    return "not written by gallerypipe: kept as it is; Hugo publishes it with the page"


def conflict_error(bundle: Path, conflicts: Sequence[str]) -> BundleConflict:
    names = ", ".join(conflicts)
    return BundleConflict(
        f"{bundle}: gallerypipe would write {names}, but a file it did not write is there; "
        "nothing was changed (rename or move that file, then run again)"
    )


def write_bundle(
    bundle: Path,
    targets: Sequence[Target],
    content: Callable[[Target], bytes],
    text: str,
    record: Record,
) -> BundlePlan:
    """Place the files, then index.md (only if its text changed), then remove what gallerypipe
    wrote before and no longer wants, then save the record.

    The record is saved first with both the old and the new content of every file, so a run
    killed at any point leaves files the next run still knows as its own.
    """
    plan = plan_bundle(bundle, targets, record)
    if plan.conflicts:
        raise conflict_error(bundle, plan.conflicts)
    wanted = {t.rel: t for t in targets}
    edited = {k.path for k in plan.kept}
    save_record(bundle, _record(record, targets, edited, keep_old=True))
    _place_files(bundle, [wanted[rel] for rel in plan.add + plan.replace], content, record)
    write_if_changed(bundle / "index.md", text.encode("utf-8"), staging=bundle)
    for rel in plan.remove:
        (bundle / rel).unlink(missing_ok=True)
    save_record(bundle, _record(record, targets, edited, keep_old=False))
    for leftover in [*bundle.glob(".gp-*"), *bundle.glob(".tmp-*")]:  # killed runs' (we hold
        leftover.unlink(missing_ok=True)  # the bundle's lock: no run of ours is under way)
    return plan


def _record(record: Record, targets: Sequence[Target], edited: set[str], keep_old: bool) -> Record:
    """The record after this run (keep_old: while it is under way, old contents count too)."""
    files: dict[str, Owned] = dict(record.files) if keep_old else {}
    for t in targets:
        if t.rel in edited:  # the user's edit of our file: still ours by name, not replaced
            files[t.rel] = record.files[t.rel]
            continue
        old = record.files[t.rel].sha256 if keep_old and t.rel in record.files else ()
        files[t.rel] = Owned(tuple(dict.fromkeys((*old, t.sha256 or ""))), t.photo, t.title)
    return Record(files)


def _place_files(
    bundle: Path, todo: Sequence[Target], content: Callable[[Target], bytes], record: Record
) -> None:
    """Stage every file first (a renumbering moves files: a hard link to the copy already in the
    bundle, else the bytes), each under its own temporary name at the bundle's top (Hugo
    publishes no dot-file there), then rename them all into place."""
    by_sha = {
        sha: bundle / rel
        for rel, owned in record.files.items()
        for sha in owned.sha256
        if sha and sha256_of(bundle / rel) == sha
    }
    staged: list[tuple[Path, Path]] = []
    try:
        for target in todo:
            path = bundle / target.rel
            path.parent.mkdir(parents=True, exist_ok=True)
            staged.append((_stage(bundle, by_sha.get(target.sha256 or ""), target, content), path))
        for tmp, path in staged:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise


def _stage(
    bundle: Path, same: Path | None, target: Target, content: Callable[[Target], bytes]
) -> Path:
    tmp, fd = temp_file(bundle)
    if same is not None:
        os.close(fd)
        tmp.unlink()
        os.link(same, tmp)
        return tmp
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content(target))
            f.flush()
            os.fsync(f.fileno())
        keep_mode(bundle / target.rel, tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


@dataclass(frozen=True)
class HugoState(SiteState):
    """What HugoBundle read: index.md, the bundle's record and the user's choices in it."""

    page: Page = field(default_factory=lambda: Page("none", "", {}, ""))
    record: Record = field(default_factory=Record)
    choices: UserChoices = field(default_factory=lambda: UserChoices(None, False, {}))


class HugoBundle:
    """The Hugo page bundle as a site target (sites.SiteTarget): `gallery/` files named by
    capture time, `header.jpg`, `manifest.json`, and index.md's `resources:` front matter."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return bundle_lock(self.folder)

    def read(self, header_asked: bool) -> HugoState:
        page = read_page(self.folder / "index.md")
        record = load_record(self.folder)
        choices = user_choices(self.folder, page, record, header_asked)
        users = choices.header is not None and not choices.header_overridden
        return HugoState(
            users_header=str(choices.header.get("src")) if users and choices.header else None,
            titles=choices.titles,
            notes=page_notes(page) + choices.kept(),
            page=page,
            record=record,
            choices=choices,
        )

    def files(self, photos: Sequence[Photo]) -> dict[str, str]:
        return {i: f"{GALLERY_DIR}/{name}" for i, name in gallery_files(photos).items()}

    def plan(self, state: SiteState, draft: Draft) -> BundlePlan:
        targets = [Target(draft.files[p.id], draft.largest[p.id], p.id) for p in draft.photos]
        if draft.header is not None:
            targets.append(Target(HEADER_FILE, draft.largest[draft.header], draft.header))
        targets.append(Target(MANIFEST_FILE, None))
        plan = plan_bundle(self.folder, targets, _hugo(state).record)
        if plan.conflicts:
            raise conflict_error(self.folder, plan.conflicts)
        return plan

    def write(self, state: SiteState, gallery: Gallery) -> BundlePlan:
        hugo = _hugo(state)
        targets = _targets(gallery)
        owned = set(hugo.record.files) | {t.rel for t in targets}
        entries = hugo.page.data.get("resources")
        resources = resource_entries(
            gallery.items,
            gallery.header,
            entries if isinstance(entries, list) else [],
            owned,
            hugo.choices,
            gallery.files,
        )
        defaults = {"title": gallery.event, "date": gallery.items[0].photo.taken.date().isoformat()}
        text = render_page(hugo.page, resources, defaults)
        return write_bundle(self.folder, targets, _content(gallery), text, hugo.record)


def _hugo(state: SiteState) -> HugoState:
    if not isinstance(state, HugoState):
        raise TypeError("HugoBundle plans and writes only from what its own read() gave")
    return state


def _targets(gallery: Gallery) -> list[Target]:
    """Every bundle file a run writes, with its content's sha256 and gallerypipe's title."""
    titles = gallery.auto_titles
    targets = [
        Target(gallery.files[i.photo.id], i.largest.sha256, i.photo.id, titles[i.photo.id])
        for i in gallery.items
    ]
    if (header := gallery.header) is not None:
        targets.append(
            Target(HEADER_FILE, header.largest.sha256, header.photo.id, titles[header.photo.id])
        )
    sha = hashlib.sha256(gallery.manifest).hexdigest()
    return [*targets, Target(MANIFEST_FILE, sha)]  # for the site build to read


def _content(gallery: Gallery) -> Callable[[Target], bytes]:
    by_id = {item.photo.id: item for item in gallery.items}

    def content(target: Target) -> bytes:
        if target.rel == MANIFEST_FILE:
            return gallery.manifest
        return gallery.fetch(by_id[target.photo or ""])

    return content
