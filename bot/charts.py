"""The equity-curve chart of the daily report, drawn with matplotlib's Agg backend into PNG bytes,
labelled in the desk's language (Japanese with the IPAex Gothic font that matplotlib-fontja ships)."""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from signaldesk.clock import JST
from signaldesk.i18n import Words


@lru_cache(maxsize=1)
def japanese_font() -> Path | None:
    """Return the path of a font with Japanese glyphs (from matplotlib-fontja), or None."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "fonts" / "ipaexg.ttf"
    return path if path.is_file() else None


def equity_chart_png(points: Sequence[tuple[datetime, Decimal]], title: str, words: Words) -> bytes:
    """Draw equity after each trade as a step line (JST axis) and return the PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    font = japanese_font() if words.lang == "ja" else None
    text = {"fontproperties": FontProperties(fname=font)} if font else {}
    figure = Figure(figsize=(8, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    times = [moment.astimezone(JST) for moment, _ in points]
    values = [float(value) for _, value in points]  # floats only for drawing
    axes.step(times, values, where="post", marker="o" if len(points) < 40 else None)
    axes.set_title(title, **text)
    axes.set_ylabel(words.plain("JPY"), **text)
    axes.set_xlabel(words.plain("time (JST)"), **text)
    axes.grid(True, alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
