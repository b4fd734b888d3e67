"""The equity chart of the daily report, drawn with matplotlib's Agg backend into PNG bytes,
labelled in the desk's language (Japanese with the IPAex Gothic font that matplotlib-fontja ships).

It starts at the deposit (or the window's first equity), runs to the day's end, labels yen with
separators in the language's money format (never in scientific notation) and marks each closed
trade at its exit: a green triangle for a gain, red for a loss.
"""

from __future__ import annotations

import importlib.util
import io
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from signaldesk.clock import JST
from signaldesk.i18n import Words
from signaldesk.money import yen


@lru_cache(maxsize=1)
def japanese_font() -> Path | None:
    """Return the path of a font with Japanese glyphs (from matplotlib-fontja), or None."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "fonts" / "ipaexg.ttf"
    return path if path.is_file() else None


def yen_tick(lang: str):
    """Return a tick labeller in yen with separators (matplotlib's default would use 1e6
    offsets)."""
    return lambda value, _position=None: yen(Decimal(round(value)), lang=lang)


def equity_after(points, moment) -> Decimal | None:
    """Return the first equity point after a moment (the equity once a trade had closed), else the
    last."""
    found = [value for at, value in points if at > moment]
    return found[0] if found else (points[-1][1] if points else None)


def mark_trades(axes, chart) -> None:
    """Mark each closed trade at its exit: a green triangle up for a gain, a red one down for a
    loss."""
    for trade in chart.trades:
        level = equity_after(chart.points, trade.exit_time)
        if level is not None:
            gain = trade.pnl_jpy >= 0
            axes.plot([trade.exit_time.astimezone(JST)], [float(level)],
                      marker="^" if gain else "v", color="#2ca02c" if gain else "#d62728",
                      markersize=6)  # fmt: skip


def equity_chart_png(chart, title: str, words: Words) -> bytes:
    """Draw equity through time (JST axis, yen labels) with the trades marked; return the PNG
    bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import FuncFormatter

    font = japanese_font() if words.lang == "ja" else None
    props = FontProperties(fname=font) if font else None
    figure = Figure(figsize=(8, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    times = [moment.astimezone(JST) for moment, _ in chart.points]
    values = [float(value) for _, value in chart.points]  # floats only for drawing
    axes.step(times, values, where="post", color="#1f77b4", linewidth=1.2)
    mark_trades(axes, chart)
    if chart.deposit is not None:
        axes.axhline(float(chart.deposit.amount_jpy), color="grey", linewidth=0.8, linestyle=":")
    axes.yaxis.set_major_formatter(FuncFormatter(yen_tick(words.lang)))
    if font:  # the 円 of the yen ticks needs the Japanese font too
        from matplotlib.font_manager import fontManager

        fontManager.addfont(str(font))
        axes.yaxis.set_tick_params(labelfontfamily=FontProperties(fname=font).get_name())
    axes.set_title(title, fontproperties=props)
    axes.set_xlabel(words.plain("time (JST)"), fontproperties=props)
    axes.grid(True, alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
