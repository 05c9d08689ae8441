"""Every setting gallerypipe takes, its default, and how a value is read and checked.

One model, as sigal's and pelican's settings.py: the command line, the GALLERYPIPE_* variables and
gallerypipe.toml all give values to the same `Setting`s, and every value, whichever way it came,
goes through that setting's `parse` (which accepts the command line's text and the TOML's native
form alike, and is idempotent, so a value parsed once may be parsed again). `ingest_options` is
the one place where values become an `IngestOptions`: `gallerypipe ingest`, `header` and `sync`
all go through it.

    [store]                     # how to reach the store: ingest, verify, prune and sync
    url = "s3://bucket/events"
    endpoint_url = "http://127.0.0.1:7480"
    path_style = true

    [ingest]                    # any ingest setting, by its long name (- or _)
    threshold = 6
    sizes = [2048, 1024]        # or "2048,1024", as on the command line
    clock_offset = ["NIKON D750=-3600"]

    [clock_offsets]             # the same as a table: CAMERA = seconds
    "Canon EOS 5D Mark III" = 65
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import features

from .cache import default_cache_path
from .clock import ClockOffset, ClockOffsetError, parse_offset
from .dedup import DEFAULT_THRESHOLD
from .pipeline import DEFAULT_TITLE, IngestOptions
from .renditions import FORMATS, RenderSettings
from .stores import StorageError, StoreOptions, check_store_url, safe_key
from .sync import Event, SyncPlan

MAX_OFFSET = 100 * 366 * 86400  # seconds; a camera clock left at its factory date is years off
TITLE_FIELDS = {  # a value of each field make_title fills in, to check a template before any work
    "event": "Spark 2018",
    "n": 1,
    "date": "2018-06-14",
    "time": "10:15",
    "camera": "NIKON D750",
    "filename": "DSC_0042.JPG",
}


class SettingsError(ValueError):
    """A value no setting can take; the message says what was expected (one line)."""


@dataclass(frozen=True)
class Setting:
    name: str  # the key in gallerypipe.toml; the option is --name with - for _
    parse: Callable[[Any], Any]
    default: Any
    help: str
    param: str = ""  # the click parameter's name, when it differs from name
    envvar: str | None = None
    metavar: str | None = None
    flag: bool = False  # a switch: --name alone sets it
    multiple: bool = False  # repeatable on the command line; a list in the TOML
    cli: str = ""  # the option, when it is not --name

    @property
    def key(self) -> str:
        """The parameter name values are keyed by (click's, and IngestOptions-like)."""
        return self.param or self.name

    @property
    def option(self) -> str:
        return self.cli or "--" + self.name.replace("_", "-")

    def read(self, value: Any) -> Any:
        """The parsed value; the default when not given."""
        return self.default if value is None else self.parse(value)


# ---- parsers: each takes the command line's text or the TOML's value and returns one type ----


def whole(low: int, high: int | None = None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            value = int(value)
        span = f"from {low} to {high}" if high is not None else f"of at least {low}"
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"expected a whole number {span}; got {value!r}")
        if value < low or (high is not None and value > high):
            raise SettingsError(f"expected a whole number {span}; got {value}")
        return value

    return parse


def number(low: float) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= low:
            raise SettingsError(f"expected a number of at least {low}; got {value!r}")
        return float(value)

    return parse


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise SettingsError(f"expected true or false; got {value!r}")


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise SettingsError(f"expected a string; got {value!r}")
    return value


def path(value: Any) -> Path:
    """A file's path (it need not exist yet; a folder is refused)."""
    if not isinstance(value, Path) and (not isinstance(value, str) or not value.strip()):
        raise SettingsError(f"expected a file path; got {value!r}")
    file = Path(value)
    if file.is_dir():
        raise SettingsError(f"{file} is a folder; give a file in it")
    return file


def _items(value: Any, what: str) -> list:
    """A list from 'a,b' (the command line), [a, b] (TOML), a tuple, or one value."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    raise SettingsError(f"expected {what}; got {value!r}")


def sizes(value: Any) -> tuple[int, ...]:
    """Long edges in pixels: "2048,1024,480" or [2048, 1024, 480]."""
    expected = "long edges in pixels such as 2048,1024,480 (whole numbers from 16 to 65535)"
    try:
        edges = tuple(whole(16, 65535)(part) for part in _items(value, expected))
    except SettingsError:
        raise SettingsError(f"expected {expected}; got {value!r}") from None
    if not edges:
        raise SettingsError(f"expected {expected}; got {value!r}")
    if len(set(edges)) != len(edges):
        raise SettingsError(f"each size once, please; got {','.join(map(str, edges))}")
    return edges


def formats(value: Any) -> tuple[str, ...]:
    """Rendition formats: "jpeg,webp" or ["jpeg", "webp"]; jpeg always."""
    names = tuple(str(f).strip().lower() for f in _items(value, "formats such as jpeg,webp"))
    if any(f not in FORMATS for f in names) or "jpeg" not in names:
        raise SettingsError(_formats_expected(names, value))
    if "avif" in names and not features.check("avif"):
        raise SettingsError("this Pillow cannot write AVIF (features.check('avif') is false)")
    return tuple(dict.fromkeys(names))


def _formats_expected(names: tuple[str, ...], value: Any) -> str:
    """What formats accepts, and what it got."""
    others = ", ".join(f for f in FORMATS if f != "jpeg")
    return f"expected jpeg plus any of {others}; got " + (",".join(names) or repr(value))


def title_template(value: Any) -> str:
    """A format string of TITLE_FIELDS; checked by formatting it with a value of each field."""
    template = text(value)
    fields = ", ".join("{" + name + "}" for name in TITLE_FIELDS)
    try:
        template.format(**TITLE_FIELDS)
    except KeyError as err:
        raise SettingsError(f"unknown field {{{err.args[0]}}}; the fields are {fields}") from None
    except IndexError:
        raise SettingsError(f"name each field; the fields are {fields}") from None
    except (ValueError, AttributeError, TypeError) as err:
        raise SettingsError(f"not a valid template ({err}); the fields are {fields}") from None
    return template


def clock_offsets(value: Any) -> tuple[ClockOffset, ...]:
    """CAMERA=±SECONDS specs (one or a list), or ClockOffsets already parsed."""
    specs = [value] if isinstance(value, str | ClockOffset) else value
    if not isinstance(specs, list | tuple):
        raise SettingsError(f"expected CAMERA=±SECONDS or a list of them; got {value!r}")
    offsets = []
    for spec in specs:
        try:
            offset = spec if isinstance(spec, ClockOffset) else parse_offset(text(spec))
        except ClockOffsetError as err:
            raise SettingsError(str(err)) from None
        offsets.append(_bounded(offset))
    return tuple(offsets)


def _bounded(offset: ClockOffset) -> ClockOffset:
    if abs(offset.seconds) > MAX_OFFSET:
        raise SettingsError(
            f"clock offset {offset.camera}={offset.seconds:+g}: more than 100 years; give seconds"
        )
    return offset


def executor(value: Any) -> str:
    url = text(value)
    if not re.fullmatch(r"dask://[^/\s]+:\d+", url):
        raise SettingsError(f"expected dask://HOST:PORT; got {url!r}")
    return url


def store_url(value: Any) -> str:
    """A URL a registered store serves (stores.STORES), or a local folder."""
    url = text(value)
    if not url.strip():
        raise SettingsError("expected a local folder or a store URL such as s3://bucket/prefix")
    try:
        check_store_url(url)
    except StorageError as err:
        raise SettingsError(str(err)) from None
    return url


def endpoint(value: Any) -> str:
    url = text(value)
    if not re.match(r"https?://[^/\s]", url):
        raise SettingsError(f"expected an http:// or https:// URL; got {url!r}")
    return url


# ---- the settings ----

_RENDER = RenderSettings()
STORE = (
    Setting(
        "url",
        store_url,
        "published",
        "A local folder, or s3://bucket/prefix.",
        param="store",
        cli="--store",
        envvar="GALLERYPIPE_STORE",
        metavar="URL",
    ),
    Setting(
        "endpoint_url",
        endpoint,
        None,
        "An S3-compatible server, e.g. http://127.0.0.1:7480 (default: AWS).",
        envvar="GALLERYPIPE_ENDPOINT_URL",
        metavar="URL",
    ),
    Setting(
        "profile",
        text,
        None,
        "AWS profile for credentials.",
        envvar="GALLERYPIPE_PROFILE",
        metavar="NAME",
    ),
    Setting(
        "region",
        text,
        None,
        "The bucket's region (default: the profile's or AWS_REGION).",
        envvar="GALLERYPIPE_REGION",
        metavar="REGION",
    ),
    Setting(
        "path_style",
        boolean,
        False,
        "Address the bucket in the path (http://host/bucket/key), as most self-hosted "
        "servers need.",
        envvar="GALLERYPIPE_PATH_STYLE",
        flag=True,
    ),
    Setting(
        "acl",
        text,
        None,
        "Canned ACL, e.g. public-read (none by default).",
        envvar="GALLERYPIPE_ACL",
        metavar="ACL",
    ),
    Setting(
        "transfers",
        whole(1),
        StoreOptions.transfers,
        "Concurrent uploads, reads and deletes.",
        envvar="GALLERYPIPE_TRANSFERS",
        metavar="N",
    ),
)

INGEST = (
    Setting(
        "threshold",
        whole(0, 64),
        DEFAULT_THRESHOLD,
        "Near duplicates: how many of the 64 phash bits may differ.",
        metavar="0-64",
    ),
    Setting("keep_all", boolean, False, "Skip deduplication.", flag=True),
    Setting("jobs", whole(0), 0, "Worker processes (0: all cores).", metavar="N"),
    Setting(
        "executor",
        executor,
        None,
        "dask://HOST:PORT: run per-photo work on a Dask cluster (workers read sources by path).",
        envvar="GALLERYPIPE_EXECUTOR",
        metavar="URL",
    ),
    Setting(
        "title_template",
        title_template,
        DEFAULT_TITLE,
        "Title of a photo without a caption; fields "
        + ", ".join("{" + f + "}" for f in TITLE_FIELDS)
        + ".",
        metavar="TEMPLATE",
    ),
    Setting(
        "event",
        text,
        None,
        "Short event name for titles ({event}); default: the bundle's folder name.",
        metavar="NAME",
    ),
    Setting("sizes", sizes, _RENDER.sizes, "Long edges of the renditions, px.", metavar="PX,PX,…"),
    Setting(
        "quality",
        whole(1, 100),
        _RENDER.jpeg_quality,
        "JPEG quality of the renditions.",
        metavar="1-100",
    ),
    Setting(
        "formats",
        formats,
        _RENDER.formats,
        "Rendition formats: jpeg plus any of webp, avif.",
        metavar="jpeg,webp,…",
    ),
    Setting(
        "webp_quality",
        whole(1, 100),
        _RENDER.webp_quality,
        "WebP quality (when --formats has webp).",
        metavar="1-100",
    ),
    Setting(
        "avif_quality",
        whole(1, 100),
        _RENDER.avif_quality,
        "AVIF quality (when --formats has avif).",
        metavar="1-100",
    ),
    Setting("strip_all", boolean, False, "Publish no EXIF at all.", flag=True),
    Setting(
        "keep_gps", boolean, False, "Keep the GPS position in published renditions.", flag=True
    ),
    Setting(
        "clock_offset",
        clock_offsets,
        (),
        "Shift a camera's times (CAMERA: make, model, serial or folder). Repeatable.",
        param="clock_offsets",
        metavar="CAMERA=±SECONDS",
        multiple=True,
    ),
    Setting(
        "include_rejected",
        boolean,
        False,
        "Keep photos rated -1 (never as header).",
        flag=True,
    ),
    Setting("min_rating", whole(0, 5), None, "Keep only photos rated at least N.", metavar="0-5"),
    Setting(
        "cache",
        path,
        None,
        "Analysis cache file (default: ~/.cache/gallerypipe/analysis.sqlite).",
        envvar="GALLERYPIPE_CACHE",
        metavar="FILE",
    ),
    Setting("no_cache", boolean, False, "Analyse every photo again.", flag=True),
)

SYNC = (
    Setting(
        "state",
        path,
        Path(".gallerypipe/state.sqlite"),
        "The analysis cache every event shares (default: .gallerypipe/state.sqlite beside the "
        "settings file).",
        metavar="FILE",
    ),
    Setting(
        "lock_timeout",
        number(0),
        0.0,
        "Seconds to wait for another sync's lock before exiting 3.",
        metavar="SECONDS",
    ),
)

SETTINGS: dict[str, Setting] = {s.key: s for s in STORE + INGEST + SYNC}
STORE_URL = SETTINGS["store"]
PATHS = ("cache", "state")  # relative paths in a settings file are from the file's folder


# ---- values → records ----


def resolve(values: Mapping[str, Any], settings: Iterable[Setting]) -> dict[str, Any]:
    """Each setting's parsed value from values (keyed by parameter name), else its default."""
    return {s.key: s.read(values.get(s.key)) for s in settings}


def store_options(values: Mapping[str, Any]) -> StoreOptions:
    v = resolve(values, STORE)
    return StoreOptions(
        endpoint_url=v["endpoint_url"],
        profile=v["profile"],
        region=v["region"],
        path_style=v["path_style"],
        acl=v["acl"],
        transfers=v["transfers"],
    )


def render_settings(values: Mapping[str, Any]) -> RenderSettings:
    v = resolve(values, INGEST)
    return RenderSettings(
        sizes=v["sizes"],
        jpeg_quality=v["quality"],
        formats=v["formats"],
        webp_quality=v["webp_quality"],
        avif_quality=v["avif_quality"],
        metadata="none" if v["strip_all"] else "minimal",
        keep_gps=v["keep_gps"],
    )


def analysis_cache(values: Mapping[str, Any]) -> Path | None:
    """The analysis cache file: None with no_cache, else cache, else the default place."""
    v = resolve(values, INGEST)
    return None if v["no_cache"] else v["cache"] or default_cache_path()


def ingest_options(
    values: Mapping[str, Any],
    *,
    sources: Iterable[Path],
    bundle: Path,
    header: Path | None = None,
    dry_run: bool = False,
) -> IngestOptions:
    """The one translation of settings (keyed by parameter name) into IngestOptions."""
    v = resolve(values, (*INGEST, STORE_URL))
    return IngestOptions(
        sources=tuple(sources),
        bundle=bundle,
        store=v["store"],
        header=header,
        threshold=v["threshold"],
        keep_all=v["keep_all"],
        jobs=v["jobs"],
        executor=v["executor"],
        store_options=store_options(values),
        dry_run=dry_run,
        title_template=v["title_template"],
        event=v["event"],
        cache=analysis_cache(values),
        render=render_settings(values),
        clock_offsets=v["clock_offsets"],
        include_rejected=v["include_rejected"],
        min_rating=v["min_rating"],
    )


def from_environment(settings: Iterable[Setting], environ: Mapping[str, str]) -> dict[str, Any]:
    """The values GALLERYPIPE_* variables give, parsed (for callers that are not click's)."""
    values = {}
    for s in settings:
        if s.envvar and environ.get(s.envvar):
            try:
                values[s.key] = s.parse(environ[s.envvar])
            except SettingsError as err:
                raise SettingsError(f"{s.envvar}: {err}") from None
    return values


# ---- gallerypipe.toml ----


@dataclass(frozen=True)
class FileSettings:
    """A settings file, checked: values keyed by parameter name, relative paths made absolute."""

    store: Mapping[str, Any]  # [store]
    ingest: Mapping[str, Any]  # [ingest] with [clock_offsets]
    sync: Mapping[str, Any]  # [sync]
    commands: Mapping[str, Mapping[str, Any]]  # [verify], [prune], … : checked by the CLI
    events: tuple[Any, ...]  # [[events]], checked by the sync plan
    base: Path  # the file's folder


TOP_LEVEL = ("store", "ingest", "clock_offsets", "sync", "events")


def read_file(config: Mapping[str, Any], base: Path) -> FileSettings:
    """Check every table of a parsed settings file; SettingsError names the table and the key."""
    ingest = _table(config, "ingest", INGEST, base)
    extra = _offset_table(config.get("clock_offsets", {}))
    if extra:
        ingest["clock_offsets"] = extra + ingest.get("clock_offsets", ())
    store = _table(config, "store", STORE, base)
    if "store" in store and not store["store"].startswith("s3://"):
        store["store"] = str(base / store["store"].removeprefix("file://"))
    commands = {
        name: {k.replace("-", "_"): v for k, v in _mapping(config, name).items()}
        for name, table in config.items()
        if name not in TOP_LEVEL
    }
    events = config.get("events", [])
    if not isinstance(events, list):
        raise SettingsError("[[events]]: expected an array of tables")
    sync = _table(config, "sync", SYNC, base)
    return FileSettings(store, ingest, sync, commands, tuple(events), base)


def _mapping(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    table = config.get(name, {})
    if not isinstance(table, dict):
        raise SettingsError(f"{name}: expected a table of settings, [{name}]")
    return table


def _table(
    config: Mapping[str, Any], name: str, settings: tuple[Setting, ...], base: Path
) -> dict[str, Any]:
    by_name = {s.name: s for s in settings}
    values = {}
    for key, value in _mapping(config, name).items():
        setting = by_name.get(key.replace("-", "_"))
        if setting is None:
            raise SettingsError(f"[{name}] {key}: unknown setting; {_belongs(key, name, by_name)}")
        if setting.key in PATHS and isinstance(value, str) and value.strip():
            value = str(base / value)
        try:
            values[setting.key] = setting.parse(value)
        except SettingsError as err:
            raise SettingsError(f"[{name}] {key}: {err}") from None
    return values


def _belongs(key: str, table: str, known: Mapping[str, Setting]) -> str:
    name = key.replace("-", "_")
    for section, settings in (("store", STORE), ("ingest", INGEST), ("sync", SYNC)):
        if section != table and name in {s.name for s in settings}:
            return f"it belongs in [{section}]"
    return "known: " + ", ".join(known)


def _offset_table(table: Any) -> tuple[ClockOffset, ...]:
    """[clock_offsets] CAMERA = seconds."""
    if not isinstance(table, dict):
        raise SettingsError("[clock_offsets]: expected a table of CAMERA = seconds")
    offsets = []
    for camera, seconds in table.items():
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise SettingsError(f"[clock_offsets] {camera!r}: give seconds as a number")
        try:
            offsets.append(_bounded(ClockOffset(camera, float(seconds))))
        except SettingsError as err:
            raise SettingsError(f"[clock_offsets] {err}") from None
    return tuple(offsets)


# ---- gallerypipe sync ----


def sync_plan(
    file: FileSettings,
    state: Path | None = None,
    lock_dir: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> SyncPlan:
    """The events of a library and the ingest settings they share, from a checked settings file.

    The store and ingest settings are the ones `gallerypipe ingest` would take from the same file
    and variables. Relative paths are taken from the settings file's folder.

        [[events]]
        name = "spark-2018"
        sources = ["cards/spark-a", "cards/spark-b"]
        bundle = "site/content/stories/spark-2018"
        prefix = "spark-2018"        # under the [store] url; the name by default
    """
    if not file.events:
        raise SettingsError("no [[events]] in the settings file")
    own_cache = sorted({"cache", "no_cache"} & set(file.ingest))
    if own_cache:
        raise SettingsError(
            f"[ingest] {own_cache[0]}: sync keeps its analysis cache in [sync] state"
        )
    store = {**file.store, **from_environment(STORE, environ)}
    ingest = {**file.ingest, **from_environment(INGEST, environ)}
    base = file.base.resolve()
    url = store.get("store") or str(base / STORE_URL.default)  # beside the file by default
    defaults = ingest_options({**ingest, **store}, sources=(), bundle=base)
    state = (state or base / resolve(file.sync, SYNC)["state"]).resolve()
    events = tuple(_event(table, url, base) for table in file.events)
    return SyncPlan(events, defaults, state, lock_dir or state.parent)


def _event(table: object, store_url: str, base: Path) -> Event:
    if not isinstance(table, dict) or "name" not in table or "bundle" not in table:
        raise SettingsError(f"each [[events]] needs a name and a bundle: {table!r}")
    sources = table.get("sources")
    if not isinstance(sources, list) or not sources:
        raise SettingsError(f"event {table['name']!r}: sources must be a list of folders")
    prefix = str(table.get("prefix", table["name"])).strip("/")
    try:
        safe_key(prefix)
    except StorageError as err:
        raise SettingsError(f"event {table['name']!r}: {err}") from None
    store = (
        f"{store_url.rstrip('/')}/{prefix}"
        if store_url.startswith("s3://")
        else str(Path(store_url).resolve() / prefix)
    )
    return Event(
        name=str(table["name"]),
        sources=tuple(base / str(s) for s in sources),
        bundle=base / str(table["bundle"]),
        store=store,
    )
