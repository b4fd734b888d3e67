"""The backtest's PNG charts (matplotlib Agg, JST axes): equity vs buy-and-hold, monthly returns,
signals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from signaldesk.backtest.metrics import drawdown_pct, equity_path, jst_month, period_returns
from signaldesk.backtest.result import BacktestResult
from signaldesk.clock import JST
from signaldesk.signals import EXECUTED, LOGGED

if TYPE_CHECKING:
    import numpy as np

DPI = 100
DESK, HOLD, LONG, SHORT, EXIT = "#1f77b4", "#7f7f7f", "#2ca02c", "#d62728", "#222222"
MUTED = ("#9e9ac8", "#fdae6b", "#a1d99b", "#bcbddc", "#fc9272", "#9ecae1", "#d9d9d9", "#c7e9c0")


def _figure(rows: int, height: float, ratios: list[float] | None = None):
    """Return a figure on an Agg canvas (no pyplot state, so nothing to close) and its column of
    axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, height), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False, height_ratios=ratios)[:, 0]
    return figure, list(axes)


def _date_axis(axes) -> None:
    """Put concise JST dates on an axis."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(tz=JST)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=JST))


def _jpy_axis(axes) -> None:
    """Write JPY on an axis in full with thousands separators (no 1e6 offset)."""
    from matplotlib.ticker import StrMethodFormatter

    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axes.set_ylabel("JPY")


def _save(figure, path: Path) -> Path:
    """Lay out and write a figure as PNG; return the path."""
    figure.tight_layout()
    figure.savefig(path, format="png")
    return Path(path)


def date_numbers(moments: Iterable[datetime]) -> np.ndarray:
    """Return aware times as matplotlib date numbers, converted in one vectorised step."""
    import matplotlib.dates as mdates
    import numpy as np

    milliseconds = np.fromiter((round(m.timestamp() * 1000) for m in moments), dtype=np.int64)
    return mdates.date2num(milliseconds.astype("datetime64[ms]"))


def period_label(result: BacktestResult) -> str:
    """Return the backtest period [since, until) in JST for a title."""
    since, until = result.since.astimezone(JST), result.until.astimezone(JST)
    return f"{since:%Y-%m-%d %H:%M} – {until:%Y-%m-%d %H:%M} JST"


def equity_chart(result: BacktestResult, baseline: dict, path: Path) -> Path:
    """Draw desk equity against buy-and-hold (`baseline["equity"]`) with a drawdown panel
    underneath."""
    figure, (top, bottom) = _figure(2, 6, [3, 1])
    lines = ((equity_path(result), "desk", DESK), (baseline["equity"], "buy-and-hold", HOLD))
    for points, label, colour in lines:
        times = date_numbers(moment for moment, _ in points)
        top.step(times, [float(v) for _, v in points], where="post", color=colour, label=label)
        bottom.fill_between(
            times,
            [-pct for _, pct in drawdown_pct(points)],
            step="post",
            color=colour,
            alpha=0.35 if label == "desk" else 0.15,
            label=label,
        )
    top.set_title(f"Equity: desk vs buy-and-hold (no fees), {period_label(result)}")
    _jpy_axis(top)
    bottom.set(ylabel="drawdown %", xlabel="time (JST)")
    for axes in (top, bottom):
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8, loc="upper left")
    _date_axis(bottom)
    return _save(figure, path)


def monthly_returns_chart(result: BacktestResult, path: Path) -> Path:
    """Draw the desk's return per JST calendar month as labelled bars."""
    figure, (axes,) = _figure(1, 4)
    months = period_returns(equity_path(result), jst_month)
    values = [r * 100 for _, r in months]
    bars = axes.bar(
        range(len(months)),
        values,
        color=[LONG if v >= 0 else SHORT for v in values],
        tick_label=[m for m, _ in months],
    )  # positions, not month strings: no categorical-axis guessing
    axes.bar_label(bars, labels=[f"{v:+.2f}%" for v in values], fontsize=8, padding=2)
    axes.axhline(0, color="grey", linewidth=0.8)
    if not months:
        axes.text(
            0.5, 0.5, "no replayed cycles", ha="center", va="center", transform=axes.transAxes
        )
    axes.set(
        title=f"Desk return by calendar month (JST), {period_label(result)}",
        ylabel="return %",
        xlabel="month",
    )
    axes.margins(y=0.2)
    axes.tick_params(axis="x", rotation=45 if len(months) > 12 else 0)
    axes.grid(True, axis="y", alpha=0.3)
    return _save(figure, path)


def signals_chart(result: BacktestResult, path: Path) -> Path:
    """Draw, per symbol, the close, executed entries and exits, and every other signal muted by
    verdict."""
    figure, panels = _figure(len(result.symbols) or 1, 3.2 * max(len(result.symbols), 1))
    colours = {
        s: MUTED[i % len(MUTED)] for i, s in enumerate(sorted({s.status for s in result.signals}))
    }
    for axes, symbol in zip(panels, result.symbols, strict=False):
        prices = result.prices.get(symbol, [])
        axes.plot(
            date_numbers(t for t, _ in prices),
            [float(p) for _, p in prices],
            color=DESK,
            linewidth=0.8,
            label="close",
        )
        _draw_other_signals(axes, result, symbol, colours)
        _draw_trades(axes, result, symbol)
        axes.set_title(f"{symbol}: signals and trades")
        _jpy_axis(axes)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=7, loc="upper left", ncol=4)
    panels[-1].set_xlabel("time (JST)")
    _date_axis(panels[-1])
    return _save(figure, path)


def _draw_other_signals(axes, result: BacktestResult, symbol: str, colours: dict[str, str]) -> None:
    """Draw the symbol's signals that were not executed, one muted colour per verdict (LOGGED =
    below the threshold, i.e. no signal at all, is left out: it would cover the price line)."""
    by_status: defaultdict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for s in result.signals:
        if s.symbol == symbol and s.status not in (EXECUTED, LOGGED) and s.price is not None:
            by_status[s.status].append((s.time, s.price))
    for status, signals in sorted(by_status.items()):
        axes.scatter(
            date_numbers(time for time, _ in signals),
            [float(price) for _, price in signals],
            s=14,
            color=colours[status],
            alpha=0.7,
            linewidths=0,
            label=f"{status.lower()} ({len(signals)})",
            zorder=2,
        )


def _draw_trades(axes, result: BacktestResult, symbol: str) -> None:
    """Draw the symbol's filled entries (LONG up, SHORT down) and exits."""
    trades = [t for t in result.trades if t.symbol == symbol]
    for direction, marker, colour in (("LONG", "^", LONG), ("SHORT", "v", SHORT)):
        entries = [
            (t.entry_time, t.entry_price)
            for t in trades
            if t.direction == direction and t.entry_time and t.entry_price is not None
        ]
        axes.scatter(
            date_numbers(time for time, _ in entries),
            [float(price) for _, price in entries],
            marker=marker,
            s=60,
            color=colour,
            edgecolors="black",
            linewidths=0.5,
            label=f"{direction.lower()} entry ({len(entries)})",
            zorder=4,
        )
    exits = [
        (t.exit_time, t.exit_price) for t in trades if t.exit_time and t.exit_price is not None
    ]
    axes.scatter(
        date_numbers(time for time, _ in exits),
        [float(price) for _, price in exits],
        marker="x",
        s=40,
        color=EXIT,
        label=f"exit ({len(exits)})",
        zorder=4,
    )
