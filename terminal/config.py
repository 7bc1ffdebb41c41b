"""Load and validate `config.toml` (DESIGN.md "Configuration and the embedded default").

The file is read with `tomllib`; every section is a frozen dataclass below and every key is
checked: an unknown key, a wrong type or a bad value raises `ConfigError` naming the file, the key
and what is expected. `--config PATH` or `MEDPOS_CONFIG` choose the file (default: the embedded
`config.toml` at the project root); `MEDPOS_<SECTION>__<KEY>` environment variables override single
values and are parsed as the key's type.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from terminal.errors import ConfigError
from terminal.settlement.money import format_fen, parse_money

__all__ = ["Config", "DEFAULT_CONFIG_PATH", "TraceConfig", "load_config"]

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config.toml"
ENV_PREFIX = "MEDPOS_"


def _money(default: str, help: str = "") -> Any:
    return field(default=parse_money(default, "default"), metadata={"kind": "money", "help": help})


def _choice(default: str, *choices: str) -> Any:
    return field(default=default, metadata={"choices": choices})


def _positive(default: int | float) -> Any:
    return field(default=default, metadata={"min": 0})


@dataclass(frozen=True, slots=True)
class TerminalConfig:
    dev_no: str = ""
    fixmedins_code: str = ""
    fixmedins_name: str = ""
    inst_level: str = _choice("pharmacy", "pharmacy", "1", "2", "3")
    region: str = "330100"
    timezone: str = "Asia/Shanghai"
    data_dir: str = "var"
    demo: bool = False


@dataclass(frozen=True, slots=True)
class PlatformConfig:
    url: str = "http://127.0.0.1:8710"
    root_public_key: str = ""
    timeout_s: float = _positive(10.0)
    presettle_wait_s: float = _positive(1.5)
    sync_interval_s: float = _positive(30.0)
    batch_size: int = field(default=100, metadata={"min": 1, "max": 500})
    upload_deadline_h: int = _positive(24)
    retry_base_s: float = _positive(5.0)
    retry_cap_s: float = _positive(900.0)
    embedded: bool = False


@dataclass(frozen=True, slots=True)
class CardConfig:
    reader: str = ""
    sam: str = ""
    require_pin: bool = False
    virtual: bool = False


@dataclass(frozen=True, slots=True)
class QrConfig:
    source: str = _choice("none", "virtual", "camera", "video", "folder", "none")
    camera_index: int = _positive(0)
    video_path: str = ""
    folder_path: str = ""
    dedup_window_s: float = _positive(3.0)
    scanner: bool = True


@dataclass(frozen=True, slots=True)
class EcardConfig:
    clock_tolerance_s: int = _positive(300)
    max_lifetime_s: int = _positive(300)
    max_trust_list_age_days: int = _positive(7)


@dataclass(frozen=True, slots=True)
class RiskConfig:
    offline_max_fund_per_sale: int = _money("2000.00")
    offline_max_sales_per_person_day: int = _positive(3)
    offline_max_fund_per_person_day: int = _money("5000.00")
    max_unsynced_fund: int = _money("50000.00")
    max_sync_age_h: int = _positive(72)
    max_hotlist_age_days: int = _positive(7)


@dataclass(frozen=True, slots=True)
class PrinterConfig:
    kind: str = _choice("none", "file", "usb", "network", "none")
    path: str = "var/receipts"
    host: str = ""
    port: int = _positive(9100)
    usb_vendor: int = _positive(0)
    usb_product: int = _positive(0)
    width: int = field(default=32, metadata={"min": 32, "max": 48})  # 32: 58 mm paper, 48: 80 mm


@dataclass(frozen=True, slots=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = field(default=8700, metadata={"min": 1, "max": 65535})
    language: str = _choice("zh", "zh", "en")
    # the counter's bounds (issue 13): the most of one item on a line, and the total (yuan) above
    # which the cashier ticks "total checked with the customer" before confirming
    max_qty: int = field(default=999, metadata={"min": 1, "max": 100000})
    confirm_above: int = _money("1000.00", "a total above this needs a second confirm step")
    api_token: str = ""  # `POST /api/checkout`'s Bearer token; demo: generated when empty
    idle_signout_min: int = field(default=15, metadata={"min": 1})


@dataclass(frozen=True, slots=True)
class TillConfig:
    # the cash drawer (issue 13): the float it starts each closure period with, counted in the
    # drawer expected of the X report and the day's closure
    opening_float: int = _money("0.00", "the cash in the drawer at the start of the day")


@dataclass(frozen=True, slots=True)
class TraceConfig:
    """Traceability codes (trace-codes.md): dates are region-local `YYYY-MM-DD`."""

    allow_other: bool = True  # accept codes of format `other` (8 to 100 letters or digits)
    on_duplicate: str = _choice("refuse", "refuse", "warn")
    settle_required_from: str = "2025-07-01"  # insurance sales need codes from this date
    all_sales_from: str = "2026-01-01"  # self-pay sales too, from this date


@dataclass(frozen=True, slots=True)
class HisConfig:
    """his-api.md "Configuration": the hospital system's API (`/his/v1/call`)."""

    enabled: bool = False
    token: str = ""  # the Bearer token; required when enabled (demo: generated)
    cert_max_age_s: int = _positive(600)
    allow_id_number: bool = False
    defer_when_offline: bool = False
    defer_above: int = _money("2000.00")
    print_receipt: bool = False


_SECTIONS: dict[str, type] = {
    "terminal": TerminalConfig,
    "platform": PlatformConfig,
    "card": CardConfig,
    "qr": QrConfig,
    "ecard": EcardConfig,
    "risk": RiskConfig,
    "printer": PrinterConfig,
    "web": WebConfig,
    "till": TillConfig,
    "trace": TraceConfig,
    "his": HisConfig,
}


@dataclass(frozen=True, slots=True)
class Config:
    """The validated configuration; `source` is the file it came from, `base_dir` resolves paths."""

    source: Path
    terminal: TerminalConfig
    platform: PlatformConfig
    card: CardConfig
    qr: QrConfig
    ecard: EcardConfig
    risk: RiskConfig
    printer: PrinterConfig
    web: WebConfig
    trace: TraceConfig
    till: TillConfig = TillConfig()
    his: HisConfig = HisConfig()

    @property
    def base_dir(self) -> Path:
        return self.source.parent

    def resolve(self, path: str) -> Path:
        """A configured path, relative to the directory of the config file unless absolute."""
        p = Path(path)
        return p if p.is_absolute() else self.base_dir / p

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.terminal.data_dir)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "medpos.db"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.terminal.timezone)

    def replace(self, section: str, **values: Any) -> Config:
        """A copy with some keys of one section changed (validated like the file; amounts may be
        given as strings like the file's or as fen)."""
        current = getattr(self, section)
        fields = {f.name: f for f in dataclasses.fields(current)}
        typed: dict[str, Any] = {}
        for key, value in values.items():
            if key not in fields:
                raise ConfigError(f"{self.source}: [{section}] {key}: unknown key")
            if fields[key].metadata.get("kind") == "money" and isinstance(value, int):
                value = format_fen(value)
            typed[key] = _coerce(str(self.source), f"[{section}] {key}", fields[key], value, False)
        return dataclasses.replace(self, **{section: dataclasses.replace(current, **typed)})


def _type_name(t: Any) -> str:
    return {
        "str": "a string",
        "int": "an integer",
        "float": "a number",
        "bool": "true or false",
    }.get(str(t), str(t))


def _coerce(where: str, key: str, f: dataclasses.Field[Any], value: Any, from_env: bool) -> Any:
    kind = f.metadata.get("kind")
    t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if from_env and isinstance(value, str) and kind != "money":
        value = _parse_env(where, key, t, value)
    if kind == "money":
        if not isinstance(value, str):
            raise ConfigError(f'{where}: {key}: expected an amount as a string such as "2000.00"')
        try:
            return parse_money(value, key)
        except Exception:
            raise ConfigError(
                f'{where}: {key}: {value!r} is not an amount; write it like "2000.00"'
            ) from None
    if t == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key}: expected true or false, got {value!r}")
    elif t == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {key}: expected {_type_name(t)}, got {value!r}")
    elif t == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: {key}: expected {_type_name(t)}, got {value!r}")
        value = float(value)
    elif t == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key}: expected {_type_name(t)}, got {value!r}")
    choices = f.metadata.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"{where}: {key}: {value!r} is not one of {', '.join(choices)}")
    lo, hi = f.metadata.get("min"), f.metadata.get("max")
    if lo is not None and value < lo:
        raise ConfigError(f"{where}: {key}: {value!r} must be at least {lo}")
    if hi is not None and value > hi:
        raise ConfigError(f"{where}: {key}: {value!r} must be at most {hi}")
    return value


def _parse_env(where: str, key: str, t: str, raw: str) -> Any:
    try:
        if t == "bool":
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if t == "int":
            return int(raw)
        if t == "float":
            return float(raw)
    except ValueError:
        raise ConfigError(f"{where}: {key}: {raw!r} is not {_type_name(t)}") from None
    return raw


def _build_section(where: str, name: str, values: Mapping[str, Any], *, from_env: bool) -> Any:
    cls = _SECTIONS[name]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"{where}: [{name}] {key}: unknown key; known keys are {known}")
        kwargs[key] = _coerce(where, f"[{name}] {key}", fields[key], value, from_env)
    return cls(**kwargs)


def load_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Read, override and validate the configuration; raises `ConfigError`."""
    env = os.environ if env is None else env
    chosen = Path(path) if path else Path(env.get("MEDPOS_CONFIG") or DEFAULT_CONFIG_PATH)
    where = str(chosen)
    try:
        raw = tomllib.loads(_read_config_text(chosen))
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file; give an existing file with --config") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{where}: not valid TOML: nested too deeply") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot be read: {exc}") from None
    for name, value in raw.items():
        if name not in _SECTIONS:
            raise ConfigError(
                f"{where}: [{name}]: unknown section; known sections are {', '.join(_SECTIONS)}"
            )
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {name}: expected a [{name}] table")
    sections: dict[str, Any] = {}
    for name in _SECTIONS:
        from_file = _build_section(where, name, raw.get(name, {}), from_env=False)
        overrides = _env_overrides(name, env)
        if overrides:
            merged = dataclasses.asdict(from_file)
            merged.update(overrides)
            # values from the file are already typed; only the overrides need parsing
            cls = _SECTIONS[name]
            fields = {f.name: f for f in dataclasses.fields(cls)}
            for key, value in overrides.items():
                if key not in fields:
                    raise ConfigError(
                        f"environment: {ENV_PREFIX}{name.upper()}__{key.upper()}: unknown key "
                        f"[{name}] {key}"
                    )
                merged[key] = _coerce("environment", f"[{name}] {key}", fields[key], value, True)
            from_file = cls(**merged)
        sections[name] = from_file
    config = Config(source=chosen.resolve(), **sections)
    try:
        ZoneInfo(config.terminal.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{where}: [terminal] timezone: {config.terminal.timezone!r} is not an IANA time zone "
            f'such as "Asia/Shanghai"'
        ) from None
    for key in ("settle_required_from", "all_sales_from"):
        try:
            date.fromisoformat(getattr(config.trace, key))
        except ValueError:
            raise ConfigError(
                f"{where}: [trace] {key}: {getattr(config.trace, key)!r} is not a date "
                'such as "2026-01-01"'
            ) from None

    if config.his.enabled and not config.his.token and not config.terminal.demo:
        raise ConfigError(
            f"{where}: [his] token: the HIS API is enabled without a token; set one "
            f"({ENV_PREFIX}HIS__TOKEN) or set [his] enabled = false"
        )
    return config


# A config.toml is a few kilobytes; anything this large is not one (docs/security.md).
MAX_CONFIG_BYTES = 1 << 20


def _read_config_text(path: Path) -> str:
    """The file's text, refused when others may write it (they could point the terminal at
    another platform or data directory) or when it is larger than MAX_CONFIG_BYTES. Group write
    is allowed: a checkout made under umask 002 is 0664, for the owner's own group."""
    with path.open("rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if os.name == "posix" and mode & 0o002:
            raise ConfigError(
                f"{path}: writable by any user of this machine (mode {mode & 0o777:04o}): "
                f"run `chmod 600 {path}` (or 644) as its owner"
            )
        data = f.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes: not a config file")
    return data.decode("utf-8")


def _env_overrides(section: str, env: Mapping[str, str]) -> dict[str, str]:
    prefix = f"{ENV_PREFIX}{section.upper()}__"
    return {k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)}
