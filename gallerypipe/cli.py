"""The command line: a thin layer of click over the plain functions in the stage modules."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .bundle import FrontMatterError
from .dedup import DEFAULT_THRESHOLD
from .header import HeaderNotFound
from .pipeline import DEFAULT_TITLE, IngestError, IngestOptions, IngestReport, ingest
from .renditions import RenderSettings
from .storage import StorageError

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


@click.group()
@click.version_option(package_name="gallerypipe")
def main() -> None:
    """Turn the camera cards of an event into a published photo gallery."""


@main.command("ingest")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--bundle", required=True, type=click.Path(path_type=Path), help="Hugo page bundle.")
@click.option(
    "--store",
    default="published",
    show_default=True,
    help="Where renditions and the manifest go: a local folder (or s3://bucket/prefix).",
)
@click.option("--header", type=click.Path(path_type=Path), help="Use this photo as the header.")
@click.option(
    "--threshold", default=DEFAULT_THRESHOLD, show_default=True, type=click.IntRange(0, 64)
)
@click.option("--keep-all", is_flag=True, help="Skip deduplication.")
@click.option("--jobs", default=0, type=click.IntRange(0), help="Worker processes (0: all cores).")
@click.option("--transfers", default=8, show_default=True, type=click.IntRange(1))
@click.option("--title-template", default=DEFAULT_TITLE, show_default=True)
@click.option("--sizes", default="2048,1024,480", show_default=True, help="Long edges, px.")
@click.option("--quality", default=85, show_default=True, type=click.IntRange(1, 100))
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def ingest_command(sources, bundle, store, header, threshold, keep_all, jobs, transfers,
                   title_template, sizes, quality, dry_run, as_json) -> None:  # fmt: skip
    """Ingest camera folders SOURCES into a Hugo page bundle and publish renditions."""
    options = IngestOptions(
        sources=tuple(sources),
        bundle=bundle,
        store=store,
        header=header,
        threshold=threshold,
        keep_all=keep_all,
        jobs=jobs,
        transfers=transfers,
        dry_run=dry_run,
        title_template=title_template,
        render=RenderSettings(sizes=_sizes(sizes), jpeg_quality=quality),
    )
    try:
        report = ingest(options, Progress(enabled=not as_json))
    except (IngestError, HeaderNotFound, FrontMatterError, StorageError) as err:
        _fail(str(err), as_json)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        click.echo(summary(report))


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


def _fail(message: str, as_json: bool) -> None:
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
    if report.ignored:
        lines.append("ignored: " + ", ".join(f"{n} {why}" for why, n in report.ignored))
    if report.skipped:
        lines.append(f"problems ({len(report.skipped)}):")
        lines += [f"  {p.path}: {p.reason}" for p in report.skipped]
    return "\n".join(lines)
