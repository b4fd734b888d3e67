"""Backtest figures (pure): trade statistics, drawdown and daily Sharpe/Sortino of equity,
buy-and-hold."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from decimal import Decimal

from signaldesk.backtest.result import BacktestResult, TradeRecord
from signaldesk.clock import JST
from signaldesk.report import max_drawdown, profit_factor, sharpe, win_rate

ZERO = Decimal(0)
CENT = Decimal("0.01")
DAYS_PER_YEAR = 365  # crypto trades every day
Z_95 = 1.96
CONVENTIONS = {
    "days": "JST calendar days; a day's close is the last equity point of that day, the first day's base "
    "is the starting equity",
    "annualisation": "Sharpe and Sortino of daily returns times sqrt(365); None with fewer than 2 daily "
    "returns or no spread (Sortino: no losing day)",
    "sortino_downside": "root mean square of min(daily return, 0) over all days (target 0)",
    "max_drawdown": "JPY: largest fall from a running peak; %: largest fall as a share of its running peak "
    "(the two can come from different falls); the starting equity counts as a peak",
    "win_rate": "share of closed trades with P/L > 0 (break-even is not a win); interval is Wilson 95%",
    "profit_factor": "gross profit / gross loss of closed trades; None without a loss (see gross figures)",
    "average_loss_jpy": "mean P/L of losing trades (negative)",
    "exposure": "share of replayed cycles that ended with a position open",
    "months": "JST calendar months",
}
HOLD_METHOD = (
    "starting equity split equally across the symbols, each bought at its first close in the "
    "period and marked at every later close; no fees, spread or slippage"
)

EquityPath = Sequence[tuple[datetime, Decimal]]


def _round(value: float | None, digits: int) -> float | None:
    """Round a float for the JSON summary; None and non-finite values become None."""
    return None if value is None or not math.isfinite(value) else round(value, digits)


def _money(value: Decimal | None) -> str | None:
    """Render a JPY amount as a plain decimal string (no exponent)."""
    return None if value is None else format(value, "f")


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    """Return the mean of Decimal amounts to the cent, or None without any."""
    return (sum(values, ZERO) / len(values)).quantize(CENT) if values else None


def _pct(part: Decimal, whole: Decimal) -> float | None:
    """Return part / whole in percent, or None when whole is zero."""
    return float(part / whole * 100) if whole else None


def equity_path(result: BacktestResult) -> list[tuple[datetime, Decimal]]:
    """Return the desk's equity path, starting with the starting equity at `since`."""
    return [(result.since, result.starting_equity), *result.equity]


def drawdown_pct(path: EquityPath) -> list[tuple[datetime, float]]:
    """Return, at each point, how far equity stands below its running peak, in percent of that peak
    (>= 0)."""
    peak, out = None, []
    for moment, level in path:
        peak = level if peak is None else max(peak, level)
        out.append((moment, float((peak - level) / peak * 100) if peak > 0 else 0.0))
    return out


def period_closes(
    path: EquityPath, period: Callable[[datetime], Hashable]
) -> list[tuple[Hashable, Decimal]]:
    """Return the last equity of each period (e.g. JST day) after the first point, which is the
    base."""
    closes: dict[Hashable, Decimal] = {}
    for moment, level in path[1:]:
        closes[period(moment)] = level
    return list(closes.items())


def jst_day(moment: datetime):
    """Return the JST calendar day of a moment."""
    return moment.astimezone(JST).date()


def jst_month(moment: datetime) -> str:
    """Return the JST calendar month of a moment as YYYY-MM."""
    return moment.astimezone(JST).strftime("%Y-%m")


def period_returns(
    path: EquityPath, period: Callable[[datetime], Hashable]
) -> list[tuple[Hashable, float]]:
    """Return each period's return (fraction) from the previous close, the first from the path's
    start."""
    out, base = [], path[0][1] if path else None
    for key, close in period_closes(path, period):
        out.append((key, float(close / base - 1) if base else 0.0))
        base = close
    return out


def sortino(returns: Sequence[float], periods_per_year: float = 1.0) -> float | None:
    """Return mean / downside deviation (target 0, over all periods), scaled by
    sqrt(periods_per_year)."""
    if len(returns) < 2:
        return None
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    if downside == 0:
        return None
    return statistics.fmean(returns) / downside * math.sqrt(periods_per_year)


def path_figures(path: EquityPath) -> dict:
    """Return ending equity, total return, max drawdown (JPY, %), daily Sharpe/Sortino of a path."""
    start, end = path[0][1], path[-1][1]
    steps = [b - a for (_, a), (_, b) in zip(path, path[1:], strict=False)]
    daily = [r for _, r in period_returns(path, jst_day)]
    return {
        "ending_equity_jpy": _money(end),
        "total_return_pct": _round(_pct(end - start, start), 4),
        "max_drawdown_jpy": _money(max_drawdown(steps)),
        "max_drawdown_pct": _round(max((pct for _, pct in drawdown_pct(path)), default=0.0), 4),
        "sharpe": _round(sharpe(daily, DAYS_PER_YEAR), 3),
        "sortino": _round(sortino(daily, DAYS_PER_YEAR), 3),
        "return_days": len(daily),
    }


def wilson_interval(wins: int, n: int) -> list[float] | None:
    """Return the Wilson 95% interval of a win rate, or None without trades."""
    if n == 0:
        return None
    p, z2 = wins / n, Z_95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return [round(max(centre - half, 0.0), 4), round(min(centre + half, 1.0), 4)]


def trade_figures(closed: Sequence[TradeRecord], starting_equity: Decimal) -> dict:
    """Return win rate, profit factor, expectancy and average win/loss of closed trades."""
    pnls = [t.pnl_jpy or ZERO for t in closed]
    wins, losses = [p for p in pnls if p > 0], [p for p in pnls if p < 0]
    expectancy = _mean(pnls)
    return {
        "win_rate": _round(win_rate(pnls), 4),
        "win_rate_ci95": wilson_interval(len(wins), len(pnls)),
        "profit_factor": _round(profit_factor(pnls), 3),
        "gross_profit_jpy": _money(sum(wins, ZERO)),
        "gross_loss_jpy": _money(-sum(losses, ZERO)),
        "net_pnl_jpy": _money(sum(pnls, ZERO)),
        "expectancy_jpy": _money(expectancy),
        "expectancy_pct": None
        if expectancy is None
        else _round(_pct(expectancy, starting_equity), 4),
        "average_win_jpy": _money(_mean(wins)),
        "average_loss_jpy": _money(_mean(losses)),
    }


def trade_counts(trades: Sequence[TradeRecord]) -> dict:
    """Return how many trades there were: in all, closed, open at the end, cancelled (entry never
    filled)."""
    by_status = Counter(t.status for t in trades)
    return {
        "total": len(trades),
        "closed": by_status["closed"],
        "open_at_end": by_status["open"],
        "cancelled": by_status["cancelled"],
    }


def exits_by_reason(closed: Sequence[TradeRecord]) -> dict:
    """Return closed trades and their P/L by exit reason."""
    groups: dict[str, list[Decimal]] = defaultdict(list)
    for t in closed:
        groups[t.exit_reason or "unknown"].append(t.pnl_jpy or ZERO)
    return {
        reason: {"trades": len(pnls), "pnl_jpy": _money(sum(pnls, ZERO))}
        for reason, pnls in sorted(groups.items())
    }


def per_symbol(symbols: Sequence[str], closed: Sequence[TradeRecord]) -> dict:
    """Return closed trades, P/L and win rate per symbol (every symbol of the run, traded or
    not)."""
    out = {}
    for symbol in dict.fromkeys([*symbols, *(t.symbol for t in closed)]):
        pnls = [t.pnl_jpy or ZERO for t in closed if t.symbol == symbol]
        out[symbol] = {
            "trades": len(pnls),
            "pnl_jpy": _money(sum(pnls, ZERO)),
            "win_rate": _round(win_rate(pnls), 4),
        }
    return out


def exposure(flags: Sequence[tuple[datetime, bool]]) -> float | None:
    """Return the share of cycles that ended with a position open, or None without cycles."""
    return _round(sum(1 for _, is_open in flags if is_open) / len(flags), 4) if flags else None


def fee_figures(trades: Sequence[TradeRecord]) -> dict:
    """Return fees paid, maker rebates received and the net, over every trade."""
    paid = sum((t.fees_paid_jpy for t in trades), ZERO)
    received = sum((t.fees_received_jpy for t in trades), ZERO)
    return {
        "fees_paid_jpy": _money(paid),
        "fees_received_jpy": _money(received),
        "fees_net_jpy": _money(paid - received),
    }


def summarize(result: BacktestResult) -> dict:
    """Return the desk's figures of a backtest as a JSON-ready dict (money as strings, floats
    rounded)."""
    closed = [t for t in result.trades if t.status == "closed"]
    path = equity_path(result)
    return {
        "period": {
            "since": result.since.isoformat(),
            "until": result.until.isoformat(),
            "days": round((result.until - result.since).total_seconds() / 86400, 2),
        },
        "symbols": list(result.symbols),
        "starting_equity_jpy": _money(result.starting_equity),
        **path_figures(path),
        "trades": trade_counts(result.trades),
        **trade_figures(closed, result.starting_equity),
        "exposure": exposure(result.exposure),
        **fee_figures(result.trades),
        "missed_entries": result.missed_entries,
        "expired_post_only": result.expired_post_only,
        "signals": len(result.signals),
        "verdicts": dict(sorted(result.verdicts.items())),
        "exits_by_reason": exits_by_reason(closed),
        "per_symbol": per_symbol(result.symbols, closed),
        "monthly_returns_pct": {k: _round(r * 100, 4) for k, r in period_returns(path, jst_month)},
        "conventions": CONVENTIONS,
    }


def hold_path(result: BacktestResult) -> tuple[list[tuple[datetime, Decimal]], list[str]]:
    """Return buy-and-hold equity at every close (to the cent) and the symbols without prices
    (cash)."""
    if not result.symbols:
        raise ValueError("buy-and-hold needs at least one symbol; result.symbols is empty")
    share = result.starting_equity / len(result.symbols)
    closes: dict[datetime, dict[str, Decimal]] = defaultdict(dict)
    for symbol in result.symbols:
        for moment, close in result.prices.get(symbol, []):
            if close <= 0:
                raise ValueError(
                    f"price of {symbol} at {moment.isoformat()} is {close}; closes must be > 0"
                )
            closes[moment][symbol] = close
    units: dict[str, Decimal] = {}
    marks: dict[str, Decimal] = {}
    path = [(result.since, result.starting_equity)]
    for moment in sorted(closes):
        for symbol, close in closes[moment].items():
            units.setdefault(symbol, share / close)
            marks[symbol] = close
        value = sum((units[s] * marks[s] if s in units else share for s in result.symbols), ZERO)
        path.append((moment, value.quantize(CENT)))
    return path, [s for s in result.symbols if s not in units]


def buy_and_hold(result: BacktestResult) -> dict:
    """Return the buy-and-hold baseline's figures over the period, its equity path under
    "equity"."""
    path, unpriced = hold_path(result)
    return {
        "method": HOLD_METHOD,
        "starting_equity_jpy": _money(result.starting_equity),
        **path_figures(path),
        "unpriced_symbols": unpriced,
        "equity": path,
    }
