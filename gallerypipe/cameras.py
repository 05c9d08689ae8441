"""`gallerypipe cameras`: every body found on the cards, to see which clock needs an offset."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .clock import ClockOffset, offset_for
from .imaging import register_formats
from .model import Photo, Problem
from .pipeline import analyse_all, photo_warnings
from .scan import scan


@dataclass(frozen=True)
class Camera:
    make: str | None
    model: str | None
    serial: str | None
    folders: tuple[str, ...]
    photos: int
    first: datetime | None  # capture times, clock offsets applied
    last: datetime | None
    without_time: int  # photos with no EXIF capture time
    offset: float  # seconds applied by --clock-offset

    def to_json(self) -> dict:
        return {
            "make": self.make,
            "model": self.model,
            "serial": self.serial,
            "folders": list(self.folders),
            "photos": self.photos,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "without_time": self.without_time,
            "clock_offset": self.offset,
        }


def survey(
    sources: Sequence[Path],
    jobs: int = 0,
    cache: Path | None = None,
    offsets: Sequence[ClockOffset] = (),
) -> tuple[list[Camera], list[Problem]]:
    """Scan and analyse the sources (through the cache) and list their cameras."""
    register_formats()
    photos, problems, _decoded = analyse_all(scan(sources), jobs, lambda *_: None, cache, offsets)
    return list_cameras(photos, offsets), [*problems, *photo_warnings(photos)]


def list_cameras(photos: Sequence[Photo], offsets: Sequence[ClockOffset] = ()) -> list[Camera]:
    """One entry per (make, model, serial), earliest first; photos without EXIF form their own."""
    groups: dict[tuple, list[Photo]] = {}
    for photo in photos:
        groups.setdefault((photo.meta.make, photo.meta.model, photo.meta.serial), []).append(photo)
    cameras = [_camera(key, members, offsets) for key, members in groups.items()]
    return sorted(cameras, key=lambda c: (c.first is None, c.first or datetime.min, c.folders))


def _camera(key: tuple, members: list[Photo], offsets: Sequence[ClockOffset]) -> Camera:
    timed = sorted(p.taken for p in members if not p.time_from_file)
    folders = sorted({str(Path(p.source.display).parent) for p in members})
    offset = {offset_for(p.source, p.meta, offsets) for p in members}
    return Camera(
        *key,
        folders=tuple(folders),
        photos=len(members),
        first=timed[0] if timed else None,
        last=timed[-1] if timed else None,
        without_time=len(members) - len(timed),
        offset=max(offset, key=abs),
    )


def describe(camera: Camera) -> str:
    """Two lines for the terminal."""
    name = " ".join(p for p in (camera.make, camera.model) if p) or "unknown camera (no EXIF)"
    serial = f" serial {camera.serial}" if camera.serial else ""
    span = (
        f"{camera.first.isoformat()} … {camera.last.isoformat()}"
        if camera.first and camera.last
        else "no capture times"
    )
    extra = f", {camera.without_time} without a capture time" if camera.without_time else ""
    shift = f", clock offset {camera.offset:+g} s" if camera.offset else ""
    return (
        f"{name}{serial}: {camera.photos} photos, {span}{extra}{shift}\n"
        f"  in {', '.join(camera.folders)}"
    )
