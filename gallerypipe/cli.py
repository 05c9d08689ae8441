"""The command line: a thin layer of click over the plain functions in the stage modules."""

from __future__ import annotations

import errno
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import NoReturn

import click

from . import settings
from .cameras import describe, survey
from .config import (
    BadSettings,
    add_config_option,
    config_option,
    setting_option,
    settings_in_force,
)
from .failures import (
    Terminated,
    exit_code,
    os_error_line,
    stop_message,
    stop_on_signals,
    terminal_safe,
)
from .header import FACTORS, HeaderNotFound, why_first
from .model import DuplicateGroup
from .pipeline import (
    HeaderChoice,
    IngestError,
    IngestReport,
    OverlapError,
    choose_header,
    ingest,
)
from .publish import PrunePlan, plan_prune, prune, verify
from .review import Review, review, write_contact_sheet
from .scan import counted
from .sites import SiteError
from .storage import StorageError, StoreOptions, open_store
from .sync import EXIT_LOCKED, LockHeld, sync

USER_MUST_ACT = 1
BAD_OPTION = 2


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


def _echo(message: str = "", err: bool = False) -> None:
    """click.echo with control characters escaped: names and titles come from the cards."""
    click.echo(terminal_safe(message), err=err)


class _Guarded(click.Group):
    """Every command ends in one line, never a traceback: Ctrl-C exits 130, SIGTERM 143, and an
    OSError (permissions, disk full, read-only, name too long) 1, naming the path."""

    def invoke(self, ctx: click.Context):
        try:
            with stop_on_signals():
                return super().invoke(ctx)
        except (KeyboardInterrupt, Terminated) as err:
            _echo(f"error: {stop_message(err)}", err=True)
            sys.exit(exit_code(err))
        except OSError as err:
            if err.errno == errno.EPIPE:
                raise  # click's own handling: stdout went away
            _echo(f"error: {os_error_line(err)}", err=True)
            sys.exit(USER_MUST_ACT)


# Options more than one command takes alike; each setting's help, default, variable and parser
# are in settings.py.
_THRESHOLD = setting_option("threshold")
_JOBS = setting_option("jobs")


def store_options(command):
    """--store and how to reach it; each also from GALLERYPIPE_* variables and the config file."""
    return _with_options(command, [setting_option(s.key) for s in settings.STORE])


def _with_options(command, options: list):
    """Apply click options so that --help lists them in the order given."""
    for option in reversed(options):
        command = option(command)
    return command


def analysis_options(command):
    """Options that change what is analysed and how it is ordered: ingest, header, cameras."""
    names = ("clock_offsets", "jobs", "executor", "cache", "no_cache")
    return _with_options(command, [setting_option(name) for name in names])


def selection_options(command):
    """Options that decide which photos a gallery holds and its header: ingest and header."""
    header = click.option(
        "--header", type=click.Path(path_type=Path), help="Use this photo as the header."
    )
    return header(grouping_options(command))


def grouping_options(command):
    """Options that decide which photos a gallery holds: ingest, header and dedup alike."""
    options = [
        *(setting_option(n) for n in ("threshold", "keep_all", "include_rejected", "min_rating")),
    ]
    return analysis_options(_with_options(command, options))


def _analysis_kwargs(kwargs: dict) -> dict:
    """cache and clock offsets from the option values (popped from kwargs)."""
    values = {key: kwargs.pop(key) for key in ("cache", "no_cache", "clock_offsets")}
    return {
        "cache": settings.analysis_cache(values),
        "clock_offsets": settings.resolve(values, settings.INGEST)["clock_offsets"],
    }


def _store_options(kwargs: dict) -> StoreOptions:
    return settings.store_options({s.key: kwargs.pop(s.key) for s in settings.STORE[1:]})


@click.group(cls=_Guarded, params=[config_option(group=True)])
@click.version_option(package_name="gallerypipe")
def main() -> None:
    """Turn the camera cards of an event into a published photo gallery."""


@main.command("ingest")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--bundle", required=True, type=click.Path(path_type=Path), help="Hugo page bundle.")
@store_options
@selection_options
@setting_option("title_template")
@setting_option("event")
@setting_option("sizes")
@setting_option("quality")
@setting_option("formats")
@setting_option("webp_quality")
@setting_option("avif_quality")
@setting_option("strip_all")
@setting_option("keep_gps")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what would be published; the store and the bundle are not touched.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def ingest_command(**kwargs) -> None:
    """Ingest camera folders SOURCES into a Hugo page bundle and publish renditions."""
    as_json = kwargs.pop("as_json")
    options = settings.ingest_options(
        kwargs,
        sources=kwargs["sources"],
        bundle=kwargs["bundle"],
        header=kwargs["header"],
        dry_run=kwargs["dry_run"],
    )
    try:
        report = ingest(options, Progress(enabled=not as_json))
    except OverlapError as err:
        _fail(str(err), as_json, BAD_OPTION)
    except (IngestError, HeaderNotFound, SiteError, StorageError) as err:
        _fail(str(err), as_json)
    if as_json:
        _echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        _echo(summary(report))
    if report.header_problem:  # published, but not with the header the user asked for
        problem = report.header_problem
        _echo(f"error: {problem.path}: {problem.reason}", err=True)
        sys.exit(USER_MUST_ACT)


@main.command("header")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@selection_options
@click.option("--explain", is_flag=True, help="Show the top five candidates and their scores.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def header_command(sources, explain: bool, as_json: bool, **kwargs) -> None:
    """Show the photo ingest would take as the header (writes nothing)."""
    options = settings.ingest_options(
        kwargs, sources=sources, bundle=Path(), header=kwargs["header"]
    )
    try:
        choice = choose_header(options)
    except (IngestError, HeaderNotFound) as err:
        _fail(str(err), as_json)
    if as_json:
        _echo(json.dumps(header_json(choice), ensure_ascii=False))
    else:
        _echo(header_text(choice, explain))


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
        _echo(json.dumps(payload, ensure_ascii=False))
        return
    for camera in cameras:
        _echo(describe(camera))
    for problem in problems:
        _echo(f"problem: {problem.path}: {problem.reason}")


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
    options = settings.ingest_options(kwargs, sources=sources, bundle=Path())
    try:
        result = review(options, Progress(enabled=not as_json))
    except IngestError as err:
        _fail(str(err), as_json)
    if html_path:
        write_contact_sheet(result, html_path)
    if as_json:
        _echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        _echo(dedup_summary(result))


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
        _echo(
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
            _echo(f"{problem.key}: {problem.reason}")
        found = _count(len(problems), "problem") if problems else "all match"
        _echo(f"verify: {_count(report.checked, 'object')} checked, {found}")
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
        _echo(json.dumps({**asdict(plan), "deleted": deleted, "dry_run": not yes}))
        return
    for key in plan.delete:
        _echo(f"{'deleted' if yes else 'would delete'} {key}")
    _echo(prune_summary(plan, yes))


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


def _fail(message: str, as_json: bool, code: int = USER_MUST_ACT) -> NoReturn:
    if as_json:
        _echo(json.dumps({"error": message}, ensure_ascii=False))
    _echo(f"error: {message}", err=True)
    sys.exit(code)


def dedup_summary(result: Review) -> str:
    groups = result.dedup.groups
    photos = len(result.dedup.kept) + result.dedup.dropped
    lines = [
        f"{_count(photos, 'photo')}: {_count(len(groups), 'group')} of duplicates, "
        f"{result.dedup.dropped} to drop; {len(result.skipped)} skipped"
    ]
    for group in groups:
        lines += _group_lines(result, group)
    lines += _ungrouped_exclusions(result)
    lines += [
        f"similar, kept (distance {s.distance}): {s.left.source.display} and "
        f"{s.right.source.display}: {s.reason}"
        for s in result.similar
    ]
    lines += [f"skipped {p.path}: {p.reason}" for p in result.skipped]
    return "\n".join(lines)


def _group_lines(result: Review, group: DuplicateGroup) -> list[str]:
    """The keeper and why, why it was left out if it was, then each duplicate, indented."""
    left_out = result.left_out(group.keep)
    lines = [f"keep {group.keep.source.display} ({group.why_kept})"]
    lines += [f"  left out: {left_out}"] if left_out else []
    return lines + [
        f"  {d.reason} (distance {d.distance}): {d.photo.source.display}" for d in group.duplicates
    ]


def _ungrouped_exclusions(result: Review) -> list[str]:
    """The photos left out that no group of duplicates names (a group's line says it already)."""
    groups = result.dedup.groups
    grouped = {p.source for g in groups for p in (g.keep, *(d.photo for d in g.duplicates))}
    return [
        f"left out {e.photo.source.display}: {e.reason}"
        for e in result.excluded
        if e.photo.source not in grouped
    ]


def summary(report: IngestReport) -> str:
    """What a photographer reads at the end of a run."""
    verb = "would publish" if report.dry_run else "published"
    lines = [
        f"found {_count(report.found, 'photo')}; {verb} {report.photos}; "
        f"dropped {_count(report.duplicates.dropped, 'duplicate')}",
        _header_line(report),
        f"renditions: {report.uploaded} {'to upload' if report.dry_run else 'uploaded'}, "
        f"{report.reused} already in the store ({report.store})",
        f"manifest: {_manifest_line(report)}",
        f"bundle: {report.bundle} ({_bundle_line(report)})",
    ]
    lines += _duplicate_lines(report)
    if report.dry_run:
        lines += _plan_lines(report)
    lines += _listed("kept in the bundle", [f"  {k.path}: {k.reason}" for k in report.kept])
    lines += _listed(
        "left out by rating", [f"  {e.photo.source.display}: {e.reason}" for e in report.excluded]
    )
    if report.ignored:
        lines.append("ignored: " + ", ".join(counted(n, why) for why, n in report.ignored))
    lines += _listed("skipped, not published", [f"  {p.path}: {p.reason}" for p in report.skipped])
    lines += _listed("warnings, photos used", [f"  {p.path}: {p.reason}" for p in report.warnings])
    return "\n".join(lines)


def _duplicate_lines(report: IngestReport) -> list[str]:
    return [
        f"  duplicate ({dup.reason}, distance {dup.distance}): "
        f"{dup.photo.source.display} → kept {group.keep.source.display}"
        for group in report.duplicates.groups
        for dup in group.duplicates
    ]


def _listed(title: str, rows: list[str]) -> list[str]:
    """A titled list with its length, or nothing when it is empty."""
    return [f"{title} ({len(rows)}):", *rows] if rows else []


def _plan_lines(report: IngestReport) -> list[str]:
    """What a dry run would write: every key the publish plan uploads, every bundle change."""
    changes = report.bundle_plan
    return [
        *(f"  would upload {key}" for key in report.plan.upload),
        *(f"  would add {report.bundle}/{rel}" for rel in changes.add),
        *(f"  would replace {report.bundle}/{rel}" for rel in changes.replace),
        *(f"  would remove {report.bundle}/{rel}" for rel in changes.remove),
    ]


def _header_line(report: IngestReport) -> str:
    problem = report.header_problem
    asked = f" (instead of --header {problem.path}: it could not be rendered)" if problem else ""
    return f"header: {report.header}{asked}"


def _bundle_line(report: IngestReport) -> str:
    changes, would = report.bundle_plan, "would be " if report.dry_run else ""
    counts = [
        f"{len(changes.add)} {would}added",
        f"{len(changes.replace)} {would}replaced",
        f"{len(changes.remove)} {would}removed",
    ]
    return ", ".join(counts) + f", {len(changes.unchanged)} unchanged files"


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
@setting_option("lock_timeout")
@setting_option("state", default=None)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_context
def sync_command(
    ctx: click.Context, lock_timeout: float, state: Path | None, as_json: bool
) -> None:
    """Bring every event in the settings file up to date (exit 0 done, 1 failures, 3 locked)."""
    path, file = settings_in_force(ctx)
    try:
        plan = settings.sync_plan(file, state)
    except settings.SettingsError as err:
        raise BadSettings(f"{path}: {err}") from err
    try:
        report = sync(plan, lock_timeout, Progress(enabled=not as_json))
    except LockHeld as err:
        _fail(str(err), as_json, EXIT_LOCKED)
    for result in report.results:
        _echo(event_line(result.to_json()), err=True)
    if as_json:
        _echo(json.dumps(report.to_json(), ensure_ascii=False))
    sys.exit(report.exit_code)


def event_line(event: dict) -> str:
    """One log line per event saying what changed."""
    if "error" in event:
        return f"{event['event']}: FAILED: {event['error']}"
    manifest = "manifest updated" if event["manifest_changed"] else "manifest unchanged"
    skipped = f", {len(event['skipped'])} skipped" if event["skipped"] else ""
    return (
        f"{event['event']}: {_count(event['photos'], 'photo')}, {event['decoded']} decoded, "
        f"{event['uploaded']} uploaded, {event['reused']} reused{skipped}, {manifest}"
    )


add_config_option(main)
