"""The settings file (gallerypipe.toml): defaults for every command's options.

[store]                     # shared by every command
url = "s3://bucket/events"
endpoint_url = "http://127.0.0.1:7480"
path_style = true

[ingest]                    # per command, option names with - or _
threshold = 6
"""

from __future__ import annotations

import tomllib
from pathlib import Path

CONFIG_NAME = "gallerypipe.toml"
STORE_COMMANDS = ("ingest", "verify", "prune")


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
        if isinstance(table, dict) and name != "store":
            defaults[name] = {_option(k): v for k, v in table.items()}
    for name in STORE_COMMANDS:
        defaults[name] = {**store, **defaults.get(name, {})}
    return defaults


def _option(name: str) -> str:
    return name.replace("-", "_")
