"""Sizing never breaks the risk or position limits, never sizes below the minimum or off the
step."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signaldesk.exchange.model import SymbolRules
from signaldesk.settings import RiskSettings
from signaldesk.sizing import size_for_risk, trade_levels

RULES = {
    "BTC_JPY": SymbolRules(
        "BTC_JPY",
        Decimal("0.001"),
        Decimal("5"),
        Decimal("0.001"),
        Decimal("1"),
        Decimal(0),
        Decimal(0),
    ),
    "ETH_JPY": SymbolRules(
        "ETH_JPY",
        Decimal("0.01"),
        Decimal("100"),
        Decimal("0.01"),
        Decimal("1"),
        Decimal(0),
        Decimal(0),
    ),
    "XRP_JPY": SymbolRules(
        "XRP_JPY",
        Decimal("10"),
        Decimal("100000"),
        Decimal("10"),
        Decimal("0.001"),
        Decimal(0),
        Decimal(0),
    ),
}
RISK = RiskSettings()
prices = st.decimals(
    min_value=Decimal("10000"), max_value=Decimal("20000000"), places=0
)  # ATR >= 5 ticks
equities = st.decimals(min_value=Decimal("1000"), max_value=Decimal("100000000"), places=0)
atr_fractions = st.decimals(min_value=Decimal("0.0005"), max_value=Decimal("0.05"), places=4)


@given(
    st.sampled_from(sorted(RULES)),
    st.sampled_from(["LONG", "SHORT"]),
    prices,
    atr_fractions,
    equities,
)
def test_size_respects_every_limit(symbol, direction, entry, atr_fraction, equity):
    rules = RULES[symbol]
    levels = trade_levels(direction, entry, entry * atr_fraction, rules.tick_size, RISK)
    sizing = size_for_risk(equity, levels, rules, RISK)
    if not sizing.ok:
        assert sizing.size == 0 and "minimum" in sizing.refusal
        return
    assert sizing.size * levels.stop_distance <= equity * RISK.risk_per_trade
    assert sizing.size * levels.entry <= equity * RISK.max_position_fraction
    assert rules.min_size <= sizing.size <= rules.max_size
    assert sizing.size % rules.size_step == 0


@given(st.sampled_from(sorted(RULES)), prices, atr_fractions, equities)
def test_refusal_only_when_even_the_minimum_is_too_much(symbol, entry, atr_fraction, equity):
    rules = RULES[symbol]
    levels = trade_levels("LONG", entry, entry * atr_fraction, rules.tick_size, RISK)
    sizing = size_for_risk(equity, levels, rules, RISK)
    minimum_fits = (
        rules.min_size * levels.stop_distance <= equity * RISK.risk_per_trade
        and rules.min_size * levels.entry <= equity * RISK.max_position_fraction
    )
    assert sizing.ok == minimum_fits


@given(st.sampled_from(["LONG", "SHORT"]), prices, atr_fractions)
def test_levels_sit_on_the_tick_and_never_further_than_planned(direction, entry, atr_fraction):
    atr = entry * atr_fraction
    levels = trade_levels(direction, entry, atr, Decimal("1"), RISK)
    sign = 1 if direction == "LONG" else -1
    for price in (levels.stop_loss, levels.take_profit_1, levels.take_profit_2):
        assert price % 1 == 0
    assert 0 < levels.stop_distance <= RISK.stop_atr_multiple * atr
    assert 0 < (levels.take_profit_1 - entry) * sign <= RISK.take_profit_1_atr_multiple * atr
    assert (levels.take_profit_1 - entry) * sign <= (levels.take_profit_2 - entry) * sign


def test_position_cap_binds_when_the_stop_is_wide():
    rules = RULES["BTC_JPY"]
    levels = trade_levels("LONG", Decimal("10000000"), Decimal("1000000"), rules.tick_size, RISK)
    sizing = size_for_risk(Decimal("1000000"), levels, rules, RISK)
    assert sizing.size == Decimal("0.010")  # 10% of 1,000,000 JPY at 10,000,000 JPY


def test_small_account_is_refused_with_the_reason():
    rules = RULES["ETH_JPY"]
    levels = trade_levels("SHORT", Decimal("500000"), Decimal("5000"), rules.tick_size, RISK)
    sizing = size_for_risk(Decimal("10000"), levels, rules, RISK)
    assert not sizing.ok and "below the minimum order of 0.01" in sizing.refusal


def test_zero_atr_is_a_clear_error():
    with pytest.raises(ValueError, match="ATR must be positive"):
        trade_levels("LONG", Decimal("100"), Decimal("0"), Decimal("1"), RISK)
