"""gallerypipe.toml and GALLERYPIPE_* variables on the command line, through settings.py.

The settings file is read and checked once, before any command runs (`--config FILE` before or
after the command name, or GALLERYPIPE_CONFIG, or ./gallerypipe.toml when present); its values
become click's defaults for every command that takes them, a command's own table ([verify],
[prune], …) winning over [store] and [ingest]. Options made by `setting_option` parse what the
command line and the variables give with the same `Setting.parse` the file went through.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from .settings import SETTINGS, FileSettings, Setting, SettingsError, read_file

CONFIG_NAME = "gallerypipe.toml"
_PATH, _FILE = "gallerypipe.config", "gallerypipe.settings"  # keys in click's ctx.meta


class ConfigError(ValueError):
    """The settings file cannot be used; the message names it, the table and the key."""


class BadSettings(click.ClickException):
    """A settings file that cannot be used: one `Error:` line and exit 2, like a bad option
    (without the usage lines, which would not help: the file is at fault, not the command)."""

    exit_code = 2


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
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: {err}") from err


def load_settings(path: Path | None) -> FileSettings:
    """The settings file, checked; relative paths in it are from its folder."""
    config = load_config(path)
    try:
        return read_file(config, (path or Path(CONFIG_NAME)).parent)
    except SettingsError as err:
        raise ConfigError(f"{path or CONFIG_NAME}: {err}") from err


def command_defaults(file: FileSettings, params: Mapping[str, set[str]]) -> dict[str, dict]:
    """click's default_map: for each command (name → its parameter names), the [store], [ingest]
    and [sync] values it takes, then its own table's."""
    unknown = sorted(set(file.commands) - set(params))
    if unknown:
        raise ConfigError(f"[{unknown[0]}]: no such table; {_tables(params)}")
    shared = {**file.ingest, **file.store, **file.sync}
    defaults = {}
    for name, taken in params.items():
        own = _own_table(name, file.commands.get(name, {}), taken)
        defaults[name] = {**{k: v for k, v in shared.items() if k in taken}, **own}
    return defaults


def _own_table(name: str, table: Mapping[str, Any], taken: set[str]) -> dict[str, Any]:
    by_name = {s.name: s for s in SETTINGS.values()}
    values = {}
    for key, value in table.items():
        setting = by_name.get(key)
        param = setting.key if setting else key
        if param not in taken:
            raise ConfigError(f"[{name}] {key}: `gallerypipe {name}` has no such setting")
        try:
            values[param] = setting.parse(value) if setting else value
        except SettingsError as err:
            raise ConfigError(f"[{name}] {key}: {err}") from err
    return values


def _tables(params: Mapping[str, set[str]]) -> str:
    return "the tables are [store], [ingest], [clock_offsets], [sync], [[events]] and " + ", ".join(
        f"[{name}]" for name in params
    )


# ---- click ----


class SettingType(click.ParamType):
    """A click type that parses with the setting's own parser (so --help and errors agree)."""

    def __init__(self, setting: Setting) -> None:
        self.setting = setting
        self.name = setting.name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            if self.setting.multiple:  # click hands over one item at a time
                return self.setting.parse([value])[0]
            return self.setting.parse(value)
        except SettingsError as err:
            self.fail(str(err), param, ctx)


def setting_option(key: str, **extra: Any) -> Callable:
    """The click option of settings.SETTINGS[key]: its help, default, variable and parser."""
    s = SETTINGS[key]
    decls = [s.option, s.key] if s.param else [s.option]
    common = {"help": s.help, "envvar": s.envvar}
    if s.flag:
        return click.option(*decls, is_flag=True, **common, **extra)
    default = extra.pop("default", s.default)
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    return click.option(
        *decls,
        type=SettingType(s),
        default=shown if not s.multiple else default,
        show_default=shown not in (None, ()),
        metavar=s.metavar,
        multiple=s.multiple,
        **common,
        **extra,
    )


def config_option(group: bool = False) -> click.Option:
    """--config FILE: the group's is remembered; each command reads the file once, eagerly, so
    its values are the defaults of the options that follow (`gallerypipe sync --config F`)."""
    return click.Option(
        ["--config"],
        type=click.Path(path_type=Path, dir_okay=False),
        envvar="GALLERYPIPE_CONFIG" if group else None,
        is_eager=True,
        expose_value=False,
        callback=_remember if group else _use_config,
        help=f"Settings file (default: ./{CONFIG_NAME} when present; also GALLERYPIPE_CONFIG).",
    )


def _remember(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta[_PATH] = value


def _use_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if ctx.resilient_parsing:
        return
    _remember(ctx, _param, value)
    path = ctx.meta.get(_PATH)
    try:
        file = load_settings(path)
        root = ctx.find_root().command
        params = {
            name: {p.name for p in command.params if p.name}
            for name, command in getattr(root, "commands", {}).items()
        }
        defaults = command_defaults(file, params)
    except ConfigError as err:
        raise BadSettings(str(err)) from err
    ctx.meta[_FILE] = file
    ctx.default_map = defaults.get(ctx.info_name or "", {})


def settings_in_force(ctx: click.Context) -> tuple[Path, FileSettings]:
    """The settings file the command read (./gallerypipe.toml when none was named)."""
    return ctx.meta.get(_PATH) or Path(CONFIG_NAME), ctx.meta[_FILE]


def add_config_option(group: click.Group) -> None:
    """Give every command of the group its --config (after the commands are defined)."""
    for command in group.commands.values():
        if not any(p.name == "config" for p in command.params):
            command.params.insert(0, config_option())
