"""The settings file (gallerypipe.toml): defaults for every command's options.

[store]                     # shared by every command
url = "s3://bucket/events"
endpoint_url = "http://127.0.0.1:7480"
path_style = true

[ingest]                    # per command, option names with - or _
threshold = 6
clock_offset = ["NIKON D750=-3600"]

[clock_offsets]             # the same for ingest, header and cameras: CAMERA = seconds
"Canon EOS 5D Mark III" = 65
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from .pipeline import IngestOptions
from .renditions import RenderSettings
from .storage import StoreOptions, safe_key
from .sync import Event, SyncPlan

CONFIG_NAME = "gallerypipe.toml"
STORE_COMMANDS = ("ingest", "verify", "prune")
ANALYSIS_COMMANDS = ("ingest", "header", "cameras")


class ConfigError(ValueError):
    pass


def load_config(path: Path | None) -> dict:
    """The parsed settings file; an absent default file is an empty config."""
    if path is None:
        path = Path(CONFIG_NAME)
        if not path.exists():
            return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: {err}") from err


def command_defaults(config: dict) -> dict[str, dict]:
    """click's default_map: the [store] table feeds every command that takes --store."""
    store = {_option(k): v for k, v in config.get("store", {}).items()}
    if "url" in store:
        store["store"] = store.pop("url")
    defaults: dict[str, dict] = {}
    for name, table in config.items():
        if isinstance(table, dict) and name not in ("store", "clock_offsets"):
            defaults[name] = {_option(k): v for k, v in table.items()}
    for name in STORE_COMMANDS:
        defaults[name] = {**store, **defaults.get(name, {})}
    offsets = clock_offsets(config)
    for name in ANALYSIS_COMMANDS:
        table = defaults.setdefault(name, {})
        table.pop("clock_offset", None)
        if offsets:
            table["clock_offsets"] = offsets
    return defaults


def clock_offsets(config: dict) -> list[str]:
    """[clock_offsets] CAMERA = seconds, then [ingest] clock_offset = ["CAMERA=±SECONDS"]."""
    table = config.get("clock_offsets", {})
    if not isinstance(table, dict):
        raise ConfigError("[clock_offsets] must be a table of CAMERA = seconds")
    listed = config.get("ingest", {}).get("clock_offset", [])
    if isinstance(listed, str):
        listed = [listed]
    for camera, seconds in table.items():
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ConfigError(f"[clock_offsets] {camera!r}: give seconds as a number")
    return [f"{camera}={seconds:+}" for camera, seconds in table.items()] + [str(s) for s in listed]


def _option(name: str) -> str:
    return name.replace("-", "_")


def sync_plan(config: dict, base: Path, state: Path | None, lock_dir: Path | None) -> SyncPlan:
    """The events of a library and the options they share, from a parsed settings file.

    Relative paths are taken from the settings file's folder.

        [[events]]
        name = "spark-2018"
        sources = ["cards/spark-a", "cards/spark-b"]
        bundle = "site/content/stories/spark-2018"
        prefix = "spark-2018"        # under the [store] url; the name by default
    """
    events = config.get("events")
    if not isinstance(events, list) or not events:
        raise ConfigError("no [[events]] in the settings file")
    store = config.get("store", {})
    url = str(store.get("url", "published"))
    defaults = IngestOptions(
        sources=(),
        bundle=base,
        store_options=_store_options(store),
        **_ingest_options(config.get("ingest", {})),
    )
    state = state or base / str(config.get("sync", {}).get("state", ".gallerypipe/state.sqlite"))
    lock_dir = lock_dir or state.parent
    return SyncPlan(tuple(_event(e, url, base) for e in events), defaults, state, lock_dir)


def _event(table: object, store_url: str, base: Path) -> Event:
    if not isinstance(table, dict) or "name" not in table or "bundle" not in table:
        raise ConfigError(f"each [[events]] needs a name and a bundle: {table!r}")
    sources = table.get("sources")
    if not isinstance(sources, list) or not sources:
        raise ConfigError(f"event {table['name']!r}: sources must be a list of folders")
    prefix = str(table.get("prefix", table["name"])).strip("/")
    safe_key(prefix)
    return Event(
        name=str(table["name"]),
        sources=tuple(base / str(s) for s in sources),
        bundle=base / str(table["bundle"]),
        store=f"{store_url.rstrip('/')}/{prefix}"
        if store_url.startswith("s3://")
        else str(base / store_url / prefix),
    )


_STORE_KEYS = {"endpoint_url", "profile", "region", "path_style", "acl", "transfers"}
_INGEST_KEYS = {"threshold", "keep_all", "jobs", "executor", "title_template"}


def _store_options(table: dict) -> StoreOptions:
    options = {_option(k): v for k, v in table.items() if _option(k) != "url"}
    unknown = set(options) - _STORE_KEYS
    if unknown:
        raise ConfigError(f"[store]: unknown settings {sorted(unknown)}")
    return StoreOptions(**options)


def _ingest_options(table: dict) -> dict:
    options = {_option(k): v for k, v in table.items()}
    render = {}
    if "sizes" in options:
        render["sizes"] = tuple(int(s) for s in options.pop("sizes"))
    if "quality" in options:
        render["jpeg_quality"] = int(options.pop("quality"))
    unknown = set(options) - _INGEST_KEYS
    if unknown:
        raise ConfigError(f"[ingest]: settings sync cannot use {sorted(unknown)}")
    return {**options, "render": RenderSettings(**render)}
