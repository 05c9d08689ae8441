"""`gallerypipe ingest`: scan → analyse → dedup → pick → render → publish, as plain functions."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from . import bundle as bundle_stage
from .analyse import Analysed
from .cache import AnalysisCache, analyse_cached, default_cache_path
from .clock import ClockOffset, offset_for
from .decide import Excluded, decide
from .dedup import DEFAULT_THRESHOLD, DedupResult, find_duplicates
from .header import HeaderScore, candidates, pick_header, rank
from .imaging import register_formats
from .manifest import (
    MANIFEST_KEY,
    build_manifest,
    known_placeholders,
    known_renditions,
    to_bytes,
)
from .metadata import event_timezone, ordering_time
from .model import (
    GalleryItem,
    Photo,
    Placeholder,
    Problem,
    Rendition,
    SourceFile,
    largest_jpeg,
)
from .parallel import run_all
from .publish import (
    PreviousManifest,
    PublishPlan,
    archive_key,
    plan_publish,
    publish_manifest,
    read_previous,
    upload,
)
from .renditions import RenderOutput, RenderSettings, plan_renditions, render_photo
from .scan import ScanResult, scan
from .storage import Storage, StoredObject, StoreOptions, atomic_write, open_store

Progress = Callable[[str, int, int], None]
DEFAULT_TITLE = "{event}, photo {n}"


class IngestError(Exception):
    """The run cannot go on and the user must act; the message says why."""


@dataclass(frozen=True)
class IngestOptions:
    sources: tuple[Path, ...]
    bundle: Path
    store: str = "published"
    header: Path | None = None
    threshold: int = DEFAULT_THRESHOLD
    keep_all: bool = False
    jobs: int = 0  # 0: every core
    executor: str | None = None  # dask://HOST:PORT to run per-photo work on a Dask cluster
    store_options: StoreOptions = field(default_factory=StoreOptions)
    dry_run: bool = False
    title_template: str = DEFAULT_TITLE
    cache: Path | None = field(default_factory=default_cache_path)  # None: analyse everything
    render: RenderSettings = field(default_factory=RenderSettings)
    clock_offsets: tuple[ClockOffset, ...] = ()
    include_rejected: bool = False  # keep photos rated -1 (never as the header)
    min_rating: int | None = None  # keep only photos rated at least this


@dataclass(frozen=True)
class Selection:
    """What scan, analyse, dedup and the groups' ratings decided, before anything is written.

    grouping holds the duplicate groups of every photo, rejected or not; dedup only those
    published, each keeper carrying its group's rating, title and capture time.
    """

    scanned: ScanResult
    dedup: DedupResult
    excluded: tuple[Excluded, ...]
    problems: list[Problem]
    decoded: int  # photos decoded for analysis (neither path nor content in the cache)
    grouping: DedupResult | None = None


@dataclass(frozen=True)
class IngestReport:
    found: int
    photos: int
    duplicates: DedupResult
    skipped: tuple[Problem, ...]
    ignored: tuple[tuple[str, int], ...]
    header: str
    bundle: str
    store: str
    manifest: str
    plan: PublishPlan
    analysed: int  # photos decoded for analysis (not found in the cache)
    rendered: int  # photos decoded for renditions
    manifest_changed: bool
    dry_run: bool
    excluded: tuple[Excluded, ...] = ()
    # where the replaced manifest was kept (in a dry run: would be, if it changes)
    manifest_archived: str | None = None
    repaired: int = 0  # planned reuses uploaded after all (the store's copy had another size)

    @property
    def uploaded(self) -> int:
        """Objects written this run (in a dry run: that would be written)."""
        return len(self.plan.upload) + self.repaired

    @property
    def reused(self) -> int:
        return len(self.plan.reuse) - self.repaired

    def to_json(self) -> dict:
        return {
            "photos": self.photos,
            "found": self.found,
            "duplicates": self.duplicates.dropped,
            "skipped": [{"path": p.path, "reason": p.reason} for p in self.skipped],
            "excluded": [
                {"path": e.photo.source.display, "reason": e.reason} for e in self.excluded
            ],
            "ignored": {why: count for why, count in self.ignored},
            "header": self.header,
            "bundle": self.bundle,
            "store": self.store,
            "manifest": self.manifest,
            "uploaded": self.uploaded,
            "reused": self.reused,
            "analysed": self.analysed,
            "rendered": self.rendered,
            "manifest_changed": self.manifest_changed,
            "manifest_archived": self.manifest_archived,
            "dry_run": self.dry_run,
        }


def select(options: IngestOptions, progress: Progress | None = None) -> Selection:
    """Scan, analyse, deduplicate every photo, then decide each group from all its members
    (see decide): the photos a gallery would hold. ingest, header and dedup all come here."""
    progress = progress or (lambda stage, done, total: None)
    register_formats()
    scanned = scan(options.sources)
    photos, problems, decoded = analyse_all(
        scanned, options.jobs, progress, options.cache, options.clock_offsets, options.executor
    )
    if not photos:
        raise IngestError(_nothing_found(options.sources, scanned, problems))
    grouping = (
        DedupResult(tuple(photos), ())
        if options.keep_all
        else find_duplicates(photos, options.threshold)
    )
    dedup, excluded = decide(grouping, options.include_rejected, options.min_rating)
    if not dedup.kept:
        raise IngestError(_nothing_found(options.sources, scanned, problems, excluded))
    return Selection(scanned, dedup, excluded, problems, decoded, grouping)


def filter_ratings(
    photos: Sequence[Photo], include_rejected: bool = False, min_rating: int | None = None
) -> tuple[list[Photo], tuple[Excluded, ...]]:
    """Each photo decided on its own (as with --keep-all): rejected ones (xmp:Rating -1) and,
    with min_rating, those rated lower are left out."""
    kept, excluded = decide(DedupResult(tuple(photos), ()), include_rejected, min_rating)
    return list(kept.kept), excluded


@dataclass(frozen=True)
class HeaderChoice:
    header: Photo
    ranked: tuple[HeaderScore, ...]  # every candidate, best first
    overridden: bool  # --header named it


def choose_header(options: IngestOptions, progress: Progress | None = None) -> HeaderChoice:
    """What ingest would take as the header, and the ranking it comes from (writes nothing)."""
    kept = select(options, progress).dedup.kept
    header = pick_header(kept, options.header)
    return HeaderChoice(header, tuple(rank(candidates(kept))), options.header is not None)


def ingest(options: IngestOptions, progress: Progress | None = None) -> IngestReport:
    progress = progress or (lambda stage, done, total: None)
    chosen = select(options, progress)
    dedup, problems = chosen.dedup, chosen.problems  # render failures are added to problems
    header = pick_header(dedup.kept, options.header)
    page = bundle_stage.read_page(options.bundle / "index.md")
    event = str(page.data.get("title") or _humanize(options.bundle.name))
    store = open_store(options.store, options.store_options)
    existing = store.list()
    previous = read_previous(store, existing)
    known = Known(known_renditions(previous.data), known_placeholders(previous.data))
    planned = {p.id: plan_renditions(p, options.render) for p in dedup.kept}
    claimed = {key: r.bytes for key, r in known.renditions.items()}
    plan = plan_publish((r.key for rs in planned.values() for r in rs), existing, claimed)
    if options.dry_run:
        return _report(options, chosen, header, store, plan, None, previous, False)
    with tempfile.TemporaryDirectory(prefix="gallerypipe-") as staging:
        done, run = _render_and_upload(
            dedup.kept, planned, known, plan, existing, store, Path(staging), options, progress
        )
        problems += run.failed
        kept = [p for p in dedup.kept if p.id in done.renditions]
        if header.id not in done.renditions:
            header = pick_header(kept)
        items = _gallery_items(kept, done, event, options.title_template)
        header_item = next(i for i in items if i.photo.id == header.id)
        excluded = [(e.photo.source.relative, e.reason) for e in chosen.excluded]
        manifest = build_manifest(event, items, header_item, dedup.groups, problems, excluded)
        manifest_bytes = to_bytes(manifest)
        # The store first: a publisher that loses the race for the manifest leaves its bundle
        # as it was, and the bundle never describes a gallery the store does not have.
        changed = publish_manifest(store, manifest_bytes, previous)
        fetch = functools.partial(_fetch_largest, store, Path(staging))
        defaults = {"title": event, "date": items[0].photo.taken.date().isoformat()}
        bundle_stage.write_bundle(options.bundle, items, header_item, fetch, defaults)
    atomic_write(options.bundle / MANIFEST_KEY, manifest_bytes)  # for the site build to read
    return _report(options, chosen, header, store, plan, run, previous, changed)


def analyse_all(
    scanned: ScanResult,
    jobs: int,
    progress: Progress,
    cache_path: Path | None = None,
    offsets: Sequence[ClockOffset] = (),
    executor: str | None = None,
) -> tuple[list[Photo], list[Problem], int]:
    """Analyse every photo not in the cache, in parallel; order by capture time, then name.

    Returns the photos, the problems and how many photos were decoded.
    """
    problems = list(scanned.problems)
    cache = AnalysisCache(cache_path) if cache_path else None
    analysed: list[Analysed] = []
    todo = []
    for source in scanned.photos:
        hit = cache.lookup(source) if cache else None
        if hit:
            analysed.append(hit)
        else:
            todo.append(source)
    cached, total, decoded = len(analysed), len(scanned.photos), 0
    work = functools.partial(analyse_cached, cache_path=cache_path)
    try:
        results = run_all(work, todo, jobs, on_error=_analysis_failed, executor=executor)
        for done, (_source, result) in enumerate(results, 1):
            if isinstance(result, Problem):
                problems.append(result)
            else:
                analysed.append(result)
                decoded += result.decoded
                if cache:
                    cache.store(result)
            progress("analyse", cached + done, total)
    finally:
        if cache:
            cache.close()
    problems += [Problem(a.source.display, p) for a in analysed for p in a.meta.problems]
    problems += [
        Problem(a.source.display, f"decoded with errors, check it: {a.analysis.damage}")
        for a in analysed
        if a.analysis.damage
    ]
    return to_photos(analysed, offsets), problems, decoded


def _analysis_failed(source: SourceFile, err: BaseException) -> Problem:
    return Problem(source.display, f"cannot analyse: {err}")


def to_photos(analysed: Sequence[Analysed], offsets: Sequence[ClockOffset] = ()) -> list[Photo]:
    """Photos in capture order, each camera's clock offset applied (to EXIF times only)."""
    zone = event_timezone(a.meta.capture_time for a in analysed)
    photos = []
    for a in analysed:
        taken, from_file = ordering_time(a.meta.capture_time, a.source.mtime, zone)
        if not from_file:
            taken += timedelta(seconds=offset_for(a.source, a.meta, offsets))
        photos.append(Photo(a.source, a.meta, a.analysis, taken, from_file))
    photos.sort(key=lambda p: (p.taken, p.source.path.name.lower(), p.source.display))
    return photos


@dataclass(frozen=True)
class Known:
    """What the previous manifest says: renditions by key, placeholders by photo id."""

    renditions: dict[str, Rendition]
    placeholders: dict[str, Placeholder]


@dataclass(frozen=True)
class Rendered:
    """Each published photo's renditions and placeholder, by photo id (reused or new)."""

    renditions: dict[str, tuple[Rendition, ...]] = field(default_factory=dict)
    placeholders: dict[str, Placeholder] = field(default_factory=dict)


def _render_and_upload(
    kept: Sequence[Photo],
    planned: dict[str, tuple],
    known: Known,
    plan: PublishPlan,
    existing: Mapping[str, StoredObject],
    store: Storage,
    staging: Path,
    options: IngestOptions,
    progress: Progress,
) -> tuple[Rendered, RenderRun]:
    """Reuse what the store and the last manifest already describe; render and upload the rest."""
    done = Rendered()
    to_render = []
    reuse, upload_keys = set(plan.reuse), set(plan.upload)
    for photo in kept:
        keys = [r.key for r in planned[photo.id]]
        reusable = all(k in reuse and k in known.renditions for k in keys)
        if reusable and photo.id in known.placeholders:
            done.renditions[photo.id] = tuple(known.renditions[k] for k in keys)
            done.placeholders[photo.id] = known.placeholders[photo.id]
        else:
            to_render.append(photo)
    failed: list[Problem] = []
    render = functools.partial(render_photo, settings=options.render)
    results = run_all(
        render, to_render, options.jobs, on_error=_render_failed, executor=options.executor
    )
    repaired = 0
    with ThreadPoolExecutor(max_workers=options.store_options.transfers) as uploads:
        futures = []
        for n, (photo, result) in enumerate(results, 1):
            if isinstance(result, Problem):
                failed.append(result)
            else:
                done.renditions[photo.id] = result.renditions
                done.placeholders[photo.id] = result.placeholder
                writes = _to_write(result, upload_keys, existing)
                repaired += len(writes - upload_keys)
                futures += _start_uploads(uploads, store, result, writes)
                _stage(staging, result)
            progress("render", n, len(to_render))
        for future in futures:
            future.result()  # a failed write raises here, before any manifest is written
    return done, RenderRun(len(to_render) - len(failed), failed, repaired)


@dataclass(frozen=True)
class RenderRun:
    rendered: int  # photos rendered
    failed: list[Problem]
    repaired: int  # reused keys uploaded after all: the store's copy had another size


def _to_write(result: RenderOutput, upload_keys: set[str], existing: Mapping) -> set[str]:
    """This photo's keys the plan uploads, and those it reuses whose copy in the store is not the
    size of this render (no manifest vouched for it: someone else wrote it, or wrote it wrong)."""
    return {
        r.key for r in result.renditions if r.key in upload_keys or existing[r.key].size != r.bytes
    }


def _render_failed(photo: Photo, err: BaseException) -> Problem:
    return Problem(photo.source.display, f"cannot render: {err}")


def _start_uploads(
    pool: ThreadPoolExecutor, store: Storage, result: RenderOutput, upload_keys: set[str]
):
    return [
        pool.submit(upload, store, r.key, data, r.content_type)
        for r, data in zip(result.renditions, result.payloads, strict=True)
        if r.key in upload_keys
    ]


def _stage(staging: Path, result: RenderOutput) -> None:
    """Keep the largest JPEG on disk until the bundle is written (not in memory)."""
    largest = largest_jpeg(result.renditions)
    payload = result.payloads[result.renditions.index(largest)]
    (staging / f"{largest.sha256}.jpg").write_bytes(payload)


def _fetch_largest(store: Storage, staging: Path, item: GalleryItem) -> bytes:
    staged = staging / f"{item.largest.sha256}.jpg"
    return staged.read_bytes() if staged.exists() else store.get(item.largest.key)


def _gallery_items(
    kept: Sequence[Photo],
    done: Rendered,
    event: str,
    template: str,
) -> list[GalleryItem]:
    items = []
    for n, photo in enumerate(kept, 1):
        title = photo.meta.title or photo.meta.description or make_title(template, event, n, photo)
        renditions, placeholder = done.renditions[photo.id], done.placeholders[photo.id]
        items.append(GalleryItem(n, photo, title, renditions, placeholder))
    return items


def make_title(template: str, event: str, n: int, photo: Photo) -> str:
    """The fallback title; fields: {event}, {n}, {date}, {time}, {camera}, {filename}."""
    return template.format(
        event=event,
        n=n,
        date=photo.taken.date().isoformat(),
        time=photo.taken.strftime("%H:%M"),
        camera=photo.meta.model or photo.meta.make or "",
        filename=photo.source.path.name,
    )


def _humanize(name: str) -> str:
    return " ".join(word.capitalize() for word in name.replace("_", "-").split("-") if word)


def _nothing_found(
    sources: Sequence[Path],
    scanned: ScanResult,
    problems: list[Problem],
    excluded: Sequence[Excluded] = (),
) -> str:
    where = ", ".join(str(s) for s in sources)
    detail = f"; {len(problems)} unusable" if problems else ""
    detail += f"; {len(excluded)} left out by rating" if excluded else ""
    ignored = f"; ignored {scanned.ignored_summary()}" if scanned.ignored else ""
    return f"no usable photos found in {where}{detail}{ignored}"


def _report(
    options: IngestOptions,
    chosen: Selection,
    header: Photo,
    store: Storage,
    plan: PublishPlan,
    run: RenderRun | None,
    previous: PreviousManifest,
    changed: bool,
) -> IngestReport:
    replaced = previous.raw is not None and (changed or options.dry_run)
    return IngestReport(
        found=len(chosen.scanned.photos),
        photos=len(chosen.dedup.kept),
        duplicates=chosen.dedup,
        skipped=tuple(chosen.problems),
        ignored=chosen.scanned.ignored,
        header=header.source.display,
        bundle=str(options.bundle),
        store=store.url,
        manifest=MANIFEST_KEY,
        plan=plan,
        analysed=chosen.decoded,
        rendered=run.rendered if run else 0,
        repaired=run.repaired if run else 0,
        manifest_changed=changed,
        dry_run=options.dry_run,
        excluded=chosen.excluded,
        manifest_archived=archive_key(previous) if replaced else None,
    )
