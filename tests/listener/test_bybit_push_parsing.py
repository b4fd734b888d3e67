"""Parsing allLiquidation pushes: the side convention, Decimal fields, and malformed pushes
refused."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from signaldesk.liquidations import LONG, SHORT, Liquidation, PushError, parse_push
from tests.fakes.bybit_server import fixture

# Bybit v5 docs, allLiquidation, field S (quoted verbatim):
DOC_SENTENCE = (
    "Position side. Buy,Sell. When you receive a Buy update, this means that a long position has "
    "been liquidated"
)


def push_with(**entry_changes) -> dict:
    """Return the single-entry doc example with some entry fields changed."""
    frame = fixture("liquidation_push")
    frame["data"][0].update(entry_changes)
    return frame


def test_buy_means_a_long_position_was_liquidated_as_the_doc_says():
    assert (
        "When you receive a Buy update, this means that a long position has been liquidated"
        in DOC_SENTENCE
    )
    assert parse_push(push_with(S="Buy"))[0].side == LONG


def test_sell_means_a_short_position_was_liquidated():
    assert parse_push(push_with(S="Sell"))[0].side == SHORT


def test_doc_example_push_parses_to_decimals():
    assert parse_push(fixture("liquidation_push")) == [
        Liquidation("ROSEUSDT", SHORT, Decimal("20000"), Decimal("0.04499"), 1739502302929)
    ]


def test_notional_is_size_times_bankruptcy_price():
    assert parse_push(fixture("liquidation_push"))[0].notional_usd == Decimal("899.80000")


def test_batch_push_yields_every_entry_in_order():
    records = parse_push(fixture("liquidation_push_batch"))
    assert [(r.side, r.size, r.time_ms) for r in records] == [
        (LONG, Decimal("0.512"), 1767225600101),
        (LONG, Decimal("1.200"), 1767225600233),
        (SHORT, Decimal("0.004"), 1767225600480),
    ]


def test_empty_data_list_is_no_liquidation():
    frame = fixture("liquidation_push")
    frame["data"] = []
    assert parse_push(frame) == []


def test_time_given_as_digit_string_is_accepted():
    assert parse_push(push_with(T="1739502302929"))[0].time_ms == 1739502302929


def test_legacy_object_shaped_push_is_refused_with_its_topic():
    with pytest.raises(PushError, match="liquidation.BTCUSDT"):
        parse_push(fixture("liquidation_push_legacy"))


def test_data_object_instead_of_list_is_refused():
    frame = fixture("liquidation_push")
    frame["data"] = copy.deepcopy(frame["data"][0])
    with pytest.raises(PushError, match="data must be a list"):
        parse_push(frame)


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"S": "buy"}, "side"),
        ({"S": None}, "side"),
        ({"v": 20000}, "decimal string"),
        ({"v": "abc"}, "not a number"),
        ({"p": "-0.04"}, "positive"),
        ({"p": "NaN"}, "positive"),
        ({"v": "0"}, "positive"),
        ({"T": "yesterday"}, "epoch milliseconds"),
        ({"T": True}, "epoch milliseconds"),
        ({"s": "BTCUSDT"}, "does not match the topic"),
    ],
)
def test_malformed_entry_is_refused_naming_the_problem(changes, problem):
    with pytest.raises(PushError, match=problem):
        parse_push(push_with(**changes))


def test_entry_that_is_not_an_object_is_refused():
    frame = fixture("liquidation_push")
    frame["data"] = ["ROSEUSDT"]
    with pytest.raises(PushError, match="not an object"):
        parse_push(frame)
