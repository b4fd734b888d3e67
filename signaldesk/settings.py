"""Settings: one frozen, typed object built once per process from `.env` and an optional
config.toml."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_VERSION = "default-2"
MODES = ("paper", "live")
KNOWN_SYMBOLS = ("BTC", "ETH", "BTC_JPY", "ETH_JPY")


class SettingsError(Exception):
    """Raised when settings are invalid; lists every bad key with what is allowed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))


class Secret:
    """A secret string that never shows itself in repr, str or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        """Return the secret value, for the one place that needs it (signing, URLs)."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class StrategySettings:
    """Signal rules of the 15-minute cycle."""

    symbols: tuple[str, ...] = ("BTC_JPY", "ETH_JPY")
    long_threshold: float = 0.75
    short_threshold: float = 0.80
    top_fraction: float = 0.10
    max_spread_bps: Decimal = Decimal("5")
    min_volume_ratio: float = 0.80
    volume_average_bars: int = 96
    news_blackout_minutes: int = 30
    news_calendar: Path = PROJECT_ROOT / "news_calendar.csv"
    approval_window_minutes: int = 15
    label_horizon_bars: int = 4
    label_move: float = 0.003
    liquidation_window_minutes: int = 15
    candle_publish_delay_seconds: int = 20
    liquidation_feed_required: bool = True
    news_calendar_required: str = "live"
    # "model": the model's own operating point (rank cutoffs for signals_per_day, stored with it);
    # "settings": the absolute long_threshold / short_threshold above.
    threshold_source: str = "model"
    signals_per_day: float = 1.5
    announce_without_edge: bool = True


@dataclass(frozen=True)
class RiskSettings:
    """Risk limits and trade management; fractions of equity as Decimal."""

    risk_per_trade: Decimal = Decimal("0.02")
    max_position_fraction: Decimal = Decimal("0.10")
    daily_loss_limit: Decimal = Decimal("0.03")
    weekly_loss_limit: Decimal = Decimal("0.07")
    monthly_loss_limit: Decimal = Decimal("0.15")
    stop_atr_multiple: Decimal = Decimal("2")
    take_profit_1_atr_multiple: Decimal = Decimal("2")
    take_profit_2_atr_multiple: Decimal = Decimal("4")
    take_profit_1_fraction: Decimal = Decimal("0.5")
    time_stop_hours: int = 4
    max_trades_per_day: int = 3
    max_drift_atr: Decimal = Decimal("0.5")
    entry_window_minutes: int = 15
    max_requotes: int = 3
    paper_equity_jpy: Decimal = Decimal("1000000")
    max_trades_per_symbol: int = 1
    max_consecutive_losses: int = 5
    loss_cooldown_hours: int = 24
    max_drawdown: Decimal = Decimal("0.20")
    trailing_stop_r: Decimal = Decimal("0")
    losscut_buffer: Decimal = Decimal("0.5")
    orphan_positions: str = "protect"
    orphan_stop_fraction: Decimal = Decimal("0.02")


@dataclass(frozen=True)
class ReportSettings:
    """When the daily report goes out."""

    time: time = time(9, 0)
    timezone: str = "Asia/Tokyo"

    @property
    def tz(self) -> ZoneInfo:
        """Return the report's time zone."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class GoLiveSettings:
    """From paper to live: what the paper record must show first, and live's guard rails."""

    min_paper_days: int = 7
    min_paper_trades: int = 5
    capital_cap_jpy: Decimal = Decimal("1000000")
    margin_tolerance_jpy: Decimal = Decimal("1000")


@dataclass(frozen=True)
class HealthSettings:
    """Health and alert thresholds."""

    api_failures_to_halt: int = 3
    price_move_warning: float = 0.05
    memory_warning: float = 0.80
    memory_critical: float = 0.90
    min_live_auc: float = 0.52
    cycle_dead_minutes: int = 35
    listener_dead_minutes: int = 5
    bot_heartbeat_stale_minutes: int = 5
    model_max_age_days: int = 45
    live_auc_days: int = 28
    firing_rate_days: int = 7
    firing_rate_band: float = 3.0


@dataclass(frozen=True)
class ListenerSettings:
    """Bybit liquidation listener: which contracts, mapped to which desk symbols, and spike
    rules."""

    symbol_map: tuple[tuple[str, str], ...] = (("BTCUSDT", "BTC_JPY"), ("ETHUSDT", "ETH_JPY"))
    ping_seconds: int = 20
    silence_seconds: int = 30
    baseline_minutes: int = 60
    spike_multiple: float = 5.0
    spike_floor_usd: Decimal = Decimal("250000")


@dataclass(frozen=True)
class BotSettings:
    """The Telegram desk: polling, retries while the exchange cannot be seen, confirm steps,
    strangers."""

    poll_timeout_seconds: int = 10
    exchange_retry_seconds: float = 5.0
    exchange_retry_max_seconds: float = 120.0
    confirm_seconds: int = 60
    strangers_per_hour: int = 100


LANGUAGES = ("ja", "en")
LEVELS = ("on", "silent", "off")  # with sound, without sound, no message


def day_minutes(span: str) -> tuple[int, int] | None:
    """Parse "HH:MM-HH:MM" (24:00 allowed as an end) into minutes of the day; None when malformed
    or empty."""
    try:
        start, end = (part.strip().split(":") for part in span.split("-"))
        first, last = int(start[0]) * 60 + int(start[1]), int(end[0]) * 60 + int(end[1])
    except (ValueError, IndexError):
        return None
    if not (0 <= first < 1440 and 0 <= last <= 1440) or first == last:
        return None
    return first, last


def within(span: str, minute: int) -> bool:
    """Return True when a minute of the day lies in a span (it may cross midnight; "" is never)."""
    bounds = day_minutes(span) if span else None
    if bounds is None:
        return False
    first, last = bounds
    return first <= minute < last if first < last else minute >= first or minute < last


@dataclass(frozen=True)
class TelegramSettings:
    """How the desk talks to the trader: language, and the JST hours for signals and for sound."""

    language: str = "ja"
    # Signals are offered for approval only within these JST hours; outside them a signal is held
    # (recorded, listed in the morning report) or, with "silent", announced without sound.
    active_hours: str = "08:00-23:00"
    outside_active_hours: str = "hold"
    # Within these JST hours every message is silent except critical alerts ("" for none).
    quiet_hours: str = "23:00-08:00"


@dataclass(frozen=True)
class NotifySettings:
    """How each kind of message reaches the trader: on (with sound), silent (no sound), off."""

    signal: str = "on"
    entry: str = "silent"
    fill: str = "silent"
    stop_move: str = "silent"
    exit: str = "on"
    report: str = "on"
    warning: str = "silent"
    alert: str = "on"  # critical alerts always ring, also in quiet hours


@dataclass(frozen=True)
class Urls:
    """Base URLs of the outside world, settable so tests and staging can point at local fakes."""

    gmo_public: str = "https://api.coin.z.com/public"
    gmo_private: str = "https://api.coin.z.com/private"
    gmo_ws_public: str = "wss://api.coin.z.com/ws/public/v1"
    gmo_ws_private: str = "wss://api.coin.z.com/ws/private/v1"
    telegram_api: str = "https://api.telegram.org"
    bybit_ws: str = "wss://stream.bybit.com/v5/public/linear"


@dataclass(frozen=True)
class Settings:
    """Everything a signaldesk process is configured with."""

    mode: str = "paper"
    db_path: Path = PROJECT_ROOT / "var" / "signaldesk.sqlite3"
    config_path: Path | None = None
    model_dir: Path = PROJECT_ROOT / "models" / DEFAULT_MODEL_VERSION
    log_dir: Path = PROJECT_ROOT / "var" / "log"
    data_dir: Path = PROJECT_ROOT / "data"
    gmo_api_key: Secret = field(default_factory=lambda: Secret(""))
    gmo_api_secret: Secret = field(default_factory=lambda: Secret(""))
    telegram_bot_token: Secret = field(default_factory=lambda: Secret(""))
    telegram_chat_id: int | None = None
    telegram_user_ids: tuple[int, ...] = ()
    urls: Urls = field(default_factory=Urls)
    strategy: StrategySettings = field(default_factory=StrategySettings)
    risk: RiskSettings = field(default_factory=RiskSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    golive: GoLiveSettings = field(default_factory=GoLiveSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    listener: ListenerSettings = field(default_factory=ListenerSettings)
    # SIGNALDESK_MODEL was set: it wins over the active version the database records.
    model_pinned: bool = False
    bot: BotSettings = field(default_factory=BotSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    # The pairs behind the prices when they are not GMO's (the demo's converted stand-in, e.g.
    # "BTC/USDT, ETH/USDT"): the bot says so, in the trader's language, with every price it prints.
    price_note: str = ""

    def secrets(self) -> tuple[str, ...]:
        """Return the non-empty secret values, for log redaction."""
        return tuple(
            s.reveal()
            for s in (self.gmo_api_key, self.gmo_api_secret, self.telegram_bot_token)
            if s
        )


ENV_KEYS = (
    "SIGNALDESK_MODE",
    "SIGNALDESK_DB",
    "SIGNALDESK_CONFIG",
    "SIGNALDESK_MODEL",
    "SIGNALDESK_LOG_DIR",
    "SIGNALDESK_DATA_DIR",
    "GMO_API_KEY",
    "GMO_API_SECRET",
    "GMO_PUBLIC_URL",
    "GMO_PRIVATE_URL",
    "GMO_WS_PUBLIC_URL",
    "GMO_WS_PRIVATE_URL",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_CHAT_ID",
    "TELEGRAM_USER_IDS",
    "TELEGRAM_API_URL",
    "BYBIT_WS_URL",
)
URL_KEYS = {
    "GMO_PUBLIC_URL": ("gmo_public", ("http://", "https://")),
    "GMO_PRIVATE_URL": ("gmo_private", ("http://", "https://")),
    "GMO_WS_PUBLIC_URL": ("gmo_ws_public", ("ws://", "wss://")),
    "GMO_WS_PRIVATE_URL": ("gmo_ws_private", ("ws://", "wss://")),
    "TELEGRAM_API_URL": ("telegram_api", ("http://", "https://")),
    "BYBIT_WS_URL": ("bybit_ws", ("ws://", "wss://")),
}


def read_env_file(path: Path) -> dict[str, str]:
    """Return the key/values of a .env file (python-dotenv), or nothing when it does not exist."""
    from dotenv import dotenv_values

    if not path.is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load_settings(environ: dict[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Build Settings from the environment (over `.env`) and config.toml; raise SettingsError
    listing every bad key."""
    env = dict(read_env_file(env_file if env_file is not None else Path.cwd() / ".env"))
    env.update(os.environ if environ is None else environ)
    problems: list[str] = []
    base = _from_env(env, problems)
    config = _read_config(base.config_path, problems)
    settings = _apply_config(base, config, problems)
    problems.extend(_cross_checks(settings))
    if problems:
        raise SettingsError(problems)
    return settings


def _cross_checks(settings: Settings) -> list[str]:
    """Return problems that involve more than one key."""
    problems = []
    if settings.mode == "live" and not (settings.gmo_api_key and settings.gmo_api_secret):
        problems.append(
            "SIGNALDESK_MODE=live needs GMO_API_KEY and GMO_API_SECRET (or use SIGNALDESK_MODE=paper)"
        )
    if settings.health.memory_warning >= settings.health.memory_critical:
        problems.append("[health] memory_warning must be below memory_critical")
    if settings.risk.take_profit_1_atr_multiple > settings.risk.take_profit_2_atr_multiple:
        problems.append(
            "[risk] take_profit_1_atr_multiple must not exceed take_profit_2_atr_multiple"
        )
    if settings.bot.exchange_retry_seconds > settings.bot.exchange_retry_max_seconds:
        problems.append("[bot] exchange_retry_seconds must not exceed exchange_retry_max_seconds")
    return problems


def _path(env: dict[str, str], key: str, default: Path) -> Path:
    """Return a path setting, relative paths taken from the working directory."""
    value = env.get(key, "").strip()
    return Path(value).expanduser() if value else default


def _from_env(env: dict[str, str], problems: list[str]) -> Settings:
    """Read the environment part of the settings, noting problems."""
    mode = env.get("SIGNALDESK_MODE", "paper").strip() or "paper"
    if mode not in MODES:
        problems.append(f"SIGNALDESK_MODE={mode!r}: allowed values are {', '.join(MODES)}")
    config_value = env.get("SIGNALDESK_CONFIG", "").strip()
    config_path = Path(config_value).expanduser() if config_value else None
    if config_path is None and (Path.cwd() / "config.toml").is_file():
        config_path = Path.cwd() / "config.toml"
    model = env.get("SIGNALDESK_MODEL", "").strip()
    model_dir = PROJECT_ROOT / "models" / DEFAULT_MODEL_VERSION
    if model:
        model_dir = (
            Path(model)
            if ("/" in model or model.startswith("."))
            else PROJECT_ROOT / "models" / model
        )
    urls = {}
    for key, (attr, schemes) in URL_KEYS.items():
        value = env.get(key, "").strip().rstrip("/")
        if value and not value.startswith(schemes):
            problems.append(f"{key}={value!r}: must start with {' or '.join(schemes)}")
        elif value:
            urls[attr] = value
    return Settings(
        mode=mode,
        db_path=_path(env, "SIGNALDESK_DB", Settings.db_path),
        config_path=config_path,
        model_dir=model_dir,
        log_dir=_path(env, "SIGNALDESK_LOG_DIR", Settings.log_dir),
        data_dir=_path(env, "SIGNALDESK_DATA_DIR", Settings.data_dir),
        gmo_api_key=Secret(env.get("GMO_API_KEY", "").strip()),
        gmo_api_secret=Secret(env.get("GMO_API_SECRET", "").strip()),
        telegram_bot_token=Secret(env.get("TELEGRAM_BOT_TOKEN", "").strip()),
        telegram_chat_id=_chat_id(env.get("TELEGRAM_CHAT_ID", ""), problems),
        telegram_user_ids=_user_ids(env.get("TELEGRAM_USER_IDS", ""), problems),
        urls=Urls(**urls),
        model_pinned=bool(model),
    )


def _chat_id(value: str, problems: list[str]) -> int | None:
    """Parse TELEGRAM_CHAT_ID (a numeric id; groups are negative)."""
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        problems.append(
            f"TELEGRAM_CHAT_ID={value!r}: must be a numeric chat id such as 111111111 or -1001234567890"
        )
        return None


def _user_ids(value: str, problems: list[str]) -> tuple[int, ...]:
    """Parse TELEGRAM_USER_IDS (comma-separated positive numeric user ids)."""
    ids = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        if not part.isdigit():
            problems.append(
                f"TELEGRAM_USER_IDS contains {part!r}: must be comma-separated numeric user ids"
            )
            continue
        ids.append(int(part))
    return tuple(ids)


def _read_config(path: Path | None, problems: list[str]) -> dict[str, Any]:
    """Read config.toml, noting a missing or unparsable file."""
    if path is None:
        return {}
    if not path.is_file():
        problems.append(f"SIGNALDESK_CONFIG={str(path)!r}: file not found")
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"config file {path}: not valid TOML ({exc})")
        return {}


SECTIONS = {
    "strategy": StrategySettings,
    "risk": RiskSettings,
    "report": ReportSettings,
    "golive": GoLiveSettings,
    "health": HealthSettings,
    "listener": ListenerSettings,
    "bot": BotSettings,
    "telegram": TelegramSettings,
    "notify": NotifySettings,
}


def _apply_config(base: Settings, config: dict[str, Any], problems: list[str]) -> Settings:
    """Overlay config.toml sections onto the defaults, validating every key."""
    sections: dict[str, Any] = {}
    for name, value in config.items():
        if name not in SECTIONS:
            problems.append(
                f"[{name}]: unknown section; allowed sections are {', '.join(SECTIONS)}"
            )
            continue
        if not isinstance(value, dict):
            problems.append(f"[{name}]: must be a table of keys")
            continue
        sections[name] = _section(name, SECTIONS[name], value, problems)
    current = {name: getattr(base, name) for name in SECTIONS}
    current.update({k: v for k, v in sections.items() if v is not None})
    for name, section in current.items():
        problems.extend(_check_section(name, section))
    return Settings(
        **{f.name: getattr(base, f.name) for f in fields(Settings) if f.name not in SECTIONS},
        **current,
    )


def _section(name: str, cls: type, values: dict[str, Any], problems: list[str]) -> Any:
    """Build one section dataclass from its TOML table, noting unknown keys and bad types."""
    defaults = cls()
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, raw in values.items():
        if key not in known:
            problems.append(f"[{name}] {key}: unknown key; allowed keys are {', '.join(known)}")
            continue
        try:
            kwargs[key] = _coerce(getattr(defaults, key), raw)
        except (TypeError, ValueError, InvalidOperation, ZoneInfoNotFoundError) as exc:
            problems.append(f"[{name}] {key}={raw!r}: {exc}")
    return cls(**kwargs)


def _coerce(default: Any, raw: Any) -> Any:
    """Convert a TOML value to the type of the default it replaces."""
    for kind, convert in _COERCIONS:
        if isinstance(default, kind):
            return convert(default, raw)
    raise TypeError("unsupported setting")


def _typed(raw: Any, kinds: tuple[type, ...], what: str) -> Any:
    """Return raw when it is one of kinds (never a bool unless asked); raise TypeError saying what
    it must be."""
    if (isinstance(raw, bool) and bool not in kinds) or not isinstance(raw, kinds):
        raise TypeError(f"must be {what}")
    return raw


# Checked in order: bool before int (a bool is an int), Decimal before the plain numbers.
_COERCIONS: tuple[tuple[type, Callable[[Any, Any], Any]], ...] = (
    (bool, lambda d, raw: _typed(raw, (bool,), "true or false")),
    (Decimal, lambda d, raw: Decimal(str(_typed(raw, (int, float, str), "a number")))),
    (int, lambda d, raw: _typed(raw, (int,), "a whole number")),
    (float, lambda d, raw: float(_typed(raw, (int, float), "a number"))),
    (Path, lambda d, raw: Path(str(raw)).expanduser()),
    (time, lambda d, raw: _clock_time(raw)),
    (tuple, lambda d, raw: _tuple(d, raw)),
    (str, lambda d, raw: _typed(raw, (str,), "text")),
)


def _clock_time(raw: Any) -> time:
    """Parse 'HH:MM' into a time."""
    if isinstance(raw, time):
        return raw
    try:
        hour, minute = (int(p) for p in str(raw).split(":"))
        return time(hour, minute)
    except ValueError:
        raise ValueError('must be a time of day like "09:00"') from None


def _tuple(default: tuple, raw: Any) -> tuple:
    """Parse a list (of strings) or a table (symbol map) into a tuple."""
    if default and isinstance(default[0], tuple):
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise TypeError('must be a table like { BTCUSDT = "BTC_JPY" }')
        return tuple((str(k), v) for k, v in raw.items())
    if isinstance(raw, str):
        raw = [p.strip() for p in raw.split(",") if p.strip()]
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise TypeError("must be a list of strings")
    return tuple(raw)


def _check_section(name: str, section: Any) -> list[str]:
    """Return range problems of one section (values of the right type but out of bounds)."""
    checks = RANGE_CHECKS.get(name, {})
    problems = []
    for key, (ok, allowed) in checks.items():
        value = getattr(section, key)
        if not ok(value):
            problems.append(f"[{name}] {key}={_show(value)}: allowed {allowed}")
    return problems


def _show(value: Any) -> str:
    """Render a setting value for an error message."""
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _fraction(low: float, high: float):
    """Return a check that a value lies in (low, high]."""
    return lambda v: low < float(v) <= high


def _positive(v: Any) -> bool:
    return v > 0


def _valid_tz(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


def _hours(v: str) -> bool:
    return day_minutes(v) is not None


_LEVEL = (lambda v: v in LEVELS, "on, silent or off")
RANGE_CHECKS: dict[str, dict[str, tuple[Any, str]]] = {
    "telegram": {
        "language": (lambda v: v in LANGUAGES, "ja or en"),
        "active_hours": (_hours, 'JST hours like "08:00-23:00" (24:00 may end a span)'),
        "outside_active_hours": (lambda v: v in ("hold", "silent"), "hold or silent"),
        "quiet_hours": (lambda v: v == "" or _hours(v), 'JST hours like "23:00-08:00", or ""'),
    },
    "notify": {
        **{key: _LEVEL for key in ("entry", "fill", "stop_move", "exit", "report", "warning")},
        "signal": (lambda v: v in ("on", "silent"), "on or silent (a signal must reach you)"),
        "alert": (lambda v: v == "on", "on (critical alerts always ring)"),
    },
    "strategy": {
        "symbols": (
            lambda v: bool(v) and all(s in KNOWN_SYMBOLS for s in v) and len(set(v)) == len(v),
            f"a non-empty list without repeats drawn from {', '.join(KNOWN_SYMBOLS)}",
        ),
        "long_threshold": (_fraction(0, 1), "a probability in (0, 1]"),
        "short_threshold": (_fraction(0, 1), "a probability in (0, 1]"),
        "top_fraction": (_fraction(0, 1), "a fraction in (0, 1], e.g. 0.10 for the top 10%"),
        "max_spread_bps": (_positive, "a number of basis points > 0"),
        "min_volume_ratio": (lambda v: v >= 0, "a ratio >= 0"),
        "volume_average_bars": (_positive, "a whole number of bars > 0"),
        "news_blackout_minutes": (lambda v: v >= 0, "minutes >= 0"),
        "approval_window_minutes": (lambda v: 1 <= v <= 60, "minutes between 1 and 60"),
        "label_horizon_bars": (lambda v: 1 <= v <= 96, "bars between 1 and 96"),
        "label_move": (_fraction(0, 0.2), "a fraction in (0, 0.2]"),
        "liquidation_window_minutes": (_positive, "minutes > 0"),
        "candle_publish_delay_seconds": (lambda v: 0 <= v <= 300, "seconds between 0 and 300"),
        "news_calendar_required": (
            lambda v: v in ("live", "always", "never"),
            "live (filter in live mode, warn in paper mode), always or never (warn only)",
        ),
        "threshold_source": (lambda v: v in ("model", "settings"), "model or settings"),
        "signals_per_day": (lambda v: 0 < v <= 20, "signals a day over all symbols in (0, 20]"),
    },
    "risk": {
        "risk_per_trade": (_fraction(0, 0.1), "a fraction of equity in (0, 0.1]"),
        "max_position_fraction": (_fraction(0, 1), "a fraction of equity in (0, 1]"),
        "daily_loss_limit": (_fraction(0, 1), "a fraction of equity in (0, 1]"),
        "weekly_loss_limit": (_fraction(0, 1), "a fraction of equity in (0, 1]"),
        "monthly_loss_limit": (_fraction(0, 1), "a fraction of equity in (0, 1]"),
        "stop_atr_multiple": (_positive, "a multiple of ATR > 0"),
        "take_profit_1_atr_multiple": (_positive, "a multiple of ATR > 0"),
        "take_profit_2_atr_multiple": (_positive, "a multiple of ATR > 0"),
        "take_profit_1_fraction": (_fraction(0, 1), "a fraction of the size in (0, 1]"),
        "time_stop_hours": (lambda v: 1 <= v <= 72, "hours between 1 and 72"),
        "max_trades_per_day": (lambda v: 0 <= v <= 50, "a whole number between 0 and 50"),
        "max_drift_atr": (_positive, "a multiple of ATR > 0"),
        "entry_window_minutes": (lambda v: 1 <= v <= 120, "minutes between 1 and 120"),
        "max_requotes": (lambda v: 0 <= v <= 20, "a whole number between 0 and 20"),
        "paper_equity_jpy": (_positive, "JPY > 0"),
        "max_trades_per_symbol": (lambda v: 1 <= v <= 10, "a whole number between 1 and 10"),
        "max_consecutive_losses": (lambda v: 0 <= v <= 50, "a whole number between 0 (off) and 50"),
        "loss_cooldown_hours": (lambda v: 1 <= v <= 720, "hours between 1 and 720"),
        "max_drawdown": (_fraction(0, 1), "a fraction of the equity peak in (0, 1]"),
        "trailing_stop_r": (lambda v: 0 <= v <= 10, "stop distances between 0 (off) and 10"),
        "losscut_buffer": (
            lambda v: Decimal("0.1") <= v <= 5,
            "stop distances between 0.1 and 5 (how far behind the stop the loss-cut sits)",
        ),
        "orphan_positions": (lambda v: v in ("protect", "close"), "protect or close"),
        "orphan_stop_fraction": (_fraction(0, 0.2), "a fraction of the price in (0, 0.2]"),
    },
    "report": {
        "timezone": (_valid_tz, "an IANA time zone such as Asia/Tokyo"),
    },
    "golive": {
        "min_paper_days": (lambda v: 0 <= v <= 365, "days between 0 and 365"),
        "min_paper_trades": (lambda v: 0 <= v <= 1000, "a whole number between 0 and 1000"),
        "capital_cap_jpy": (
            _positive,
            "JPY > 0 (live sizes and loss limits use at most this equity)",
        ),
        "margin_tolerance_jpy": (lambda v: v >= 0, "JPY >= 0"),
    },
    "health": {
        "api_failures_to_halt": (lambda v: 1 <= v <= 20, "a whole number between 1 and 20"),
        "price_move_warning": (_fraction(0, 1), "a fraction in (0, 1]"),
        "memory_warning": (_fraction(0, 1), "a fraction in (0, 1]"),
        "memory_critical": (_fraction(0, 1), "a fraction in (0, 1]"),
        "min_live_auc": (_fraction(0, 1), "an AUC in (0, 1]"),
        "cycle_dead_minutes": (_positive, "minutes > 0"),
        "listener_dead_minutes": (_positive, "minutes > 0"),
        "bot_heartbeat_stale_minutes": (_positive, "minutes > 0"),
        "model_max_age_days": (_positive, "days > 0"),
        "live_auc_days": (lambda v: 1 <= v <= 365, "days between 1 and 365"),
        "firing_rate_days": (lambda v: 1 <= v <= 90, "days between 1 and 90"),
        "firing_rate_band": (
            lambda v: v > 1,
            "a multiple > 1 (alert below rate/band or above rate*band)",
        ),
    },
    "listener": {
        "symbol_map": (
            lambda v: bool(v) and all(d in KNOWN_SYMBOLS for _, d in v),
            f"a table of Bybit contract = desk symbol, desk symbols from {', '.join(KNOWN_SYMBOLS)}",
        ),
        "ping_seconds": (lambda v: 5 <= v <= 60, "seconds between 5 and 60"),
        "silence_seconds": (lambda v: 10 <= v <= 600, "seconds between 10 and 600"),
        "baseline_minutes": (lambda v: 5 <= v <= 1440, "minutes between 5 and 1440"),
        "spike_multiple": (lambda v: v > 1, "a multiple > 1"),
        "spike_floor_usd": (lambda v: v >= 0, "USD >= 0"),
    },
    "bot": {
        "poll_timeout_seconds": (lambda v: 1 <= v <= 50, "seconds between 1 and 50"),
        "exchange_retry_seconds": (lambda v: 0.1 <= v <= 600, "seconds between 0.1 and 600"),
        "exchange_retry_max_seconds": (lambda v: 1 <= v <= 3600, "seconds between 1 and 3600"),
        "confirm_seconds": (lambda v: 10 <= v <= 600, "seconds between 10 and 600"),
        "strangers_per_hour": (lambda v: 1 <= v <= 10000, "a whole number between 1 and 10000"),
    },
}
