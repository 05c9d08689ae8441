"""The command line: a thin layer of click over the plain functions in the stage modules."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import NoReturn

import click

from .bundle import FrontMatterError
from .cache import default_cache_path
from .cameras import describe, survey
from .clock import ClockOffsetError, parse_offsets
from .config import CONFIG_NAME, ConfigError, command_defaults, load_config, sync_plan
from .dedup import DEFAULT_THRESHOLD
from .header import FACTORS, HeaderNotFound, why_first
from .pipeline import (
    DEFAULT_TITLE,
    HeaderChoice,
    IngestError,
    IngestOptions,
    IngestReport,
    choose_header,
    ingest,
)
from .publish import PrunePlan, plan_prune, prune, verify
from .renditions import RenderSettings, RenderSettingsError
from .review import Review, review, write_contact_sheet
from .storage import StorageError, StoreOptions, open_store
from .sync import EXIT_LOCKED, LockHeld, sync

USER_MUST_ACT = 1


class Progress:
    """A one-line progress display on stderr, drawn only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or not total:
            return
        width = 30
        filled = width * done // total
        bar = "#" * filled + "-" * (width - filled)
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r{stage:<8} [{bar}] {done}/{total}{end}")
        sys.stderr.flush()


# Options more than one command takes alike.
_THRESHOLD = click.option(
    "--threshold", default=DEFAULT_THRESHOLD, show_default=True, type=click.IntRange(0, 64)
)
_JOBS = click.option(
    "--jobs", default=0, type=click.IntRange(0), help="Worker processes (0: all cores)."
)


def store_options(command):
    """--store and how to reach it; each also from GALLERYPIPE_* variables and the config file."""
    options = [
        click.option(
            "--store",
            default="published",
            show_default=True,
            envvar="GALLERYPIPE_STORE",
            help="A local folder, or s3://bucket/prefix.",
        ),
        click.option(
            "--endpoint-url", envvar="GALLERYPIPE_ENDPOINT_URL", help="S3-compatible server."
        ),
        click.option(
            "--profile", envvar="GALLERYPIPE_PROFILE", help="AWS profile for credentials."
        ),
        click.option("--region", envvar="GALLERYPIPE_REGION"),
        click.option("--path-style", is_flag=True, envvar="GALLERYPIPE_PATH_STYLE"),
        click.option(
            "--acl",
            envvar="GALLERYPIPE_ACL",
            help="Canned ACL, e.g. public-read (none by default).",
        ),
        click.option(
            "--transfers",
            default=StoreOptions.transfers,
            show_default=True,
            type=click.IntRange(1),
            envvar="GALLERYPIPE_TRANSFERS",
            help="Concurrent uploads, reads and deletes.",
        ),
    ]
    return _with_options(command, options)


def _with_options(command, options: list):
    """Apply click options so that --help lists them in the order given."""
    for option in reversed(options):
        command = option(command)
    return command


def analysis_options(command):
    """Options that change what is analysed and how it is ordered: ingest, header, cameras."""
    options = [
        click.option(
            "--clock-offset",
            "clock_offsets",
            multiple=True,
            metavar="CAMERA=±SECONDS",
            help="Shift a camera's times (CAMERA: make, model, serial or folder). Repeatable.",
        ),
        _JOBS,
        click.option(
            "--executor",
            envvar="GALLERYPIPE_EXECUTOR",
            help="dask://HOST:PORT: run per-photo work on a Dask cluster (workers read sources "
            "by path).",
        ),
        click.option(
            "--cache",
            type=click.Path(path_type=Path, dir_okay=False),
            envvar="GALLERYPIPE_CACHE",
            help="Analysis cache file (default: ~/.cache/gallerypipe/analysis.sqlite).",
        ),
        click.option("--no-cache", is_flag=True, help="Analyse every photo again."),
    ]
    return _with_options(command, options)


def selection_options(command):
    """Options that decide which photos a gallery holds and its header: ingest and header."""
    header = click.option(
        "--header", type=click.Path(path_type=Path), help="Use this photo as the header."
    )
    return header(grouping_options(command))


def grouping_options(command):
    """Options that decide which photos a gallery holds: ingest, header and dedup alike."""
    options = [
        _THRESHOLD,
        click.option("--keep-all", is_flag=True, help="Skip deduplication."),
        click.option(
            "--include-rejected", is_flag=True, help="Keep photos rated -1 (never as header)."
        ),
        click.option(
            "--min-rating", type=click.IntRange(0, 5), help="Keep only photos rated at least N."
        ),
    ]
    return analysis_options(_with_options(command, options))


def _analysis_kwargs(kwargs: dict) -> dict:
    """cache and clock offsets parsed from the raw option values (popped from kwargs)."""
    cache = None if kwargs.pop("no_cache") else kwargs.pop("cache") or default_cache_path()
    kwargs.pop("cache", None)
    try:
        offsets = parse_offsets(kwargs.pop("clock_offsets") or ())
    except ClockOffsetError as err:
        raise click.BadParameter(str(err), param_hint="--clock-offset") from err
    return {"cache": cache, "clock_offsets": offsets}


def _store_options(kwargs: dict) -> StoreOptions:
    return StoreOptions(
        endpoint_url=kwargs.pop("endpoint_url"),
        profile=kwargs.pop("profile"),
        region=kwargs.pop("region"),
        path_style=kwargs.pop("path_style"),
        acl=kwargs.pop("acl"),
        transfers=kwargs.pop("transfers"),
    )


@click.group()
@click.version_option(package_name="gallerypipe")
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="GALLERYPIPE_CONFIG",
    help=f"Settings file (default: ./{CONFIG_NAME} when present).",
)
@click.pass_context
def main(ctx: click.Context, config: Path | None) -> None:
    """Turn the camera cards of an event into a published photo gallery."""
    try:
        ctx.default_map = command_defaults(load_config(config))
    except ConfigError as err:
        raise click.UsageError(str(err)) from err


@main.command("ingest")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--bundle", required=True, type=click.Path(path_type=Path), help="Hugo page bundle.")
@store_options
@selection_options
@click.option("--title-template", default=DEFAULT_TITLE, show_default=True)
@click.option("--sizes", default="2048,1024,480", show_default=True, help="Long edges, px.")
@click.option("--quality", default=85, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--formats",
    default="jpeg,webp",
    show_default=True,
    help="Rendition formats: jpeg plus any of webp, avif.",
)
@click.option("--webp-quality", default=80, show_default=True, type=click.IntRange(1, 100))
@click.option("--avif-quality", default=60, show_default=True, type=click.IntRange(1, 100))
@click.option("--strip-all", is_flag=True, help="Publish no EXIF at all.")
@click.option("--keep-gps", is_flag=True, help="Keep the GPS position in published renditions.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what would be published; the store and the bundle are not touched.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def ingest_command(**kwargs) -> None:
    """Ingest camera folders SOURCES into a Hugo page bundle and publish renditions."""
    as_json = kwargs.pop("as_json")
    options = IngestOptions(
        **_analysis_kwargs(kwargs),
        sources=tuple(kwargs.pop("sources")),
        store_options=_store_options(kwargs),
        render=_render_settings(kwargs),
        **kwargs,
    )
    try:
        report = ingest(options, Progress(enabled=not as_json))
    except (IngestError, HeaderNotFound, FrontMatterError, StorageError) as err:
        _fail(str(err), as_json)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        click.echo(summary(report))


@main.command("header")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@selection_options
@click.option("--explain", is_flag=True, help="Show the top five candidates and their scores.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def header_command(sources, explain: bool, as_json: bool, **kwargs) -> None:
    """Show the photo ingest would take as the header (writes nothing)."""
    analysis = _analysis_kwargs(kwargs)
    options = IngestOptions(sources=tuple(sources), bundle=Path(), **analysis, **kwargs)
    try:
        choice = choose_header(options)
    except (IngestError, HeaderNotFound) as err:
        _fail(str(err), as_json)
    if as_json:
        click.echo(json.dumps(header_json(choice), ensure_ascii=False))
    else:
        click.echo(header_text(choice, explain))


def header_json(choice: HeaderChoice, top: int = 5) -> dict:
    return {
        "header": choice.header.source.display,
        "overridden": choice.overridden,
        "why": "chosen with --header" if choice.overridden else why_first(choice.ranked),
        "candidates": [
            {
                "path": s.photo.source.display,
                "score": round(s.score, 4),
                **{f: round(getattr(s, f), 4) for f in FACTORS},
            }
            for s in choice.ranked[:top]
        ],
    }


def header_text(choice: HeaderChoice, explain: bool) -> str:
    if not explain:
        return choice.header.source.display
    data = header_json(choice)
    lines = [f"header: {data['header']}", f"why: {data['why']}", "top candidates:"]
    lines.append("   score  sharp   expo  land   res stars  path")
    for c in data["candidates"]:
        lines.append(
            f"  {c['score']:6.3f} {c['sharpness']:6.2f} {c['exposure']:6.2f} "
            f"{c['landscape']:5.2f} {c['resolution']:5.2f} {c['rating']:5.2f}  {c['path']}"
        )
    return "\n".join(lines)


@main.command("cameras")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@analysis_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def cameras_command(sources, jobs: int, as_json: bool, **kwargs) -> None:
    """List every camera on the cards: serial, folders, photo count, first and last time."""
    analysis = _analysis_kwargs(kwargs)
    cameras, problems = survey(tuple(sources), jobs, analysis["cache"], analysis["clock_offsets"])
    if as_json:
        payload = {
            "cameras": [c.to_json() for c in cameras],
            "problems": [{"path": p.path, "reason": p.reason} for p in problems],
        }
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    for camera in cameras:
        click.echo(describe(camera))
    for problem in problems:
        click.echo(f"problem: {problem.path}: {problem.reason}")


@main.command("dedup")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@grouping_options
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a contact sheet of the groups to this file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def dedup_command(sources, html_path: Path | None, as_json: bool, **kwargs) -> None:
    """Find duplicates among the photos in SOURCES as ingest would (the same cache, clock
    offsets and ratings) and report them; write nothing else."""
    analysis = _analysis_kwargs(kwargs)
    options = IngestOptions(sources=tuple(sources), bundle=Path(), **analysis, **kwargs)
    try:
        result = review(options, Progress(enabled=not as_json))
    except IngestError as err:
        _fail(str(err), as_json)
    if html_path:
        write_contact_sheet(result, html_path)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        click.echo(dedup_summary(result))


@main.command("verify")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def verify_command(store: str, as_json: bool, **kwargs) -> None:
    """Check that every object the manifest names exists with its size and sha256."""
    options = _store_options(kwargs)
    try:
        report = verify(open_store(store, options), options.transfers)
    except StorageError as err:
        _fail(str(err), as_json)
    problems = report.problems
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": not problems,
                    "checked": report.checked,
                    "problems": [asdict(p) for p in problems],
                }
            )
        )
    else:
        for problem in problems:
            click.echo(f"{problem.key}: {problem.reason}")
        found = _count(len(problems), "problem") if problems else "all match"
        click.echo(f"verify: {_count(report.checked, 'object')} checked, {found}")
    sys.exit(USER_MUST_ACT if problems else 0)


@main.command("prune")
@store_options
@click.option("--yes", is_flag=True, help="Delete for real (the default is a dry run).")
@click.option("--dry-run", is_flag=True, help="Only show what would be deleted (the default).")
@click.option("--max-delete", type=click.IntRange(0), help="Refuse to delete more than this.")
@click.option(
    "--keep-manifests",
    default=5,
    show_default=True,
    type=click.IntRange(0),
    help="Also keep what the newest N archived manifests (manifests/*.json) reference.",
)
@click.option(
    "--min-age",
    default=3600,
    show_default=True,
    type=click.IntRange(0),
    help="Seconds; younger objects are kept (a publish in progress may be uploading them).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def prune_command(
    store, yes, dry_run, max_delete, keep_manifests, min_age, as_json, **kwargs
) -> None:
    """Delete objects under the prefix that no kept manifest references."""
    if yes and dry_run:
        raise click.UsageError("--dry-run and --yes contradict each other; give one")
    try:
        storage = open_store(store, _store_options(kwargs))
        plan = plan_prune(storage, keep_manifests, float(min_age))
        deleted = prune(storage, plan, max_delete) if yes else []
    except StorageError as err:
        _fail(str(err), as_json)
    if as_json:
        click.echo(json.dumps({**asdict(plan), "deleted": deleted, "dry_run": not yes}))
        return
    for key in plan.delete:
        click.echo(f"{'deleted' if yes else 'would delete'} {key}")
    click.echo(prune_summary(plan, yes))


def prune_summary(plan: PrunePlan, deleted: bool) -> str:
    done = f"deleted {len(plan.delete)}" if deleted else f"{len(plan.delete)} to delete"
    line = (
        f"prune: {done}, {plan.referenced} referenced, {plan.too_recent} unreferenced but "
        "younger than --min-age (kept)"
    )
    if plan.foreign:
        line += f", {plan.foreign} not written by gallerypipe at this prefix (kept)"
    return line if deleted else line + "; dry run: add --yes to delete"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _render_settings(kwargs: dict) -> RenderSettings:
    formats = tuple(f.strip().lower() for f in kwargs.pop("formats").split(",") if f.strip())
    try:
        return RenderSettings(
            sizes=_sizes(kwargs.pop("sizes")),
            jpeg_quality=kwargs.pop("quality"),
            formats=formats,
            webp_quality=kwargs.pop("webp_quality"),
            avif_quality=kwargs.pop("avif_quality"),
            metadata="none" if kwargs.pop("strip_all") else "minimal",
            keep_gps=kwargs.pop("keep_gps"),
        )
    except RenderSettingsError as err:
        raise click.BadParameter(str(err), param_hint="--formats") from err


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 16:
        raise click.BadParameter(
            "give long edges in pixels, e.g. 2048,1024,480", param_hint="--sizes"
        )
    return sizes


def _fail(message: str, as_json: bool, code: int = USER_MUST_ACT) -> NoReturn:
    if as_json:
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def dedup_summary(result: Review) -> str:
    groups = result.dedup.groups
    photos = len(result.dedup.kept) + result.dedup.dropped
    lines = [
        f"{photos} photos: {len(groups)} groups of duplicates, {result.dedup.dropped} to drop; "
        f"{len(result.skipped)} skipped"
    ]
    for group in groups:
        left_out = result.left_out(group.keep)
        lines.append(f"keep {group.keep.source.display} ({group.why_kept})")
        lines += [f"  left out: {left_out}"] if left_out else []
        lines += [
            f"  {d.reason} (distance {d.distance}): {d.photo.source.display}"
            for d in group.duplicates
        ]
    grouped = {p.source for g in groups for p in (g.keep, *(d.photo for d in g.duplicates))}
    lines += [
        f"left out {e.photo.source.display}: {e.reason}"
        for e in result.excluded
        if e.photo.source not in grouped
    ]
    lines += [
        f"similar, kept (distance {s.distance}): {s.left.source.display} and "
        f"{s.right.source.display}: {s.reason}"
        for s in result.similar
    ]
    lines += [f"skipped {p.path}: {p.reason}" for p in result.skipped]
    return "\n".join(lines)


def summary(report: IngestReport) -> str:
    """What a photographer reads at the end of a run."""
    verb = "would publish" if report.dry_run else "published"
    lines = [
        f"found {report.found} photos; {verb} {report.photos}; "
        f"dropped {report.duplicates.dropped} duplicates",
        f"header: {report.header}",
        f"renditions: {report.uploaded} {'to upload' if report.dry_run else 'uploaded'}, "
        f"{report.reused} already in the store ({report.store})",
        f"manifest: {_manifest_line(report)}",
        f"bundle: {report.bundle}",
    ]
    for group in report.duplicates.groups:
        for dup in group.duplicates:
            lines.append(
                f"  duplicate ({dup.reason}, distance {dup.distance}): "
                f"{dup.photo.source.display} → kept {group.keep.source.display}"
            )
    if report.dry_run:
        lines += [f"  would upload {key}" for key in report.plan.upload]
    if report.excluded:
        lines.append(f"left out by rating ({len(report.excluded)}):")
        lines += [f"  {e.photo.source.display}: {e.reason}" for e in report.excluded]
    if report.ignored:
        lines.append("ignored: " + ", ".join(f"{n} {why}" for why, n in report.ignored))
    if report.skipped:
        lines.append(f"problems ({len(report.skipped)}):")
        lines += [f"  {p.path}: {p.reason}" for p in report.skipped]
    return "\n".join(lines)


def _manifest_line(report: IngestReport) -> str:
    """What became of manifest.json, and where the one it replaced is kept."""
    name, archived = report.manifest, report.manifest_archived
    kept = f"; the current one kept as {archived}" if archived else ""
    if report.dry_run:
        return f"{name} would be written last, if it changes{kept}"
    if not report.manifest_changed:
        return f"{name} unchanged"
    return f"{name} updated{kept}" if archived else f"{name} written"


@main.command("sync")
@click.option(
    "--lock-timeout", default=0.0, show_default=True, type=click.FloatRange(0), help="Seconds."
)
@click.option("--state", type=click.Path(path_type=Path, dir_okay=False), help="State file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_context
def sync_command(
    ctx: click.Context, lock_timeout: float, state: Path | None, as_json: bool
) -> None:
    """Bring every event in the settings file up to date (exit 0 done, 1 failures, 3 locked)."""
    path = ctx.parent.params.get("config") or Path(CONFIG_NAME)
    try:
        plan = sync_plan(load_config(path), path.resolve().parent, state, None)
    except (ConfigError, StorageError, ValueError, TypeError) as err:
        raise click.UsageError(f"{path}: {err}") from err
    try:
        report = sync(plan, lock_timeout, Progress(enabled=not as_json))
    except LockHeld as err:
        _fail(str(err), as_json, EXIT_LOCKED)
    for result in report.results:
        click.echo(event_line(result.to_json()), err=True)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    sys.exit(report.exit_code)


def event_line(event: dict) -> str:
    """One log line per event saying what changed."""
    if "error" in event:
        return f"{event['event']}: FAILED: {event['error']}"
    manifest = "manifest updated" if event["manifest_changed"] else "manifest unchanged"
    skipped = f", {len(event['skipped'])} skipped" if event["skipped"] else ""
    return (
        f"{event['event']}: {event['photos']} photos, {event['decoded']} decoded, "
        f"{event['uploaded']} uploaded, {event['reused']} reused{skipped}, {manifest}"
    )
