"""Convert the shared 15-minute candle CSVs into freqtrade's data folder (feather, its default
format).

Runs inside freqtrade's virtual environment (pandas and pyarrow come with freqtrade):
<venv>/bin/python convert.py SHARED_DATA_DIR DATADIR writes DATADIR/binance/BTC_USDT-15m.feather and
ETH_USDT-15m.feather from btcusdt_binance_15m.csv.gz and ethusdt_binance_15m.csv.gz (timestamp in
epoch ms UTC, open, high, low, close, volume), the same candles `signaldesk backtest --candles`
reads.
"""

import sys
from pathlib import Path

import pandas as pd

PAIRS = {"BTC_USDT": "btcusdt_binance_15m.csv.gz", "ETH_USDT": "ethusdt_binance_15m.csv.gz"}


def convert(source: Path, datadir: Path) -> None:
    """Write one feather file per pair in freqtrade's OHLCV layout."""
    target = datadir / "binance"
    target.mkdir(parents=True, exist_ok=True)
    for pair, name in PAIRS.items():
        frame = pd.read_csv(source / name)
        candles = pd.DataFrame(
            {
                "date": pd.to_datetime(frame["timestamp"], unit="ms", utc=True),
                **{c: frame[c].astype(float) for c in ("open", "high", "low", "close", "volume")},
            }
        )
        candles.to_feather(target / f"{pair}-15m.feather", compression_level=9, compression="lz4")
        print(f"{pair}: {len(candles)} candles -> {target / f'{pair}-15m.feather'}")


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
