"""`gallerypipe ingest`: scan → analyse → dedup → pick → render → publish, as plain functions."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from .analyse import Analysed
from .cache import analyse_cached, default_cache_path, open_cache
from .clock import ClockOffset, offset_for, shifted
from .decide import Excluded, decide
from .dedup import DEFAULT_THRESHOLD, DedupResult, find_duplicates
from .failures import naming
from .header import HeaderScore, candidates, pick_header, rank
from .imaging import register_formats
from .manifest import (
    MANIFEST_KEY,
    build_manifest,
    known_placeholders,
    known_renditions,
    private_details,
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
from .names import readable
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
from .renditions import (
    PlannedRendition,
    RenderOutput,
    RenderSettings,
    plan_renditions,
    render_photo,
)
from .scan import ScanResult, scan
from .sites import (
    DEFAULT_SITE,
    Draft,
    Gallery,
    Kept,
    SiteChanges,
    SiteLocked,
    SiteState,
    SiteTarget,
    open_site,
)
from .storage import Storage, StoreOptions, open_store

Progress = Callable[[str, int, int], None]
T = TypeVar("T")
DEFAULT_TITLE = "{event}, {date} {time}"  # nothing positional: a title stays with its photo


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
    event: str | None = None  # the short event name for titles; default: the bundle's folder
    site: str = DEFAULT_SITE  # the site target writing the bundle (sites.SITES)


@dataclass(frozen=True)
class Selection:
    """What scan, analyse, dedup and the groups' ratings decided, before anything is written.

    grouping holds the duplicate groups of every photo, rejected or not; dedup only those
    published, each keeper carrying its group's rating, title and capture time.
    """

    scanned: ScanResult
    dedup: DedupResult
    excluded: tuple[Excluded, ...]
    problems: tuple[Problem, ...]  # files left out: not published
    decoded: int  # photos decoded for analysis (neither path nor content in the cache)
    warnings: tuple[Problem, ...] = ()  # about photos that were read (kept, dropped or left out)
    grouping: DedupResult | None = None


@dataclass(frozen=True)
class IngestReport:
    found: int
    photos: int
    duplicates: DedupResult
    skipped: tuple[Problem, ...]  # files not published, and why
    ignored: tuple[tuple[str, int], ...]
    header: str
    bundle: str
    store: str
    manifest: str
    plan: PublishPlan  # what the run planned to upload and reuse (--dry-run lists it)
    analysed: int  # photos decoded for analysis (not found in the cache)
    rendered: int  # photos decoded for renditions
    manifest_changed: bool
    dry_run: bool
    excluded: tuple[Excluded, ...] = ()
    # where the replaced manifest was kept (in a dry run: would be, if it changes)
    manifest_archived: str | None = None
    warnings: tuple[Problem, ...] = ()  # photos read and used, worth a look, and why
    bundle_plan: SiteChanges = field(default_factory=SiteChanges)
    kept: tuple[Kept, ...] = ()  # the user's files and choices, left as they were
    sources: tuple[dict, ...] = ()  # each photo's id, card path, sha256, camera: never published
    decisions: tuple[dict, ...] = ()  # duplicates dropped, RAW companions, rating exclusions
    # the plan's part for the photos published (a photo that failed to render is not); in a
    # dry run, the plan
    published: PublishPlan | None = None
    header_problem: Problem | None = None  # --header's photo could not be used: exit 1

    @property
    def uploaded(self) -> int:
        """Objects written this run (in a dry run: that would be written)."""
        return len((self.published or self.plan).upload)

    @property
    def reused(self) -> int:
        """Objects the new manifest names that were already in the store, vouched for."""
        return len((self.published or self.plan).reuse)

    def to_json(self) -> dict:
        return {
            "photos": self.photos,
            "found": self.found,
            "duplicates": self.duplicates.dropped,
            "skipped": [{"path": p.path, "reason": p.reason} for p in self.skipped],
            "warnings": [{"path": p.path, "reason": p.reason} for p in self.warnings],
            "excluded": [
                {"path": e.photo.source.display, "reason": e.reason} for e in self.excluded
            ],
            "ignored": {why: count for why, count in self.ignored},
            "header": self.header,
            "header_problem": _problem_json(self.header_problem),
            "bundle": self.bundle,
            "store": self.store,
            "manifest": self.manifest,
            "uploaded": self.uploaded,
            "reused": self.reused,
            "analysed": self.analysed,
            "rendered": self.rendered,
            "manifest_changed": self.manifest_changed,
            "manifest_archived": self.manifest_archived,
            "bundle_files": self.bundle_plan.to_json(),
            "sources": list(self.sources),
            "decisions": list(self.decisions),
            "kept": [{"path": k.path, "reason": k.reason} for k in self.kept],
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
    warnings = photo_warnings(photos)
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
    return Selection(scanned, dedup, excluded, problems, decoded, warnings, grouping)


@dataclass(frozen=True)
class HeaderChoice:
    header: Photo
    ranked: tuple[HeaderScore, ...]  # every candidate, best first
    overridden: bool  # --header named it


def choose_header(options: IngestOptions, progress: Progress | None = None) -> HeaderChoice:
    """What ingest would take as the header, and the ranking it comes from (writes nothing)."""
    kept = select(options, progress).dedup.kept
    asked = None if _auto(options.header) else options.header
    header = pick_header(kept, asked)
    return HeaderChoice(header, tuple(rank(candidates(kept))), asked is not None)


class OverlapError(IngestError):
    """SRC, the bundle and the local store overlap; refused before anything is read (exit 2)."""


def check_paths(sources: Sequence[Path], bundle: Path, store: str) -> None:
    """Refuse a bundle or local store inside a SRC (its files would be scanned as photos next
    time), a SRC inside either (gallerypipe would write among the originals), or one the same."""
    places = {"the bundle": bundle}
    if not store.startswith("s3://"):
        places["the store"] = Path(store.removeprefix("file://"))
    for src in sources:
        source = Path(src).resolve()
        for what, path in places.items():
            where = path.resolve()
            if source == where:
                how = f"SRC {src} is {what}"
            elif where.is_relative_to(source):
                how = f"{what} {path} lies inside SRC {src}"
            elif source.is_relative_to(where):
                how = f"SRC {src} lies inside {what} {path}"
            else:
                continue
            raise OverlapError(
                f"{readable(how)}: refused, nothing was read or written (gallerypipe would scan "
                "its own output as photos, or write among the originals); keep the bundle and "
                "the store outside the camera folders"
            )


def ingest(options: IngestOptions, progress: Progress | None = None) -> IngestReport:
    check_paths(options.sources, options.bundle, options.store)
    site = open_site(options.site, options.bundle)
    chosen = select(options, progress)
    if options.dry_run:
        return _ingest(options, chosen, site, progress)
    try:
        with site.lock():
            return _ingest(options, chosen, site, progress)
    except SiteLocked as err:
        raise IngestError(str(err)) from err


def _ingest(
    options: IngestOptions, chosen: Selection, site: SiteTarget, progress: Progress | None
) -> IngestReport:
    progress = progress or (lambda stage, done, total: None)
    dedup = chosen.dedup
    header = pick_header(dedup.kept, None if _auto(options.header) else options.header)
    state = site.read(options.header is not None)
    event = options.event or _humanize(options.bundle.name)  # short, not the page's title
    store = open_store(options.store, options.store_options)
    existing = store.list()
    previous = read_previous(store, existing)
    known = Known(known_renditions(previous.data), known_placeholders(previous.data))
    files = site.files(dedup.kept)
    planned = plan_all(dedup.kept, options.render)  # the keys, once: rendering makes these
    plan = plan_publish(planned_keys(planned), existing, known.sizes())
    users = state.users_header is not None  # the user's own header is kept: none of ours
    draft = _draft(dedup.kept, planned, known, None if users else header, files)
    early = site.plan(state, draft)  # a conflict raises here, before the store is changed
    run = RunPlan(
        options, chosen, header, site, state, event, store, previous, known, files, planned, plan
    )
    if options.dry_run:
        return _report(run, early)
    return _apply(run, progress)


@dataclass(frozen=True)
class RunPlan:
    """Everything a run decides before it writes anything: what --dry-run reports, and what the
    run then carries out as it is (the publish plan already holds the repairs)."""

    options: IngestOptions
    chosen: Selection
    header: Photo  # gallerypipe's pick, or --header's photo
    site: SiteTarget
    state: SiteState  # what the site target read: the user's header and titles
    event: str
    store: Storage
    previous: PreviousManifest
    known: Known
    files: Mapping[str, str]  # photo id → its file in the site (the manifest's `file`)
    planned: Mapping[str, tuple[PlannedRendition, ...]]  # photo id → its renditions' keys
    publish: PublishPlan

    @property
    def users_header(self) -> bool:
        """The page names a header of the user's own, and --header does not replace it."""
        return self.state.users_header is not None


def _apply(run: RunPlan, progress: Progress) -> IngestReport:
    """Carry the plan out: render and upload, then the manifest, then the bundle."""
    options, chosen, store, previous, files = (
        run.options, run.chosen, run.store, run.previous, run.files
    )  # fmt: skip
    event = run.event
    dedup, users_header = chosen.dedup, run.users_header
    with tempfile.TemporaryDirectory(prefix="gallerypipe-") as staging:
        reused, todo = _reuse(dedup.kept, run.planned, run.known, run.publish)
        renders = _render(todo, run.planned, options, progress)
        transfers = options.store_options.transfers
        rendered = _upload_and_stage(renders, store, run.publish, Path(staging), transfers)
        done = {**reused, **_as_planned(rendered.photos, run.known, run.publish)}
        kept = _in_gallery(dedup.kept, done, files, rendered.failed)
        header, header_problem = _header_after(run.header, kept, rendered.failed, options.header)
        auto = _titles(kept, event, options.title_template)
        items = _gallery_items(kept, done, {**auto, **run.state.titles})
        header_item = None if users_header else next(i for i in items if i.photo.id == header.id)
        manifest = build_manifest(event, items, header_item, files)
        manifest_bytes = to_bytes(manifest)
        # The store first: a publisher that loses the race for the manifest leaves its bundle
        # as it was, and the bundle never describes a gallery the store does not have.
        changed = publish_manifest(store, manifest_bytes, previous)
        fetch = functools.partial(_fetch_largest, store, Path(staging))
        gallery = Gallery(event, tuple(items), header_item, auto, files, manifest_bytes, fetch)
        with naming(options.bundle):
            written = run.site.write(run.state, gallery)
    published = run.publish.only(_named_keys(items))  # the plan's part for the photos published
    outcome = Outcome(header, header_problem, rendered.failed, len(rendered.photos), published)
    return _report(run, written, outcome, changed)


def _auto(header: Path | None) -> bool:
    """`--header auto`: gallerypipe's own pick, over a header set in the page's front matter."""
    return header is not None and str(header) == "auto"


def _draft(
    kept: Sequence[Photo],
    planned: Mapping[str, tuple],
    known: Known,
    header: Photo | None,
    files: Mapping[str, str],
) -> Draft:
    """The gallery the site would show, before rendering: each photo's largest JPEG known from
    the previous manifest where it describes all the photo's renditions."""
    largest: dict[str, str | None] = {}
    for photo in kept:
        renditions = [known.renditions.get(r.key) for r in planned[photo.id]]
        largest[photo.id] = (
            largest_jpeg([r for r in renditions if r]).sha256 if all(renditions) else None
        )
    return Draft(tuple(kept), files, largest, header.id if header else None)


def analyse_all(
    scanned: ScanResult,
    jobs: int,
    progress: Progress,
    cache_path: Path | None = None,
    offsets: Sequence[ClockOffset] = (),
    executor: str | None = None,
) -> tuple[list[Photo], tuple[Problem, ...], int]:
    """Analyse every photo not in the cache, in parallel; order by capture time, then name.

    Returns the photos, the problems and how many photos were decoded.
    """
    problems = list(scanned.problems)
    cache = open_cache(cache_path)
    cache_path = cache.path if cache else None  # workers read the cache only if it opened
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
    return to_photos(analysed, offsets), tuple(problems), decoded


FROM_FILE = "no capture time in EXIF, XMP or IPTC: dated by the file's modification time"


def photo_warnings(photos: Sequence[Photo]) -> tuple[Problem, ...]:
    """What is worth a look about photos that are used: unreadable metadata, a date from the
    file, damaged image data. (Files that cannot be used at all are problems, not warnings.)"""
    warnings = []
    for photo in photos:
        where = photo.source.display
        warnings += [Problem(where, reason) for reason in photo.meta.problems]
        if photo.time_from_file:
            warnings.append(Problem(where, FROM_FILE))
        if photo.analysis.damage:
            reason = f"decoded with errors, check it: {photo.analysis.damage}"
            warnings.append(Problem(where, reason))
    return tuple(warnings)


def _analysis_failed(source: SourceFile, err: BaseException) -> Problem:
    return Problem(source.display, f"cannot analyse: {err}")


def to_photos(analysed: Sequence[Analysed], offsets: Sequence[ClockOffset] = ()) -> list[Photo]:
    """Photos in capture order, each camera's clock offset applied (to EXIF times only)."""
    zone = event_timezone(a.meta.capture_time for a in analysed)
    photos = []
    for a in analysed:
        taken, from_file = ordering_time(a.meta.capture_time, a.source.mtime, zone)
        if not from_file:
            taken = shifted(taken, offset_for(a.source, a.meta, offsets))
        photos.append(Photo(a.source, a.meta, a.analysis, taken, from_file))
    photos.sort(key=lambda p: (p.taken, p.source.path.name.lower(), p.source.display))
    return photos


@dataclass(frozen=True)
class Known:
    """What the previous manifest says: renditions by key, placeholders by photo id."""

    renditions: dict[str, Rendition]
    placeholders: dict[str, Placeholder]

    def sizes(self) -> dict[str, int]:
        """The size the manifest gives each key: what plan_publish checks the store against."""
        return {key: r.bytes for key, r in self.renditions.items()}


@dataclass(frozen=True)
class PhotoRenditions:
    """One published photo's renditions (as the manifest describes them) and placeholder."""

    renditions: tuple[Rendition, ...]
    placeholder: Placeholder


@dataclass(frozen=True)
class RenderRun:
    """What rendering and uploading the photos that needed it gave."""

    photos: Mapping[str, PhotoRenditions]  # by photo id: those rendered, their keys uploaded
    failed: tuple[Problem, ...]  # the photos that could not be rendered: not published


@dataclass(frozen=True)
class Outcome:
    """What carrying a RunPlan out did: the report is the plan and this, nothing patched."""

    header: Photo  # the plan's, or gallerypipe's pick when that one could not be rendered
    header_problem: Problem | None  # --header's photo could not be rendered
    failed: tuple[Problem, ...]  # photos that could not be rendered
    rendered: int  # photos rendered
    published: PublishPlan  # the part of the plan for the photos published: what was done


def plan_all(
    photos: Sequence[Photo], settings: RenderSettings
) -> dict[str, tuple[PlannedRendition, ...]]:
    """Each photo's renditions, by photo id: the one plan the publish plan, the reuse decision
    and the renders all follow."""
    return {photo.id: plan_renditions(photo, settings) for photo in photos}


def planned_keys(planned: Mapping[str, Sequence[PlannedRendition]]) -> list[str]:
    return [r.key for renditions in planned.values() for r in renditions]


def _reuse(
    kept: Sequence[Photo],
    planned: Mapping[str, Sequence[PlannedRendition]],
    known: Known,
    plan: PublishPlan,
) -> tuple[dict[str, PhotoRenditions], list[Photo]]:
    """The photos the plan reuses whole (every key, and a placeholder the manifest gives), as
    the previous manifest describes them; and the photos to render."""
    reuse = set(plan.reuse)  # every one is a key the previous manifest describes
    reused, todo = {}, []
    for photo in kept:
        keys = [r.key for r in planned[photo.id]]
        if all(k in reuse for k in keys) and photo.id in known.placeholders:
            renditions = tuple(known.renditions[k] for k in keys)
            reused[photo.id] = PhotoRenditions(renditions, known.placeholders[photo.id])
        else:
            todo.append(photo)
    return reused, todo


def _render(
    photos: Sequence[Photo],
    planned: Mapping[str, tuple[PlannedRendition, ...]],
    options: IngestOptions,
    progress: Progress,
) -> Iterator[tuple[Photo, RenderOutput | Problem]]:
    """Each photo rendered as planned (on every core, or Dask), as it comes; a failure is the
    photo's Problem."""
    jobs = [(photo, planned[photo.id]) for photo in photos]
    render = functools.partial(_render_job, settings=options.render)
    results = run_all(
        render, jobs, options.jobs, on_error=_render_failed, executor=options.executor
    )
    for n, ((photo, _), result) in enumerate(results, 1):
        yield photo, result
        progress("render", n, len(jobs))


def _render_job(
    job: tuple[Photo, tuple[PlannedRendition, ...]], settings: RenderSettings
) -> RenderOutput | Problem:
    photo, planned = job
    return render_photo(photo, settings, planned)


def _render_failed(job: tuple[Photo, tuple], err: BaseException) -> Problem:
    return Problem(job[0].source.display, f"cannot render: {err}")


def _upload_and_stage(
    results: Iterator[tuple[Photo, RenderOutput | Problem]],
    store: Storage,
    plan: PublishPlan,
    staging: Path,
    transfers: int,
) -> RenderRun:
    """Upload each render's keys the plan uploads and stage its largest JPEG for the bundle, as
    the renders come in; on return every upload has finished (a failed one raises here, before
    any manifest is written)."""
    uploads = frozenset(plan.upload)
    photos, failed = {}, []
    with ThreadPoolExecutor(max_workers=transfers) as pool:
        futures: list[Future] = []
        for photo, result in _cancelling(results, pool):
            if isinstance(result, Problem):
                failed.append(result)
                continue
            futures += _upload(pool, store, result, uploads)
            _stage(staging, result)
            photos[photo.id] = PhotoRenditions(result.renditions, result.placeholder)
        _wait_all(pool, futures)
    return RenderRun(photos, tuple(failed))


def _cancelling(results: Iterator[T], pool: ThreadPoolExecutor) -> Iterator[T]:
    """results, dropping the pool's queued uploads if the run stops (Ctrl-C, an error) while
    they are consumed: only the uploads under way are waited for, not the whole queue."""
    try:
        yield from results
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise


def _wait_all(pool: ThreadPoolExecutor, futures: Sequence[Future]) -> None:
    """Every upload's result; if one fails or the run stops, the queued ones are dropped."""
    try:
        for future in futures:
            future.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise


def _upload(
    pool: ThreadPoolExecutor, store: Storage, result: RenderOutput, uploads: frozenset[str]
) -> list[Future]:
    """Start uploading this render's keys that the plan uploads (the others it reuses)."""
    return [
        pool.submit(upload, store, r.key, data, r.content_type)
        for r, data in zip(result.renditions, result.payloads, strict=True)
        if r.key in uploads
    ]


def _stage(staging: Path, result: RenderOutput) -> None:
    """Keep the largest JPEG on disk until the bundle is written (not in memory)."""
    largest = largest_jpeg(result.renditions)
    payload = result.payloads[result.renditions.index(largest)]
    with naming(staging):  # TMPDIR full
        (staging / f"{largest.sha256}.jpg").write_bytes(payload)


def _fetch_largest(store: Storage, staging: Path, item: GalleryItem) -> bytes:
    staged = staging / f"{item.largest.sha256}.jpg"
    return staged.read_bytes() if staged.exists() else store.get(item.largest.key)


def _as_planned(
    rendered: Mapping[str, PhotoRenditions], known: Known, plan: PublishPlan
) -> dict[str, PhotoRenditions]:
    """The rendered photos as the store will hold them: a key the plan reuses keeps the copy
    the previous manifest vouched for (it was not uploaded again), described as that manifest
    describes it; the others are this run's renders."""
    reuse = set(plan.reuse)
    return {
        photo_id: replace(
            done,
            renditions=tuple(
                known.renditions[r.key] if r.key in reuse else r for r in done.renditions
            ),
        )
        for photo_id, done in rendered.items()
    }


def _in_gallery(
    kept: Sequence[Photo],
    done: Mapping[str, PhotoRenditions],
    files: Mapping[str, str],
    failed: Sequence[Problem],
) -> list[Photo]:
    """The photos published (those reused or rendered), in the gallery's order: their files'
    (Hugo lists resources so)."""
    published = sorted((p for p in kept if p.id in done), key=lambda p: files[p.id])
    if not published:
        example = f", e.g. {failed[0].path}: {failed[0].reason}" if failed else ""
        raise IngestError(
            f"none of the {len(kept)} photos could be rendered{example}; nothing was published"
        )
    return published


def _header_after(
    planned: Photo, published: Sequence[Photo], failed: Sequence[Problem], asked: Path | None
) -> tuple[Photo, Problem | None]:
    """The header once the photos are rendered: the planned one, or, when it could not be
    rendered, gallerypipe's pick among those published, with a Problem when --header named it
    (the user chose that photo and gets another: they must act)."""
    if any(p.id == planned.id for p in published):
        return planned, None
    header = pick_header(published)
    if asked is None or _auto(asked):
        return header, None
    why = next((f.reason for f in failed if f.path == planned.source.display), "not rendered")
    return header, Problem(
        planned.source.display,
        f"--header photo not published ({why}); the header is {header.source.display}, "
        "gallerypipe's pick, instead",
    )


def _named_keys(items: Sequence[GalleryItem]) -> set[str]:
    return {r.key for item in items for r in item.renditions}


def _titles(kept: Sequence[Photo], event: str, template: str) -> dict[str, str]:
    """Each photo's own title (its caption), else the template's; by photo id."""
    return {
        photo.id: photo.meta.title
        or photo.meta.description
        or make_title(template, event, n, photo)
        for n, photo in enumerate(kept, 1)
    }


def _gallery_items(
    kept: Sequence[Photo], done: Mapping[str, PhotoRenditions], titles: Mapping[str, str]
) -> list[GalleryItem]:
    items = []
    for n, photo in enumerate(kept, 1):
        renditions, placeholder = done[photo.id].renditions, done[photo.id].placeholder
        items.append(GalleryItem(n, photo, titles[photo.id], renditions, placeholder))
    return items


def make_title(template: str, event: str, n: int, photo: Photo) -> str:
    """The fallback title; fields: {event}, {n}, {date}, {time}, {camera}, {filename}."""
    return template.format(
        event=event,
        n=n,
        date=photo.taken.date().isoformat(),
        time=photo.taken.strftime("%H:%M"),
        camera=photo.meta.model or photo.meta.make or "",
        filename=readable(photo.source.path.name),
    )


def _humanize(name: str) -> str:
    return " ".join(word.capitalize() for word in name.replace("_", "-").split("-") if word)


def _nothing_found(
    sources: Sequence[Path],
    scanned: ScanResult,
    problems: Sequence[Problem],
    excluded: Sequence[Excluded] = (),
) -> str:
    where = ", ".join(str(s) for s in sources)
    detail = f"; {len(problems)} unusable" if problems else ""
    detail += f"; {len(excluded)} left out by rating" if excluded else ""
    ignored = f"; ignored {scanned.ignored_summary()}" if scanned.ignored else ""
    return f"no usable photos found in {where}{detail}{ignored}"


def _report(
    run: RunPlan,
    bundle_plan: SiteChanges,
    outcome: Outcome | None = None,
    changed: bool = False,
) -> IngestReport:
    """The plan and what carrying it out did (a dry run: the plan, as if carried out)."""
    options, chosen = run.options, run.chosen
    outcome = outcome or Outcome(run.header, None, (), 0, run.publish)
    replaced = run.previous.raw is not None and (changed or options.dry_run)
    skipped = (*chosen.problems, *outcome.failed)
    excluded = [(e.photo.source.relative, e.reason) for e in chosen.excluded]
    private = private_details(chosen.dedup.kept, chosen.dedup.groups, excluded)
    return IngestReport(
        found=len(chosen.scanned.photos),
        photos=len(chosen.dedup.kept) - len(outcome.failed),
        duplicates=chosen.dedup,
        skipped=skipped,
        ignored=chosen.scanned.ignored,
        header=_header_shown(run, outcome.header),
        bundle=str(options.bundle),
        store=run.store.url,
        manifest=MANIFEST_KEY,
        plan=run.publish,
        analysed=chosen.decoded,
        rendered=outcome.rendered,
        manifest_changed=changed,
        dry_run=options.dry_run,
        excluded=chosen.excluded,
        manifest_archived=archive_key(run.previous) if replaced else None,
        warnings=_published(chosen.warnings, skipped),
        bundle_plan=bundle_plan,
        kept=run.state.notes + bundle_plan.kept,
        sources=tuple(private["sources"]),
        decisions=tuple(private["decisions"]),
        published=outcome.published,
        header_problem=outcome.header_problem,
    )


def _header_shown(run: RunPlan, header: Photo) -> str:
    """The page's header: the user's own (its src), or the photo gallerypipe wrote as it."""
    return str(run.state.users_header) if run.users_header else header.source.display


def _published(warnings: Sequence[Problem], skipped: Sequence[Problem]) -> tuple[Problem, ...]:
    """The warnings of photos not skipped (one that failed to render is skipped instead)."""
    gone = {p.path for p in skipped}
    return tuple(w for w in warnings if w.path not in gone)


def _problem_json(problem: Problem | None) -> dict | None:
    return None if problem is None else {"path": problem.path, "reason": problem.reason}
