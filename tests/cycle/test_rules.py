"""Each cycle rule blocks when it should, with its reason recorded (pure functions, synthetic edge
cases)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from signaldesk.model.inference import Contribution
from signaldesk.rules import Candidate, Context, evaluate, status_of

PASSING = Candidate(
    "BTC_JPY", "LONG", confidence=0.80, confidence_rank=0.95, prob_long=0.80, prob_short=0.05
)
CALM = Context(
    spread_bps=Decimal("2"),
    volume_ratio=1.2,
    news_event=None,
    spike_side=None,
    spike_detail="",
    halted=False,
    halt_reason="",
    trades_today=0,
    loss_limit_breaches=(),
)


def verdict(settings, candidate=PASSING, context=CALM):
    checks = evaluate(candidate, context, settings)
    return status_of(checks), {c.rule: c for c in checks}


def test_a_clean_candidate_passes_every_rule(make_settings):
    status, checks = verdict(make_settings())
    assert status == "PENDING"
    assert all(c.ok for c in checks.values())
    assert list(checks) == [
        "data",
        "threshold",
        "top_rank",
        "spread",
        "volume",
        "news",
        "liquidations",
        "halted",
        "open_trade",
        "loss_streak",
        "trades_today",
        "loss_limits",
        "spot_short",
        "edge",
    ]


@pytest.mark.parametrize(
    "change, rule, status, words",
    [
        ({"confidence": 0.70, "prob_long": 0.70}, "threshold", "LOGGED", "0.700 < 0.75 (strategy"),
        ({"prob_short": 0.85}, "threshold", "LOGGED", "other side 0.850"),
        ({"confidence_rank": 0.85}, "top_rank", "LOGGED", "needs >= 90%"),
    ],
)
def test_model_rules_log_below_threshold(make_settings, change, rule, status, words):
    got, checks = verdict(make_settings(), candidate=PASSING._replace(**change))
    assert got == status and not checks[rule].ok and words in checks[rule].detail


def test_short_needs_its_own_higher_threshold(make_settings):
    short = Candidate("BTC_JPY", "SHORT", 0.78, 0.95, 0.02, 0.78)
    got, checks = verdict(make_settings(), candidate=short)
    assert got == "LOGGED" and "0.780 < 0.80" in checks["threshold"].detail


def with_config(make_settings, tmp_path, text: str):
    """Return settings read from a config.toml with `text`."""
    path = tmp_path / "config.toml"
    path.write_text(text)
    return make_settings(SIGNALDESK_CONFIG=str(path))


def test_the_model_s_operating_point_replaces_the_absolute_thresholds(make_settings):
    at_cutoff = PASSING._replace(confidence=0.58, prob_long=0.58, prob_short=0.42, cutoff=0.575)
    got, checks = verdict(make_settings(), candidate=at_cutoff)
    assert (
        got == "PENDING" and "0.580 >= 0.575 (model operating point" in checks["threshold"].detail
    )
    below = at_cutoff._replace(cutoff=0.581)
    got, checks = verdict(make_settings(), candidate=below)
    assert got == "LOGGED" and "0.580 < 0.581" in checks["threshold"].detail


def test_threshold_source_settings_keeps_the_absolute_thresholds(make_settings, tmp_path):
    settings = with_config(make_settings, tmp_path, '[strategy]\nthreshold_source = "settings"\n')
    candidate = PASSING._replace(confidence=0.58, prob_long=0.58, prob_short=0.42, cutoff=0.575)
    got, checks = verdict(settings, candidate=candidate)
    assert got == "LOGGED" and "0.580 < 0.75 (strategy threshold" in checks["threshold"].detail


@pytest.mark.parametrize(
    "edge, announce, ok, words",
    [
        (None, True, True, "not measured"),
        (True, True, True, "above zero"),
        (False, True, True, "no measured edge after costs: decision support only"),
        (False, False, False, "not announced: strategy.announce_without_edge = false"),
    ],
)
def test_the_edge_rule_says_whether_costs_are_covered(
    make_settings, tmp_path, edge, announce, ok, words
):
    settings = with_config(
        make_settings, tmp_path, f"[strategy]\nannounce_without_edge = {str(announce).lower()}\n"
    )
    got, checks = verdict(settings, candidate=PASSING._replace(measured_edge=edge))
    assert checks["edge"].ok is ok and words in checks["edge"].detail
    assert got == ("PENDING" if ok else "FILTERED")


@pytest.mark.parametrize(
    "change, rule, words",
    [
        ({"spread_bps": Decimal("6.5")}, "spread", "6.50 bps vs max 5"),
        ({"spread_bps": None}, "spread", "unknown"),
        ({"volume_ratio": 0.5}, "volume", "50% of its average"),
        ({"news_event": "US CPI at 2025-06-11 12:30 UTC"}, "news", "US CPI"),
        (
            {"spike_side": "long", "spike_detail": "longs liquidated: 40 liquidations"},
            "liquidations",
            "longs liquidated",
        ),
        ({"halted": True, "halt_reason": "/stop by 111"}, "halted", "/stop by 111"),
        ({"trades_today": 3}, "trades_today", "3 of 3"),
        (
            {"loss_limit_breaches": ("Loss limit reached today (JST)",)},
            "loss_limits",
            "today (JST)",
        ),
        ({"data_problem": "2 candle(s) missing"}, "data", "missing"),
        (
            {"liquidation_blind": "liquidation feed unavailable since 20:47 JST"},
            "liquidations",
            "unavailable since 20:47 JST",
        ),
        (
            {"news_warning": "no news calendar at /x/news.csv", "news_blocks": True},
            "news",
            "no news calendar at /x/news.csv (filtered)",
        ),
        (
            {"held": "BTC_JPY already has open trade #3 LONG (at most 1 per symbol)."},
            "open_trade",
            "already has open trade #3",
        ),
        ({"paused": "5 losing trades in a row"}, "loss_streak", "5 losing trades in a row"),
    ],
)
def test_each_market_and_desk_rule_filters_with_its_reason(make_settings, change, rule, words):
    got, checks = verdict(make_settings(), context=CALM._replace(**change))
    assert got == "FILTERED"
    assert [name for name, c in checks.items() if not c.ok] == [rule]
    assert words in checks[rule].detail


def test_a_missing_calendar_only_warns_where_it_does_not_filter(make_settings):
    context = CALM._replace(news_warning="no news calendar at /x/news.csv", news_blocks=False)
    got, checks = verdict(make_settings(), context=context)
    assert got == "PENDING" and checks["news"].ok
    assert checks["news"].detail == "no news calendar at /x/news.csv (warning only in paper mode)"


def test_spot_symbols_cannot_go_short(make_settings):
    settings = make_settings()
    short = Candidate("BTC", "SHORT", 0.9, 0.99, 0.01, 0.9)
    got, checks = verdict(settings, candidate=short)
    assert got == "FILTERED" and not checks["spot_short"].ok
    assert verdict(settings, candidate=short._replace(symbol="BTC_JPY"))[0] == "PENDING"


def test_a_liquidation_spike_blocks_only_the_direction_it_matches(make_settings):
    from types import SimpleNamespace

    from signaldesk.cycle import Market, Scored, judge
    from signaldesk.exchange.model import BookLevel, OrderBook

    settings = make_settings()
    book = OrderBook(
        "BTC_JPY",
        (BookLevel(Decimal("100.01"), Decimal(1)),),
        (BookLevel(Decimal("100"), Decimal(1)),),
    )
    market = Market(
        {"BTC_JPY": book},
        {},
        None,
        {("BTC_JPY", "short"): "shorts liquidated: 9 liquidations"},
        False,
        "",
        0,
        (),
        Decimal("1000000"),
    )
    for direction, blocked in (("LONG", False), ("SHORT", True)):
        prediction = SimpleNamespace(
            direction=direction, confidence=0.5, confidence_rank=0.5, prob_long=0.5, prob_short=0.4
        )
        scored = Scored(
            "BTC_JPY",
            None,
            Decimal(100),
            None,
            None,
            features={"volume_ratio": 1.0},
            prediction=prediction,
        )
        judge(scored, market, settings)
        check = next(c for c in scored.checks if c.rule == "liquidations")
        assert check.ok is not blocked


def test_only_verdicts_that_are_not_logged_are_explained():
    from signaldesk.cycle import Scored, explain_verdict

    asked = []

    def explain():
        asked.append(1)
        return [Contribution("rsi_14", 0.7, 0.2)]

    logged = Scored(
        "BTC_JPY", None, None, None, None, features={}, status="LOGGED", explain=explain
    )
    filtered = Scored(
        "BTC_JPY", None, None, None, None, features={}, status="FILTERED", explain=explain
    )
    explain_verdict(logged)
    explain_verdict(filtered)
    assert "top" not in logged.features and len(asked) == 1
    assert filtered.features["top"] == [{"feature": "rsi_14", "value": 0.7, "contribution": 0.2}]
