"""write_outputs on a labelled synthetic backtest result: every file written, readable and
consistent."""

from __future__ import annotations

import csv
import json
import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from signaldesk.backtest.report import model_label, write_outputs
from signaldesk.backtest.result import BacktestResult, SignalRecord, TradeRecord

# Synthetic edge-case data: a smooth deterministic price wave over five days, 60 trades on it, every
# verdict.
SINCE = datetime(
    2024, 1, 29, 15, 0, tzinfo=UTC
)  # 2024-01-30 00:00 JST, so the run spans two JST months
STEPS = 5 * 96
START = D("1000000")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SUMMARY_KEYS = {
    "period",
    "symbols",
    "starting_equity_jpy",
    "ending_equity_jpy",
    "total_return_pct",
    "trades",
    "win_rate",
    "profit_factor",
    "expectancy_jpy",
    "expectancy_pct",
    "average_win_jpy",
    "average_loss_jpy",
    "max_drawdown_jpy",
    "max_drawdown_pct",
    "sharpe",
    "sortino",
    "exposure",
    "fees_paid_jpy",
    "fees_received_jpy",
    "missed_entries",
    "expired_post_only",
    "verdicts",
    "exits_by_reason",
    "per_symbol",
    "buy_and_hold",
    "meta",
}


def moment(step: int) -> datetime:
    """Return the close time of the step-th 15-minute candle."""
    return SINCE + timedelta(minutes=15 * (step + 1))


def close(symbol: str, step: int) -> D:
    """Return a deterministic synthetic close: a slow sine wave around a base price."""
    base = D("10000000") if symbol == "BTC_JPY" else D("500000")
    return (base * D(1 + 0.05 * math.sin(step / 40))).quantize(D("1"))


def trade(i: int) -> TradeRecord:
    """Return the i-th synthetic trade: alternating symbols and sides, mostly closed, a few open or
    cancelled."""
    symbol, step = ("BTC_JPY", "ETH_JPY")[i % 2], 4 + i * 7
    status = "cancelled" if i % 11 == 5 else "open" if i == 59 else "closed"
    filled, is_closed = status != "cancelled", status == "closed"
    pnl = D(1500 - 2900 * (i % 3 == 0)) + D("0.25") * i
    return TradeRecord(
        trade_id=i + 1,
        signal_id=100 + i,
        symbol=symbol,
        direction=("LONG", "SHORT")[i % 4 == 1],
        status=status,
        size=D("0.01"),
        filled_size=D("0.01") if filled else D("0"),
        entry_time=moment(step) if filled else None,
        entry_price=close(symbol, step) if filled else None,
        exit_time=moment(step + 5) if is_closed else None,
        exit_price=close(symbol, step + 5) if is_closed else None,
        exit_reason=("tp1", "stop_loss", "time_stop")[i % 3] if is_closed else None,
        pnl_jpy=pnl if is_closed else None,
        fees_jpy=D("-1.5") if filled else D("0"),
        fees_paid_jpy=D("0.5") if filled else D("0"),
        fees_received_jpy=D("2.0") if filled else D("0"),
        signal_time=moment(step - 1),
    )


def synthetic_result() -> BacktestResult:
    """Return a two-symbol, five-day synthetic result with trades, signals of every verdict and
    meta."""
    symbols = ("BTC_JPY", "ETH_JPY")
    trades = [trade(i) for i in range(60)]
    pnl_by_exit = {t.exit_time: t.pnl_jpy for t in trades if t.status == "closed"}
    equity, level = [], START
    for step in range(STEPS):
        level += pnl_by_exit.get(moment(step), D(0))
        equity.append((moment(step), level))
    statuses = ("FILTERED", "REJECTED", "EXPIRED", "BLOCKED", "EXECUTED")
    signals = [
        SignalRecord(
            moment(s),
            symbols[s % 2],
            ("LONG", "SHORT")[s % 2],
            statuses[s % 5],
            close(symbols[s % 2], s),
            0.6,
        )
        for s in range(0, STEPS, 9)
    ]
    return BacktestResult(
        since=SINCE,
        until=moment(STEPS - 1),
        symbols=symbols,
        starting_equity=START,
        equity=equity,
        exposure=[(moment(s), s % 3 == 0) for s in range(STEPS)],
        prices={sym: [(moment(s), close(sym, s)) for s in range(STEPS)] for sym in symbols},
        trades=trades,
        signals=signals,
        verdicts={"LOGGED": 900, "FILTERED": 12, "EXECUTED": 55},
        missed_entries=5,
        expired_post_only=2,
        meta={
            "model": "2024-01-15-lgbm",
            "policy": "approve all",
            "seed": 7,
            "thresholds": {"long": 0.6, "short": 0.6},
            "leverage_fees_jpy": "12.5",
            "data_source": {
                "BTC_JPY": "Binance BTCUSDT 15m scaled to JPY",
                "ETH_JPY": "Binance ETHUSDT 15m",
            },
            "model_overlap": "the model saw candles from 2023-01-01 to 2024-01-31 00:00",
            "caveats": [
                "No liquidation history is replayed: the liquidation-spike rule never fires."
            ],
        },
    )


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> tuple[BacktestResult, dict[str, Path]]:
    """Write the synthetic result's outputs once for every test of this module."""
    result = synthetic_result()
    return result, write_outputs(result, tmp_path_factory.mktemp("backtest") / "out")


def test_every_file_is_written(outputs):
    _, paths = outputs
    assert {p.name for p in paths.values() if p.is_file()} == {
        "trades.csv",
        "summary.json",
        "equity.png",
        "monthly_returns.png",
        "signals.png",
        "report.md",
    }


@pytest.mark.parametrize("name", ["equity_png", "monthly_png", "signals_png"])
def test_charts_are_png_files_of_some_substance(outputs, name):
    data = outputs[1][name].read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5_000


def test_trades_csv_round_trips_to_the_same_decimals_and_times(outputs):
    result, paths = outputs
    with open(paths["trades_csv"], newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(result.trades)
    for row, t in zip(rows, result.trades, strict=True):
        assert D(row["pnl_jpy"]) == t.pnl_jpy if t.pnl_jpy is not None else row["pnl_jpy"] == ""
        assert (D(row["fees_jpy"]), D(row["filled_size"]), row["symbol"]) == (
            t.fees_jpy,
            t.filled_size,
            t.symbol,
        )
        assert datetime.fromisoformat(row["signal_time"]) == t.signal_time
        assert row["signal_time"].endswith("+00:00")


def test_summary_json_has_every_figure(outputs):
    _, paths = outputs
    summary = json.loads(paths["summary_json"].read_text(encoding="utf-8"))
    assert SUMMARY_KEYS <= summary.keys()
    assert (
        summary["trades"]["closed"] == 54
    )  # 60 less 5 cancelled (i % 11 == 5) less the open last one
    assert (
        "equity" not in summary["buy_and_hold"]
        and summary["buy_and_hold"]["total_return_pct"] is not None
    )
    assert summary["meta"]["seed"] == 7


def test_report_md_links_each_chart_and_counts_the_trades(outputs):
    _, paths = outputs
    text = paths["report_md"].read_text(encoding="utf-8")
    for name in ("equity_png", "monthly_png", "signals_png"):
        assert f"]({paths[name].name})" in text
    assert "60 trades in total; the first 50 below" in text
    assert len(re.findall(r"^\| \d+ \| (BTC|ETH)_JPY \|", text, flags=re.MULTILINE)) == 50
    assert "# Backtest 2024-01-30 00:00 – 2024-02-04 00:00 JST — model 2024-01-15-lgbm" in text


def test_report_md_caveats_come_from_the_run_facts(outputs):
    _, paths = outputs
    caveats = (
        paths["report_md"]
        .read_text(encoding="utf-8")
        .split("## Caveats")[1]
        .split("## Run facts")[0]
    )
    assert (
        "Price data: BTC_JPY: Binance BTCUSDT 15m scaled to JPY, ETH_JPY: Binance ETHUSDT 15m"
        in caveats
    )
    assert "In-sample: the model saw candles from 2023-01-01 to 2024-01-31 00:00" in caveats
    assert (
        "Leverage fees of 12.5 JPY" in caveats
        and "the liquidation-spike rule never fires" in caveats
    )
    assert "not statistically meaningful" not in caveats  # 54 closed trades


def test_an_empty_run_still_writes_everything_and_says_it_means_nothing(tmp_path):
    empty = BacktestResult(
        since=SINCE,
        until=moment(95),
        symbols=("BTC_JPY",),
        starting_equity=START,
        equity=[],
        exposure=[],
        prices={},
        trades=[],
        signals=[],
        verdicts={},
        missed_entries=0,
        expired_post_only=0,
    )
    paths = write_outputs(empty, tmp_path)
    text = paths["report_md"].read_text(encoding="utf-8")
    assert all(p.is_file() for p in paths.values())
    assert (
        "0 trades in total" in text
        and "Only 0 closed trades: the figures are not statistically meaningful" in text
    )


def test_model_label_names_one_version_or_the_walk_forward_range():
    blocks = [{"version": "wf-20240101"}, {"version": "wf-20240131"}, {"version": "wf-20240301"}]
    assert (
        model_label({"model": "v7"}),
        model_label({"model": "walk-forward", "walk_forward_blocks": blocks}),
        model_label({}),
    ) == ("v7", "walk-forward, 3 models (wf-20240101 .. wf-20240301)", "not recorded")
