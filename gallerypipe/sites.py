"""Where the gallery's page goes: the interface every site target implements, and the targets
by name.

A site target owns one folder (`--bundle`): it reads the user's choices there before the run
(`read`), says where each photo's file goes (`files`), plans its changes before the store is
touched, refusing any that would overwrite a file it did not write (`plan`), and writes them
after the store (`write`). The pipeline talks only to `SiteTarget`; `open_site(name, folder)`
picks the implementation from `SITES` (`"hugo"` → `bundle.HugoBundle`, the default). Like the
stores' registry, an entry names its class as "module:Class", imported only when opened: this
module imports no target, and a target's module imports this one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .model import GalleryItem, Photo

DEFAULT_SITE = "hugo"


class SiteError(ValueError):
    """The site's folder cannot be read or written as asked; the message names the file and
    says what to do. Nothing was changed."""


class SiteLocked(SiteError):
    """Another gallerypipe run holds the site's folder for longer than we wait."""


@dataclass(frozen=True)
class Kept:
    """Something in the site's folder gallerypipe leaves as it is, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class SiteChanges:
    """What a run does to the site's files (paths relative to its folder)."""

    add: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    kept: tuple[Kept, ...] = ()  # the user's files, and files of ours the user edited
    conflicts: tuple[str, ...] = ()  # a file not ours where gallerypipe would write one

    def to_json(self) -> dict:
        return {
            "added": list(self.add),
            "replaced": list(self.replace),
            "removed": list(self.remove),
            "unchanged": len(self.unchanged),
        }


@dataclass(frozen=True)
class SiteState:
    """What a target read in its folder before the run: the user's choices the pipeline follows.
    A target may subclass it to carry what it read for its own `plan` and `write`."""

    users_header: str | None  # the user's own header, kept: gallerypipe sets none
    titles: Mapping[str, str]  # photo id (or "header") → the user's own title, kept
    notes: tuple[Kept, ...] = ()  # the user's choices and page problems, for the report


@dataclass(frozen=True)
class Draft:
    """The gallery as planned, before any photo is rendered."""

    photos: tuple[Photo, ...]
    files: Mapping[str, str]  # photo id → its file in the site (`files`)
    largest: Mapping[str, str | None]  # photo id → its largest JPEG's sha256; None: not known
    header: str | None  # the photo id gallerypipe sets as the header; None: the user's is kept


@dataclass(frozen=True)
class Gallery:
    """The gallery as published: the store and its manifest are written already."""

    event: str
    items: tuple[GalleryItem, ...]  # in the gallery's order, with the titles shown
    header: GalleryItem | None  # None: the user's own header is kept
    auto_titles: Mapping[str, str]  # photo id → gallerypipe's title (before a user's own)
    files: Mapping[str, str]  # photo id → its file in the site
    manifest: bytes  # the manifest as published
    fetch: Callable[[GalleryItem], bytes]  # a photo's largest JPEG


class SiteTarget(Protocol):
    folder: Path

    def lock(self) -> AbstractContextManager[None]:
        """Hold the folder for this run (a second run waits; SiteLocked after a while)."""
        ...

    def read(self, header_asked: bool) -> SiteState:
        """The user's choices in the folder; header_asked: --header was given."""
        ...

    def files(self, photos: Sequence[Photo]) -> dict[str, str]:
        """Photo id → its file, relative to the folder (the manifest's `file`); the gallery's
        order is these paths' order."""
        ...

    def plan(self, state: SiteState, draft: Draft) -> SiteChanges:
        """What writing this gallery would change; raises SiteError, writing nothing, where it
        would overwrite a file gallerypipe did not write."""
        ...

    def write(self, state: SiteState, gallery: Gallery) -> SiteChanges:
        """Write the gallery's files and page; only what gallerypipe wrote is replaced."""
        ...


@dataclass(frozen=True)
class SiteKind:
    """A kind of site: its name and the class that opens a folder as one."""

    name: str
    target: str  # "module:Class"; Class(folder) is a SiteTarget
    description: str


SITES: dict[str, SiteKind] = {}


def register(kind: SiteKind) -> None:
    SITES[kind.name] = kind


register(SiteKind("hugo", "gallerypipe.bundle:HugoBundle", "a Hugo page bundle"))


def open_site(name: str, folder: Path) -> SiteTarget:
    """The site target registered as name, on folder."""
    kind = SITES.get(name)
    if kind is None:
        known = ", ".join(f"{k.name} ({k.description})" for k in SITES.values())
        raise SiteError(f"no site target named {name!r}; give one of {known}")
    module, _, cls = kind.target.partition(":")
    return getattr(importlib.import_module(module), cls)(folder)
