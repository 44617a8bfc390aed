"""The prompt shows the CVaR the method asks for, and a large universe is listed as a shortlist:
holdings first, then the rules policy's strongest signals, the rest in one line per asset class; the
gate drops a proposal for a symbol the model was not shown."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from agent.llm.gate import screen
from agent.llm.prompt import user_message
from agent.llm.shortlist import shortlist
from agent.policies.base import HoldingView, PolicyContext, TailRisk
from broker.models import AssetClass
from tests.agent.factories import context, instrument, row
from tests.fakes.llm_answers import decision, idea

LIMITS = {"max_position_weight": 0.25, "min_cash_weight": 0.1, "max_cvar_95": 0.03}


def with_risk(ctx: PolicyContext, risk: TailRisk) -> PolicyContext:
    return replace(ctx, limits=LIMITS, tail_risk_source=lambda: risk)


def trend(strength: float, vol: float = 0.20) -> dict[str, object]:
    """An up-trend of ``strength`` above SMA200 (score = strength / vol)."""
    return row(close=100 * (1 + strength), sma50=100 * (1 + strength / 2), sma200=100.0, vol60=vol)


def downtrend(strength: float) -> dict[str, object]:
    return row(close=100 * (1 - strength), sma50=100.0, sma200=100.0)


def held(weights: Mapping[str, float]) -> dict[str, HoldingView]:
    return {s: HoldingView(s, w, 0.01, 10) for s, w in weights.items()}


def test_prompt_shows_instrument_cvar_and_the_portfolio_cvar_against_its_limit() -> None:
    ctx = with_risk(context({"AAA": row(), "BBB": row()}, holdings=held({"AAA": 0.2, "BBB": 0.1})),
                    TailRisk(instrument_cvar={"AAA": 0.0251, "BBB": 0.0409}, portfolio_cvar=0.012,
                             holding_max_correlation={"AAA": ("BBB", 0.72), "BBB": ("AAA", 0.72)}))
    text = user_message(ctx)
    header = next(line for line in text.splitlines() if line.startswith("symbol|"))
    column = header.split("|").index("cvar95%")
    lines = {line.split("|")[0]: line.split("|") for line in text.splitlines() if line.count("|") > 5}
    assert lines["AAA"][column] == "2.5" and lines["BBB"][column] == "4.1"
    assert "CVaR(95%, 1 day) 1.20% vs limit 3.00% (40% used)" in text
    assert "AAA 20.0% +1.0% 10d corr BBB 0.72" in text and "BBB 10.0% +1.0% 10d corr AAA 0.72" in text


def test_an_unmeasured_tail_risk_prints_as_unknown_not_as_zero() -> None:
    text = user_message(replace(context({"AAA": row()}), limits=LIMITS))
    assert "CVaR(95%, 1 day) unknown" in text
    assert "AAA|" in text and text.count("corr ") == 0
    line = next(line for line in text.splitlines() if line.startswith("AAA|")).split("|")
    assert line[7] == "-"  # the cvar95% cell


def test_a_universe_within_the_cap_is_listed_whole_and_alphabetically() -> None:
    ctx = context({"CCC": row(), "AAA": row(), "BBB": row()}, holdings=held({"CCC": 0.1}))
    listed = shortlist(ctx, max_instruments=3)
    assert listed.shown == ("AAA", "BBB", "CCC") and listed.complete
    text = user_message(ctx, listed=listed)
    assert "\ninstruments:\n" in text and "not listed" not in text


def test_the_shortlist_is_holdings_by_weight_then_the_strongest_tradable_up_trends() -> None:
    rows = {"LIGHT": downtrend(0.1), "HEAVY": trend(0.01), "WEAK": trend(0.05), "STRONG": trend(0.30),
            "CALM": trend(0.10, vol=0.05), "LOCKED": trend(0.50), "DOWN": downtrend(0.3), "MID": trend(0.12)}
    instruments = {s: instrument(s, tradable=s != "LOCKED") for s in rows}
    ctx = context(rows, instruments=instruments, holdings=held({"LIGHT": 0.05, "HEAVY": 0.15}))
    # scores (strength / vol): CALM 2.0, STRONG 1.5, MID 0.6, WEAK 0.25; LOCKED is not tradable
    assert shortlist(ctx, max_instruments=5).shown == ("HEAVY", "LIGHT", "CALM", "STRONG", "MID")
    assert shortlist(ctx, max_instruments=7).shown == ("HEAVY", "LIGHT", "CALM", "STRONG", "MID", "WEAK", "LOCKED")
    listed = shortlist(ctx, max_instruments=1)  # holdings are always listed, even beyond the cap
    assert listed.shown == ("HEAVY", "LIGHT") and set(listed.hidden) == set(rows) - {"HEAVY", "LIGHT"}


def test_the_unlisted_rest_is_one_summary_line_per_asset_class() -> None:
    classes = {"E1": AssetClass.US_EQUITY, "E2": AssetClass.US_EQUITY, "E3": AssetClass.US_EQUITY,
               "G1": AssetClass.COMMODITY, "G2": AssetClass.COMMODITY, "TOP": AssetClass.US_EQUITY}
    rows = {"E1": trend(0.02), "E2": downtrend(0.05), "E3": trend(0.04), "G1": trend(0.01), "G2": downtrend(0.02),
            "TOP": trend(0.4)}
    instruments = {s: instrument(s, asset_class=c) for s, c in classes.items()}
    ctx = with_risk(context(rows, instruments=instruments),
                    TailRisk(instrument_cvar={"E1": 0.02, "E2": 0.03, "E3": 0.04, "G1": 0.01, "G2": 0.03}))
    listed = shortlist(ctx, max_instruments=1)
    assert listed.shown == ("TOP",)
    text = user_message(ctx, listed=listed)
    assert "a shortlist of 1 of 6" in text and "propose only these" in text
    summary = text[text.index("not listed, per asset class"):].splitlines()[1:3]
    assert summary[0].startswith("commodity: 2 (1 up-trending), ") and "cvar95% 2.0" in summary[0]
    assert summary[1].startswith("us_equity: 3 (2 up-trending), ") and "cvar95% 3.0" in summary[1]
    assert "E1|" not in text and "G1|" not in text


def test_the_gate_drops_a_symbol_the_model_was_not_shown_but_keeps_holdings() -> None:
    universe = frozenset({"SPY", "GLD", "TLT", "QQQ"})
    result = screen(decision(idea("SPY", 0.1), idea("GLD", 0.1), idea("TLT", 0.05, action="SELL"),
                             idea("XYZ", 0.1)),
                    universe, {"TLT": 0.10}, 0.10, shown=frozenset({"SPY", "QQQ"}))
    assert result.decision is not None
    assert [p.symbol for p in result.decision.proposals] == ["SPY", "TLT"]
    dropped = {d.symbol: d for d in result.dropped}
    assert dropped["XYZ"].code == "UNKNOWN_SYMBOL"
    assert dropped["GLD"].code == "NOT_SHOWN" and "listed in the prompt" in dropped["GLD"].detail


def large_context(size: int) -> PolicyContext:
    """``size`` instruments in four asset classes, five holdings, every tail-risk figure known."""
    classes = [AssetClass.US_EQUITY, AssetClass.EU_EQUITY, AssetClass.COMMODITY, AssetClass.BOND]
    symbols = [f"S{k:03d}.XX" for k in range(size)]
    rows = {s: trend(0.01 * (k % 37), vol=0.1 + 0.01 * (k % 29)) for k, s in enumerate(symbols)}
    instruments = {s: instrument(s, asset_class=classes[k % 4], sector=f"sector_{k % 11}")
                   for k, s in enumerate(symbols)}
    holdings = held(dict.fromkeys(symbols[:5], 0.05))
    risk = TailRisk(instrument_cvar={s: 0.01 + 0.001 * (k % 40) for k, s in enumerate(symbols)},
                    portfolio_cvar=0.011, holding_max_correlation=dict.fromkeys(symbols[1:5], (symbols[0], 0.5)))
    return with_risk(context(rows, instruments=instruments, holdings=holdings), risk)


def test_a_500_instrument_prompt_stays_within_its_character_budget_and_does_not_grow() -> None:
    large, medium = large_context(500), large_context(120)
    text = user_message(large, listed=shortlist(large))
    assert len(text) <= 5_000  # about 1,400 tokens; the whole universe listed would be about 30,000 characters
    assert sum(line.count("|") == 12 for line in text.splitlines()) == 40 + 1  # the cap's lines and the header
    assert len(text.splitlines()) == len(user_message(medium, listed=shortlist(medium)).splitlines())
    assert abs(len(text) - len(user_message(medium, listed=shortlist(medium)))) <= 60
    whole = user_message(large, listed=shortlist(large, max_instruments=500))
    assert len(whole) > 6 * len(text)
