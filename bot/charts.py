"""The equity chart of the daily report, drawn with matplotlib's Agg backend into PNG bytes.

It starts at the deposit (or the window's first equity), runs to the day's end, labels yen with
separators (never in scientific notation) and marks each closed trade at its exit: a green
triangle for a gain, red for a loss.
"""

from __future__ import annotations

import io
from decimal import Decimal

from signaldesk.clock import JST
from signaldesk.money import yen


def yen_tick(value: float, _position=None) -> str:
    """Label an axis tick in yen with separators (matplotlib's default would use 1e6 offsets)."""
    return yen(Decimal(round(value)))


def equity_after(points, moment) -> Decimal | None:
    """Return the first equity point after a moment (the equity once a trade had closed), else the
    last."""
    found = [value for at, value in points if at > moment]
    return found[0] if found else (points[-1][1] if points else None)


def equity_chart_png(chart, title: str) -> bytes:
    """Draw equity through time (JST axis, yen labels) with the trades marked; return the PNG
    bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    figure = Figure(figsize=(8, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    times = [moment.astimezone(JST) for moment, _ in chart.points]
    values = [float(value) for _, value in chart.points]  # floats only for drawing
    axes.step(times, values, where="post", color="#1f77b4", linewidth=1.2)
    for trade in chart.trades:
        level = equity_after(chart.points, trade.exit_time)
        if level is not None:
            gain = trade.pnl_jpy >= 0
            axes.plot(
                [trade.exit_time.astimezone(JST)],
                [float(level)],
                marker="^" if gain else "v",
                color="#2ca02c" if gain else "#d62728",
                markersize=6,
            )
    if chart.deposit is not None:
        axes.axhline(float(chart.deposit.amount_jpy), color="grey", linewidth=0.8, linestyle=":")
    axes.yaxis.set_major_formatter(FuncFormatter(yen_tick))
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
