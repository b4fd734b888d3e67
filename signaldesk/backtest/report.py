"""The backtest's files on disk: trades.csv, summary.json, three PNG charts and report.md tying them
up."""

from __future__ import annotations

import csv
import json
from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from signaldesk.backtest import charts
from signaldesk.backtest.metrics import buy_and_hold, summarize
from signaldesk.backtest.result import BacktestResult, TradeRecord
from signaldesk.clock import JST

TRADE_FIELDS = [f.name for f in fields(TradeRecord)]
CHARTS = {
    "equity_png": "equity.png",
    "monthly_png": "monthly_returns.png",
    "signals_png": "signals.png",
}
TRADES_SHOWN = 50
FEW_TRADES = 30
MODEL_KEYS = ("model_versions", "model_version", "model")
POLICY_KEYS = ("approval_policy", "policy", "approve")


def write_outputs(result: BacktestResult, out_dir: Path) -> dict[str, Path]:
    """Write trades.csv, summary.json, the charts and report.md into `out_dir`; return the paths by
    name."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    desk, hold = summarize(result), buy_and_hold(result)
    paths = {
        "trades_csv": write_trades_csv(result.trades, folder / "trades.csv"),
        "summary_json": folder / "summary.json",
    }
    document = summary_document(desk, hold, result.meta)
    paths["summary_json"].write_text(
        json.dumps(document, indent=1, default=str) + "\n", encoding="utf-8"
    )
    paths["equity_png"] = charts.equity_chart(result, hold, folder / CHARTS["equity_png"])
    paths["monthly_png"] = charts.monthly_returns_chart(result, folder / CHARTS["monthly_png"])
    paths["signals_png"] = charts.signals_chart(result, folder / CHARTS["signals_png"])
    paths["report_md"] = folder / "report.md"
    written = [p.name for p in paths.values() if p.exists()]
    paths["report_md"].write_text(markdown(result, desk, hold, written), encoding="utf-8")
    return paths


def summary_document(desk: dict, hold: dict, meta: dict) -> dict:
    """Return summary.json's content: the desk's figures, buy-and-hold without its path, the run's
    facts."""
    return {**desk, "buy_and_hold": {k: v for k, v in hold.items() if k != "equity"}, "meta": meta}


def csv_value(value) -> str:
    """Render one trade field for the CSV: Decimals plain, times ISO UTC, None empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def write_trades_csv(trades: list[TradeRecord], path: Path) -> Path:
    """Write one row per trade, the header being TradeRecord's field names; return the path."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRADE_FIELDS)
        writer.writerows([csv_value(getattr(t, name)) for name in TRADE_FIELDS] for t in trades)
    return Path(path)


def _num(value, suffix: str = "", digits: int = 2) -> str:
    """Format a figure for a table; a dash when undefined."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return f"{Decimal(value):,.0f}{suffix}"
    return f"{value:,.{digits}f}{suffix}"


def _share(value: float | None) -> str:
    """Format a fraction as a percentage; a dash when undefined."""
    return "-" if value is None else f"{value * 100:.1f}%"


def _meta_value(meta: dict, keys: tuple[str, ...]) -> str | None:
    """Return the first of `keys` present in meta, as text."""
    for key in keys:
        if meta.get(key) not in (None, "", [], {}):
            value = meta[key]
            return (
                ", ".join(f"{k}: {v}" for k, v in value.items())
                if isinstance(value, dict)
                else (", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value))
            )
    return None


def markdown(result: BacktestResult, desk: dict, hold: dict, files: list[str]) -> str:
    """Return report.md: what this is, key figures vs buy-and-hold, charts, tables, caveats, run
    facts."""
    lines = [
        f"# Backtest {charts.period_label(result)} — model {model_label(result.meta)}",
        "",
        *intro_section(result),
        *key_figures_section(desk, hold),
        *charts_section(files),
        *trades_section(result),
        *counts_section(desk),
        *symbols_section(desk),
        *caveats_section(result, desk),
        *meta_section(result.meta),
    ]
    return "\n".join(lines) + "\n"


def model_label(meta: dict) -> str:
    """Return the model version(s) of the run: one version, or the walk-forward models' range."""
    blocks = [
        b.get("version") for b in meta.get("walk_forward_blocks") or [] if isinstance(b, dict)
    ]
    if blocks:
        return f"walk-forward, {len(blocks)} models ({blocks[0]} .. {blocks[-1]})"
    return _meta_value(meta, MODEL_KEYS) or "not recorded"


def intro_section(result: BacktestResult) -> list[str]:
    """Return the 'what this is' paragraph."""
    meta = result.meta
    policy = _meta_value(meta, POLICY_KEYS) or "not recorded"
    seed = meta.get("seed", "not recorded")
    thresholds = _meta_value(meta, ("thresholds",)) or "not recorded"
    return [
        "## What this is",
        "",
        f"History of {', '.join(result.symbols)} from {result.since.isoformat()} up to "
        f"{result.until.isoformat()} (UTC, end excluded) replayed candle by candle through the live "
        "desk's own code path: the same 15-minute cycle, model, signal rules, risk limits, approval and "
        "execution code, on the paper exchange. Paper fills follow its rules: post-only orders that "
        "would cross expire (as on GMO) and resting limit orders fill only when the market trades "
        "through them; there is no queue position or market impact. "
        f"A person's approvals are stood in for by the approval policy `{policy}` (seed {seed}). "
        f"Thresholds: {thresholds}.",
        "",
    ]


def key_figures_section(desk: dict, hold: dict) -> list[str]:
    """Return the key figures table, desk and buy-and-hold side by side."""

    def row(name: str, key: str, fmt) -> str:
        return f"| {name} | {fmt(desk.get(key))} | {fmt(hold[key]) if key in hold else '-'} |"

    jpy, pct, ratio = (
        (lambda v: _num(v, " JPY")),
        (lambda v: _num(v, "%")),
        (lambda v: _num(v, "", 3)),
    )
    return [
        "## Key figures",
        "",
        "| figure | desk | buy-and-hold (no fees) |",
        "|---|---:|---:|",
        row("starting equity", "starting_equity_jpy", jpy),
        row("ending equity", "ending_equity_jpy", jpy),
        row("total return", "total_return_pct", pct),
        row("max drawdown", "max_drawdown_jpy", jpy),
        row("max drawdown (% of peak)", "max_drawdown_pct", pct),
        row("Sharpe (daily, x sqrt 365)", "sharpe", ratio),
        row("Sortino (daily, x sqrt 365)", "sortino", ratio),
        *desk_only_rows(desk),
        "",
        "Daily figures use JST calendar days, annualised with sqrt(365); a dash means undefined (fewer "
        "than 2 daily returns, no spread of returns, or for Sortino no losing day). summary.json states "
        "every convention under `conventions`.",
        "",
    ]


def desk_only_rows(desk: dict) -> list[str]:
    """Return the key-figure rows that only the desk has (trades, fees, exposure, missed fills)."""

    def jpy(key: str) -> str:
        return _num(desk[key], " JPY")

    trades = desk["trades"]
    return [
        f"| trades closed / open at end / cancelled | {trades['closed']} / {trades['open_at_end']} / "
        f"{trades['cancelled']} | - |",
        f"| win rate (Wilson 95%) | {_share(desk['win_rate'])} {_interval(desk['win_rate_ci95'])} | - |",
        f"| profit factor | {_profit_factor(desk)} | - |",
        f"| expectancy per trade | {jpy('expectancy_jpy')} "
        f"({_num(desk['expectancy_pct'], '%', 3)}) | - |",
        f"| average win / average loss | {jpy('average_win_jpy')} / {jpy('average_loss_jpy')} | - |",
        f"| exposure (cycles with a position) | {_share(desk['exposure'])} | fully invested |",
        f"| fees paid / rebates received | {jpy('fees_paid_jpy')} / {jpy('fees_received_jpy')} | none |",
        f"| missed entries / post-only expired | {desk['missed_entries']} / "
        f"{desk['expired_post_only']} | - |",
    ]


def _interval(bounds: list[float] | None) -> str:
    """Format a win-rate interval."""
    return "" if bounds is None else f"({bounds[0] * 100:.0f}–{bounds[1] * 100:.0f}%)"


def _profit_factor(desk: dict) -> str:
    """Format the profit factor, saying why when it is undefined."""
    if desk["profit_factor"] is not None:
        return f"{desk['profit_factor']:.3f}"
    return (
        "∞ (no losing trade)"
        if Decimal(desk["gross_profit_jpy"]) > 0
        else "- (no closed trade with P/L)"
    )


def charts_section(files: list[str]) -> list[str]:
    """Return the embedded charts, linking only those that were written."""
    captions = {
        "equity.png": "Equity and drawdown, desk vs buy-and-hold",
        "monthly_returns.png": "Desk return by calendar month (JST)",
        "signals.png": "Close, entries, exits and the other signals by verdict",
    }
    out = ["## Charts", ""]
    for name, caption in captions.items():
        if name in files:
            out += [f"![{caption}]({name})", ""]
    return out


def trades_section(result: BacktestResult) -> list[str]:
    """Return the trades table (the first rows) and how many trades there are in all."""
    trades = result.trades
    shown = trades[:TRADES_SHOWN]
    out = [
        "## Trades",
        "",
        f"{len(trades)} trades in total"
        + (
            f"; the first {len(shown)} below, all of them in trades.csv."
            if len(trades) > len(shown)
            else " (all in trades.csv)."
        ),
        "",
    ]
    if shown:
        out += [
            "| # | symbol | side | status | entry (JST) | entry | exit (JST) | exit | reason | P/L JPY "
            "| fees JPY |",
            "|---:|---|---|---|---|---:|---|---:|---|---:|---:|",
        ]
        out += [_trade_row(t) for t in shown]
        out.append("")
    return out


def _trade_row(t: TradeRecord) -> str:
    """Return one trade as a Markdown table row."""

    def when(moment: datetime | None) -> str:
        return "-" if moment is None else f"{moment.astimezone(JST):%Y-%m-%d %H:%M}"

    def plain(
        value: Decimal | None,
    ) -> str:  # to the cent for reading; trades.csv keeps every digit
        return "-" if value is None else format(value.quantize(Decimal("0.01")), ",f")

    return (
        f"| {t.trade_id} | {t.symbol} | {t.direction} | {t.status} | {when(t.entry_time)} | "
        f"{plain(t.entry_price)} | {when(t.exit_time)} | {plain(t.exit_price)} | "
        f"{t.exit_reason or '-'} | {plain(t.pnl_jpy)} | {plain(t.fees_jpy)} |"
    )


def counts_section(desk: dict) -> list[str]:
    """Return the signals-by-verdict and exits-by-reason tables."""
    out = ["## Signals by verdict", "", "| verdict | scored rows |", "|---|---:|"]
    out += [f"| {status} | {n} |" for status, n in desk["verdicts"].items()] or ["| (none) | 0 |"]
    out += ["", "## Exits by reason", "", "| reason | trades | P/L JPY |", "|---|---:|---:|"]
    exits = desk["exits_by_reason"].items()
    out += [f"| {reason} | {e['trades']} | {e['pnl_jpy']} |" for reason, e in exits] or [
        "| (no closed trade) | 0 | 0 |"
    ]
    return [*out, ""]


def symbols_section(desk: dict) -> list[str]:
    """Return the per-symbol table."""
    out = [
        "## Per symbol",
        "",
        "| symbol | closed trades | P/L JPY | win rate |",
        "|---|---:|---:|---:|",
    ]
    out += [
        f"| {symbol} | {s['trades']} | {s['pnl_jpy']} | {_share(s['win_rate'])} |"
        for symbol, s in desk["per_symbol"].items()
    ]
    return [*out, ""]


def caveats_section(result: BacktestResult, desk: dict) -> list[str]:
    """Return the caveats that apply to this run, from its meta and its figures."""
    closed, still_open, out = (
        desk["trades"]["closed"],
        desk["trades"]["open_at_end"],
        ["## Caveats", ""],
    )
    if result.meta.get("data_source"):
        out.append(
            f"- Price data: {_meta_value(result.meta, ('data_source',))}. Where this is not GMO's own "
            "market, prices, spreads and fills are a proxy for what the desk would have met."
        )
    if closed < FEW_TRADES:
        out.append(
            f"- Only {closed} closed trades: the figures are not statistically meaningful; a few "
            "trades either way would change win rate, profit factor and return a lot."
        )
    else:
        out.append(
            f"- {closed} closed trades: the win rate's 95% interval is "
            f"{_interval(desk['win_rate_ci95'])}; one period of history is one sample of the market."
        )
    if result.meta.get("model_overlap"):
        out.append(
            f"- In-sample: {result.meta['model_overlap']}, which overlaps this period; the figures "
            "flatter the model there."
        )
    if Decimal(str(result.meta.get("leverage_fees_jpy") or 0)):
        out.append(
            f"- Leverage fees of {result.meta['leverage_fees_jpy']} JPY (for holding leverage "
            "positions) are in the equity but not in the trades' fees."
        )
    out += [f"- {caveat}" for caveat in result.meta.get("caveats") or []]
    if desk["return_days"] < 30:
        out.append(
            f"- Sharpe and Sortino rest on {desk['return_days']} daily returns; read them as rough."
        )
    if still_open:
        out.append(
            f"- {still_open} trade(s) still open at the end count in the ending equity at their last "
            "mark but not in the trade statistics."
        )
    out += [
        "- Buy-and-hold pays no fees, spread or slippage; the desk's trades pay fees (or earn maker "
        "rebates) and fill under the paper exchange's rules.",
        "- Approvals come from a policy, not a person, who would have approved some signals differently.",
        "",
    ]
    return out


def meta_section(meta: dict) -> list[str]:
    """Return every recorded fact of the run as a table."""
    if not meta:
        return []
    out = ["## Run facts", "", "| fact | value |", "|---|---|"]
    out += [f"| {key} | {_cell(value)} |" for key, value in meta.items()]
    return [*out, ""]


def _cell(value) -> str:
    """Render a meta value as JSON text that cannot break a Markdown table row."""
    return json.dumps(value, default=str, ensure_ascii=False).replace("|", "\\|")
