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
from .config import CONFIG_NAME, ConfigError, command_defaults, load_config
from .dedup import DEFAULT_THRESHOLD
from .header import HeaderNotFound
from .pipeline import DEFAULT_TITLE, IngestError, IngestOptions, IngestReport, ingest
from .publish import plan_prune, prune, verify
from .renditions import RenderSettings, RenderSettingsError
from .storage import StorageError, StoreOptions, open_store

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
            default=8,
            show_default=True,
            type=click.IntRange(1),
            envvar="GALLERYPIPE_TRANSFERS",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


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
@click.option("--header", type=click.Path(path_type=Path), help="Use this photo as the header.")
@click.option(
    "--threshold", default=DEFAULT_THRESHOLD, show_default=True, type=click.IntRange(0, 64)
)
@click.option("--keep-all", is_flag=True, help="Skip deduplication.")
@click.option("--jobs", default=0, type=click.IntRange(0), help="Worker processes (0: all cores).")
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
    "--cache",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="GALLERYPIPE_CACHE",
    help="Analysis cache file (default: ~/.cache/gallerypipe/analysis.sqlite).",
)
@click.option("--no-cache", is_flag=True, help="Analyse every photo again.")
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def ingest_command(**kwargs) -> None:
    """Ingest camera folders SOURCES into a Hugo page bundle and publish renditions."""
    as_json = kwargs.pop("as_json")
    cache = None if kwargs.pop("no_cache") else kwargs.pop("cache") or default_cache_path()
    kwargs.pop("cache", None)
    options = IngestOptions(
        cache=cache,
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


@main.command("verify")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def verify_command(store: str, as_json: bool, **kwargs) -> None:
    """Check that every object the manifest names exists with its size and sha256."""
    options = _store_options(kwargs)
    try:
        problems = verify(open_store(store, options), options.transfers)
    except StorageError as err:
        _fail(str(err), as_json)
    if as_json:
        click.echo(json.dumps({"ok": not problems, "problems": [asdict(p) for p in problems]}))
    else:
        for problem in problems:
            click.echo(f"{problem.key}: {problem.reason}")
        click.echo("verify: " + (f"{len(problems)} problems" if problems else "all objects match"))
    sys.exit(USER_MUST_ACT if problems else 0)


@main.command("prune")
@store_options
@click.option("--yes", is_flag=True, help="Delete for real (the default is a dry run).")
@click.option("--max-delete", type=click.IntRange(0), help="Refuse to delete more than this.")
@click.option("--keep-manifests", default=5, show_default=True, type=click.IntRange(0))
@click.option("--min-age", default=3600, show_default=True, type=click.IntRange(0), help="Seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def prune_command(store, yes, max_delete, keep_manifests, min_age, as_json, **kwargs) -> None:
    """Delete objects under the prefix that no kept manifest references."""
    storage = open_store(store, _store_options(kwargs))
    try:
        plan = plan_prune(storage, keep_manifests, float(min_age))
        deleted = prune(storage, plan, max_delete) if yes else []
    except (StorageError, ValueError) as err:
        _fail(str(err), as_json)
    if as_json:
        click.echo(json.dumps({**asdict(plan), "deleted": deleted, "dry_run": not yes}))
        return
    for key in plan.delete:
        click.echo(f"{'deleted' if yes else 'would delete'} {key}")
    click.echo(
        f"prune: {len(plan.delete)} unreferenced, {plan.keep} kept, {plan.too_recent} too recent"
        + ("" if yes else " (dry run: add --yes to delete)")
    )


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


def _fail(message: str, as_json: bool) -> NoReturn:
    if as_json:
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    click.echo(f"error: {message}", err=True)
    sys.exit(USER_MUST_ACT)


def summary(report: IngestReport) -> str:
    """What a photographer reads at the end of a run."""
    verb = "would publish" if report.dry_run else "published"
    lines = [
        f"found {report.found} photos; {verb} {report.photos}; "
        f"dropped {report.duplicates.dropped} duplicates",
        f"header: {report.header}",
        f"renditions: {report.uploaded} {'to upload' if report.dry_run else 'uploaded'}, "
        f"{report.reused} already in the store ({report.store})",
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
    if report.ignored:
        lines.append("ignored: " + ", ".join(f"{n} {why}" for why, n in report.ignored))
    if report.skipped:
        lines.append(f"problems ({len(report.skipped)}):")
        lines += [f"  {p.path}: {p.reason}" for p in report.skipped]
    return "\n".join(lines)
