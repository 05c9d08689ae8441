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
