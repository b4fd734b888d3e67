"""The equity-curve chart of the daily report, drawn with matplotlib's Agg backend into PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from signaldesk.clock import JST


def equity_chart_png(points: Sequence[tuple[datetime, Decimal]], title: str) -> bytes:
    """Draw equity after each trade as a step line (JST axis) and return the PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    times = [moment.astimezone(JST) for moment, _ in points]
    values = [float(value) for _, value in points]  # floats only for drawing
    axes.step(times, values, where="post", marker="o" if len(points) < 40 else None)
    axes.set_title(title)
    axes.set_ylabel("JPY")
    axes.grid(True, alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
