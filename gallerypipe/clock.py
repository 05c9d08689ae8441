"""Camera clocks that disagree: `--clock-offset CAMERA=±SECONDS` shifts one body's times.

CAMERA matches, case-insensitively, the EXIF Make, Model, "Make Model", the body serial, or a
folder the photo sits in (any folder on its path, by name or as given on the command line).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .model import Metadata, SourceFile

_SPEC = re.compile(r"^(?P<camera>.+?)\s*=\s*(?P<seconds>[+-]?\d+(?:\.\d+)?)$")


class ClockOffsetError(ValueError):
    pass


@dataclass(frozen=True)
class ClockOffset:
    camera: str
    seconds: float

    def matches(self, source: SourceFile, meta: Metadata) -> bool:
        wanted = self.camera.strip().lower()
        names = {meta.make, meta.model, meta.serial}
        if meta.make and meta.model:
            names.add(f"{meta.make} {meta.model}")
        if wanted in {n.strip().lower() for n in names if n}:
            return True
        folders = Path(source.display).parent
        if wanted in {part.lower() for part in folders.parts}:
            return True
        return _within(source.path, self.camera)


def _within(path: Path, folder: str) -> bool:
    given = Path(folder).expanduser()
    if not given.is_dir():
        return False
    return path.resolve().is_relative_to(given.resolve())


def parse_offset(spec: str) -> ClockOffset:
    """'NIKON D750=-3600' → ClockOffset('NIKON D750', -3600.0); the seconds are added."""
    match = _SPEC.match(spec.strip())
    if not match:
        raise ClockOffsetError(
            f"clock offset {spec!r}: expected CAMERA=±SECONDS, e.g. 'NIKON D750=-3600'"
        )
    return ClockOffset(match["camera"].strip(), float(match["seconds"]))


def parse_offsets(specs: Iterable[str | ClockOffset]) -> tuple[ClockOffset, ...]:
    return tuple(s if isinstance(s, ClockOffset) else parse_offset(s) for s in specs)


def offset_for(source: SourceFile, meta: Metadata, offsets: Sequence[ClockOffset]) -> float:
    """Seconds to add to this photo's capture time: the first offset that matches it, else 0."""
    return next((o.seconds for o in offsets if o.matches(source, meta)), 0.0)


def shifted(taken: datetime, seconds: float) -> datetime:
    """taken plus seconds, held at the calendar's ends (year 1 and 9999) rather than overflowing:
    a camera clock set to 9999 plus an offset still orders its photos, last."""
    try:
        return taken + timedelta(seconds=seconds)
    except OverflowError:
        end = datetime.max if seconds > 0 else datetime.min
        return end.replace(tzinfo=taken.tzinfo)
