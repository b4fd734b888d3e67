"""The freqtrade side of the backtest benchmark: RSI + Bollinger entries, a 2 x ATR stop and a
4-hour exit.

A long entry when RSI(14) is below 30 and the close is below the lower Bollinger band (20, 2 sd), on
15-minute candles; the stop sits 2 x ATR(14) of the signal candle below the entry price (set once,
when the entry fills); every trade still open 4 hours after its entry leaves at the next candle
(minimal_roi "240": -1). Spot, long only. The indicators are TA-Lib's, as in freqtrade's own
templates.
"""

from datetime import datetime, timedelta

import talib.abstract as ta
from freqtrade.exchange import timeframe_to_minutes
from freqtrade.persistence import Order, Trade
from freqtrade.strategy import IStrategy, stoploss_from_absolute
from pandas import DataFrame


class RsiBollingerAtr(IStrategy):
    """RSI + Bollinger mean reversion with an ATR stop and a time exit."""

    INTERFACE_VERSION = 3
    timeframe = "15m"
    can_short = False
    minimal_roi = {"240": -1}
    stoploss = -0.99
    use_custom_stoploss = True
    use_exit_signal = False
    process_only_new_candles = True
    startup_candle_count = 100

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """RSI(14), Bollinger bands (20, 2) and ATR(14)."""
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        bands = ta.BBANDS(dataframe, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
        dataframe["bb_lower"] = bands["lowerband"]
        dataframe["atr"] = ta.ATR(dataframe, timeperiod=14)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """Enter long on a stretched close: RSI < 30 and below the lower band."""
        dataframe.loc[
            (dataframe["rsi"] < 30) & (dataframe["close"] < dataframe["bb_lower"]), "enter_long"
        ] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """No exit signal: the stop and the 4-hour exit close every trade."""
        return dataframe

    def order_filled(
        self, pair: str, trade: Trade, order: Order, current_time: datetime, **kwargs
    ) -> None:
        """On the entry fill, fix the stop at 2 x ATR of the signal candle below the entry price."""
        if order.ft_order_side != trade.entry_side or trade.get_custom_data("stop") is not None:
            return
        dataframe, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        # the entry fills at the open of the candle after the signal candle
        signal_time = trade.open_date_utc - timedelta(minutes=timeframe_to_minutes(self.timeframe))
        candle = dataframe.loc[dataframe["date"] == signal_time]
        if not candle.empty:
            trade.set_custom_data("stop", trade.open_rate - 2 * float(candle["atr"].iloc[-1]))

    def custom_stoploss(
        self,
        pair: str,
        trade: Trade,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        after_fill: bool,
        **kwargs,
    ) -> float | None:
        """Keep the stop at its fixed price (relative to the current rate, as freqtrade wants)."""
        stop = trade.get_custom_data("stop")
        if stop is None:
            return None
        return stoploss_from_absolute(stop, current_rate, is_short=trade.is_short)
