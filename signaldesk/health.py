"""Health rules of the cycle: API failure streaks, sudden price moves, memory pressure, live model
AUC, and the model's firing rate drifting from its operating point."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from signaldesk.candles import Candle


@dataclass(frozen=True)
class HealthAlert:
    """An alert to queue: severity, kind, text, a dedupe key, and whether it halts trading."""

    severity: str
    kind: str
    text: str
    dedupe_key: str
    halts: bool = False


def memory_used_fraction(meminfo: Path = Path("/proc/meminfo")) -> float | None:
    """Return the machine's used memory fraction (1 - MemAvailable/MemTotal), or None when
    unknown."""
    try:
        fields = dict(
            line.split(":", 1) for line in meminfo.read_text().splitlines() if ":" in line
        )
        total = int(fields["MemTotal"].split()[0])
        available = int(fields["MemAvailable"].split()[0])
    except (OSError, KeyError, ValueError):
        return None
    return 1 - available / total if total else None


def memory_alert(
    used: float | None, warning: float, critical: float, key: str
) -> HealthAlert | None:
    """Return a warning over `warning`, a halting critical alert over `critical`, else None."""
    if used is None or used < warning:
        return None
    if used >= critical:
        return HealthAlert(
            "critical",
            "memory",
            f"memory {used:.0%} used (critical {critical:.0%}): trading halted",
            f"memory-critical:{key}",
            halts=True,
        )
    return HealthAlert(
        "warning",
        "memory",
        f"memory {used:.0%} used (warning {warning:.0%})",
        f"memory-warning:{key}",
    )


def price_move_alert(
    symbol: str, previous: Candle | None, last: Candle, limit: float
) -> HealthAlert | None:
    """Return a warning when the last 15-minute candle moved more than `limit` (close to close, or
    its range)."""
    base = previous.close if previous else last.open
    move = float(abs(last.close / base - 1))
    swing = float((last.high - last.low) / base)
    if max(move, swing) <= limit:
        return None
    return HealthAlert(
        "warning",
        "price_move",
        f"{symbol} moved {float(last.close / base - 1):+.1%} (range {swing:.1%}) in the 15 minutes from "
        f"{last.open_time:%Y-%m-%d %H:%M} UTC",
        f"price_move:{symbol}:{last.open_time.isoformat()}",
    )


def api_failure_alert(failures: int, limit: int, error: str) -> HealthAlert | None:
    """Return a halting critical alert once consecutive failed runs reach the limit."""
    if failures < limit:
        return None
    return HealthAlert(
        "critical",
        "api_failures",
        f"{failures} consecutive cycles failed talking to the exchange (last: {error}); trading halted",
        f"api_failures:{failures}",
        halts=True,
    )


def live_auc_alert(
    auc: float | None, minimum: float, model_version: str, day: str
) -> HealthAlert | None:
    """Return a warning when the model's live AUC over the trailing window is below the minimum."""
    if auc is None or auc >= minimum:
        return None
    return HealthAlert(
        "warning",
        "model_auc",
        f"model {model_version}: live AUC {auc:.3f} over the trailing window is below {minimum:.2f}",
        f"model_auc:{model_version}:{day}",
    )


def firing_rate_alert(
    fired: int,
    scored: int,
    expected_per_candle: float,
    days: int,
    symbols: int,
    band: float,
    key: str,
) -> HealthAlert | None:
    """Return a warning when the share of candles the model fired on leaves [expected / band,
    expected * band].

    Judged only over a full window (at least 90% of `days` x 96 x `symbols` candles scored), so a
    newly promoted model is not judged on a few hours.
    """
    if scored < 0.9 * days * 96 * symbols or expected_per_candle <= 0:
        return None
    rate = fired / scored
    if expected_per_candle / band <= rate <= expected_per_candle * band:
        return None
    per_day = 96 * symbols
    return HealthAlert(
        "warning",
        "firing_rate",
        f"model {key.split(':')[0]} fired on {fired} of {scored} candles over {days} days "
        f"({rate * per_day:.2f} a day) but its operating point fires {expected_per_candle * per_day:.2f} a day "
        f"(alert outside x1/{band:g}..x{band:g}): the market has moved away from the model's calibration "
        f"window; run `signaldesk retrain` or review the model (`signaldesk model list`)",
        f"firing_rate:{key}",
    )
