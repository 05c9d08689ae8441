"""Find the photos on camera cards, recognised by their content rather than their extension."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .model import Problem, SourceFile
from .names import readable

RAW_EXTENSIONS = frozenset(
    [
        ".cr2",
        ".cr3",
        ".crw",
        ".nef",
        ".nrw",
        ".arw",
        ".srf",
        ".sr2",
        ".dng",
        ".raf",
        ".orf",
        ".rw2",
        ".pef",
        ".srw",
        ".x3f",
        ".3fr",
        ".iiq",
        ".rwl",
    ]
)
VIDEO_EXTENSIONS = frozenset(
    [".mov", ".mp4", ".m4v", ".avi", ".mts", ".m2ts", ".mpg", ".mpeg", ".3gp", ".mkv", ".wmv"]
)
CAMERA_SIDECARS = frozenset([".thm", ".ctg", ".lrv", ".aae", ".xml", ".ind", ".bnp", ".bin"])
# Why a file was left alone, as counted in ScanResult.ignored (and the --json keys), with the
# singular the summary uses for one.
RESOURCE_FORKS, HIDDEN = "macOS resource forks (._*)", "hidden files"
RAWS = "RAW files (paired with their JPEG or left alone)"
VIDEOS, SIDECARS, OTHER = "videos", "camera sidecar files (.THM, .CTG, .LRV …)", "other files"
LONE_XMP = "XMP sidecars without a photo"  # one beside its photo is read with it, not counted
SINGULAR = {
    RESOURCE_FORKS: "macOS resource fork (._*)",
    HIDDEN: "hidden file",
    RAWS: "RAW file (paired with its JPEG or left alone)",
    VIDEOS: "video",
    SIDECARS: "camera sidecar file (.THM, .CTG, .LRV …)",
    LONE_XMP: "XMP sidecar without a photo",
    OTHER: "other file",
}
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})


@dataclass(frozen=True)
class ScanResult:
    photos: tuple[SourceFile, ...]
    problems: tuple[Problem, ...]  # files that look like photos but cannot be used
    ignored: tuple[tuple[str, int], ...]  # (why, how many) for files deliberately left alone

    def ignored_summary(self) -> str:
        return ", ".join(counted(count, why) for why, count in self.ignored)


def counted(count: int, why: str) -> str:
    """'1 video', '3 videos': a count of ignored files with its label."""
    return f"{count} {SINGULAR.get(why, why) if count == 1 else why}"


def sniff(head: bytes) -> str | None:
    """Tell a photo's format from its first bytes: 'jpeg', 'heic' or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "heic"
    return None


def scan(sources: Iterable[Path]) -> ScanResult:
    """Walk every source folder (or file) and sort what is there into photos, problems, ignored."""
    photos: list[SourceFile] = []
    problems: list[Problem] = []
    ignored: Counter[str] = Counter()
    for root in sources:
        root = Path(root)
        if not root.exists():
            problems.append(Problem(readable(str(root)), "no such file or folder"))
            continue
        found_photos, found_problems, found_ignored = _scan_root(root)
        photos += found_photos
        problems += found_problems
        ignored.update(found_ignored)
    ignored = +ignored  # drop a zero count
    return ScanResult(tuple(photos), tuple(problems), tuple(sorted(ignored.items())))


def _scan_root(root: Path) -> tuple[list[SourceFile], list[Problem], Counter[str]]:
    """One existing source folder (or file): its photos, problems and ignored files by reason."""
    photos: list[SourceFile] = []
    problems: list[Problem] = []
    ignored: Counter[str] = Counter()
    found = sorted(_walk(root))
    raws, xmps = _companions(root, found)
    read: set[Path] = set()  # the XMP sidecars of this source's photos
    for path in found:
        outcome = _classify(path, root, raws, xmps)
        if isinstance(outcome, SourceFile):
            photos.append(outcome)
            read.update(outcome.path.parent / name for name in outcome.sidecars)
        elif isinstance(outcome, Problem):
            problems.append(outcome)
        elif outcome != LONE_XMP:
            ignored[outcome] += 1
    ignored[LONE_XMP] += sum(1 for p in found if _is_xmp(p) and p not in read)
    return photos, problems, ignored


def _companions(
    root: Path, found: list[Path]
) -> tuple[dict[tuple[Path, str], list[str]], dict[tuple[Path, str], str]]:
    """The RAW files by (folder, lower-case stem) and the XMP files by (folder, lower-case name)
    that may belong to the photos found: those beside a source that is a file, else those found."""
    beside = _siblings(root) if root.is_file() else found
    xmps = {(p.parent, p.name.lower()): p.name for p in beside if p.suffix.lower() == ".xmp"}
    return _raw_by_stem(beside), xmps


def _is_xmp(path: Path) -> bool:
    return path.suffix.lower() == ".xmp" and not path.name.startswith(".")


def _walk(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            yield Path(dirpath) / name


def _siblings(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.parent.iterdir() if p.is_file())
    except OSError:
        return [path]


def _raw_by_stem(paths: list[Path]) -> dict[tuple[Path, str], list[str]]:
    raws: dict[tuple[Path, str], list[str]] = {}
    for path in paths:
        if path.suffix.lower() in RAW_EXTENSIONS:
            raws.setdefault((path.parent, path.stem.lower()), []).append(path.name)
    return raws


def _sidecars(path: Path, raws: list[str], xmps: dict[tuple[Path, str], str]) -> tuple[str, ...]:
    """IMG_0001.JPG.xmp, then IMG_0001.CR2.xmp (the RAW's, as darktable names it), then
    IMG_0001.xmp (as Lightroom and Capture One name it): the first that sets a field wins."""
    wanted = [f"{path.name}.xmp", *(f"{raw}.xmp" for raw in raws), f"{path.stem}.xmp"]
    found = (xmps.get((path.parent, name.lower())) for name in wanted)
    return tuple(dict.fromkeys(name for name in found if name))


def _names(path: Path, root: Path) -> tuple[str, str]:
    """The path as the user would find it (printable: bytes that are not UTF-8 escaped), and the
    same from the SRC folder's name down (exact, for the manifest to keep losslessly)."""
    if root.is_file():
        return readable(str(root)), root.name
    inside = path.relative_to(root)
    return readable(str(root / inside)), (Path(root.resolve().name) / inside).as_posix()


def _classify(
    path: Path,
    root: Path,
    raws: dict[tuple[Path, str], list[str]],
    xmps: dict[tuple[Path, str], str],
) -> SourceFile | Problem | str:
    """A SourceFile, a Problem, or the reason the file was ignored."""
    name, suffix = path.name, path.suffix.lower()
    if name.startswith("._"):
        return RESOURCE_FORKS
    if name.startswith("."):
        return HIDDEN
    if suffix in RAW_EXTENSIONS:
        return RAWS
    if suffix in VIDEO_EXTENSIONS:
        return VIDEOS
    if suffix == ".xmp":
        return LONE_XMP  # counted after the walk, when no photo read it
    if suffix in CAMERA_SIDECARS:
        return SIDECARS
    display, relative = _names(path, root)
    try:
        stat = path.stat()
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as err:
        return Problem(display, f"cannot read: {err.strerror or err}")
    kind = sniff(head)
    if kind is None:
        return _not_a_photo(display, stat.st_size, suffix)
    companions = tuple(sorted(raws.get((path.parent, path.stem.lower()), [])))
    sidecars = _sidecars(path, list(companions), xmps)
    return SourceFile(
        path, display, relative, kind, stat.st_size, stat.st_mtime, companions, sidecars
    )


PHOTO_EXTENSIONS = frozenset([".jpg", ".jpeg", ".jpe", ".heic", ".heif", ".hif"])


def _not_a_photo(display: str, size: int, suffix: str) -> Problem | str:
    """Files named like photos become problems; anything else is simply not ours."""
    if suffix not in PHOTO_EXTENSIONS:
        return OTHER
    if size == 0:
        return Problem(display, "empty file (0 bytes)")
    return Problem(display, "not a JPEG or HEIC image (the content does not match the name)")
