"""The data set's files: chat JSONL per split, an index of what each line is, and a data card.

Policy: ``DIR/train.jsonl``, ``validation.jsonl`` and ``test.jsonl`` hold one ``{"messages": [system,
user, assistant]}`` object per line and nothing else (OpenAI's chat fine-tuning format; trainers
that refuse extra keys accept it). What a line is (split, line number, day, state, regime, chosen
candidate, utility, forward return, actions, positions and cash after, risk levels) goes to
``DIR/index.csv``. ``DIR/data_card.json`` and ``data_card.md`` give the counts per split and state,
the label distribution, the utility and its parameters, the candidate set, the acceptance rule,
the split dates and the data with its content hash (``bot.backtest.sweep_grid.data_hash`` for
synthetic and csv:DIR data; none for network sources). No clock is read: two runs of one request
write the same bytes.

Failure contract: ``OSError`` from the file system propagates (the caller checked the directory).
"""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.backtest.dataset import SPLITS, Example, Prepared, assistant_message, examples
from bot.backtest.dataset_check import HOLD_BAND, MAX_ROUNDS
from bot.backtest.dataset_labels import TOP_K
from bot.backtest.dataset_states import DESCRIPTIONS

INDEX_COLUMNS = ("split", "line", "day", "state", "regime", "candidate", "utility", "forward_return", "buys",
                 "sells", "holds", "positions_after", "cash_after", "levels", "rejected_candidates")
UTILITY = ("u = R if R >= 0 else loss_aversion * R, minus cvar_weight * max(0, CVaR_alpha of the portfolio's "
           "daily forward returns); R = the portfolio's compounded return over the horizon from the day's close "
           "(base currency, cash returns 0)")
CANDIDATES = ("keep, cash, and for k = 1..{k}: top<k> (the k listed instruments of best positive own utility, "
              "others sold), keep+top<k> (holdings of positive utility kept, the others sold, the k added); new "
              "positions at min(borderline_fraction x max_position_weight, (1 - min_cash_weight) / k)")
ACCEPTED = ("sized by the desk's size_decision; classified in order as if every BORDERLINE order were approved; "
            "UNSAFE ideas back to the current weight, clamped ones to the clamp, then sized and classified again "
            "(at most {rounds} rounds); accepted when the validation gate keeps every idea and classify_batch finds "
            "no UNSAFE order; HOLD within {band} of the current weight")


@dataclass
class Tally:
    """Counts and distributions gathered while writing."""

    rows: Counter[str] = field(default_factory=Counter)
    by_state: dict[str, Counter[str]] = field(default_factory=lambda: {s: Counter() for s in SPLITS})
    actions: Counter[str] = field(default_factory=Counter)
    positions: Counter[int] = field(default_factory=Counter)
    candidates: Counter[str] = field(default_factory=Counter)
    levels: Counter[str] = field(default_factory=Counter)
    cash: list[float] = field(default_factory=list)
    rejected: int = 0

    def add(self, example: Example) -> list[Any]:
        """Count one example; its index row."""
        label = example.label
        self.rows[example.split] += 1
        self.by_state[example.split][example.state] += 1
        acts = Counter(str(p.action) for p in label.accepted.decision.proposals)
        self.actions.update(acts)
        weights = label.accepted.weights
        cash = round(1 - sum(weights.values()), 4)
        self.positions[len(weights)] += 1
        self.candidates[label.candidate] += 1
        self.levels.update(label.accepted.levels)
        self.cash.append(cash)
        self.rejected += label.rejected
        return [example.split, self.rows[example.split], example.day.isoformat(), example.state, example.regime,
                label.candidate, f"{label.utility:.6f}", f"{label.forward_return:.6f}", acts["BUY"], acts["SELL"],
                acts["HOLD"], len(weights), f"{cash:.4f}", " ".join(label.accepted.levels), label.rejected]


def write_dataset(prepared: Prepared, target: Path, data: dict[str, Any],
                        on_day: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Write every file of the data set into ``target``; the card as a document."""
    target.mkdir(parents=True, exist_ok=True)
    tally = Tally()
    horizon = prepared.request.horizon
    files = {s: (target / f"{s}.jsonl").open("w", encoding="utf-8", newline="\n") for s in SPLITS}
    try:
        with (target / "index.csv").open("w", encoding="utf-8", newline="") as index_file:
            index = csv.writer(index_file, lineterminator="\n")
            index.writerow(INDEX_COLUMNS)
            for example in examples(prepared, on_day):
                line = {"messages": [*example.messages, assistant_message(example, horizon)]}
                files[example.split].write(json.dumps(line, ensure_ascii=False) + "\n")
                index.writerow(tally.add(example))
    finally:
        for handle in files.values():
            handle.close()
    card = data_card(prepared, tally, data)
    (target / "data_card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (target / "data_card.md").write_text(card_markdown(card), encoding="utf-8")
    return card


def data_card(prepared: Prepared, tally: Tally, data: dict[str, Any]) -> dict[str, Any]:
    """Counts, label distribution, utility, candidates, acceptance, splits and data, as one JSON document."""
    request, history = prepared.request, prepared.history
    days = history.close.index
    splits = {name: {"days": len(rows), "first_day": days[rows[0]].date().isoformat(),
                     "last_day": days[rows[-1]].date().isoformat(), "rows": tally.rows[name],
                     "by_state": dict(sorted(tally.by_state[name].items()))}
              for name, rows in prepared.splits.items()}
    cash = sorted(tally.cash)
    return {
        "format": "OpenAI chat fine-tuning JSONL: {\"messages\": [system, user, assistant]} per line; "
                  "what each line is: index.csv",
        "period": {"start": request.start.isoformat(), "end": request.end.isoformat()},
        "horizon_days": request.horizon, "seed": request.seed, "gap_days": request.horizon,
        "fractions": list(request.fractions), "rows": sum(tally.rows.values()), "splits": splits,
        "states": {s: DESCRIPTIONS[s] for s in request.states},
        "utility": {"formula": UTILITY, **asdict(request.utility)},
        "candidates": CANDIDATES.format(k=TOP_K),
        "accepted": ACCEPTED.format(rounds=MAX_ROUNDS, band=HOLD_BAND),
        "labels": {"candidates": dict(tally.candidates.most_common()), "actions": dict(sorted(tally.actions.items())),
                   "positions_after": {str(k): v for k, v in sorted(tally.positions.items())},
                   "cash_weight_after": _quantiles(cash), "risk_levels": dict(sorted(tally.levels.items())),
                   "rejected_candidates": tally.rejected},
        "prompt": {"max_instruments": request.max_instruments, "output_mode": request.output_mode,
                   "memories": "none (as in a replay)"},
        "data": data,
        "universe": {"name": prepared.spec.universe.name, "symbols": list(prepared.spec.universe.symbols)},
        "limits": request.limits.model_dump(), "initial_equity": str(request.sim.initial_cash),
    }


def _quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    cuts = statistics.quantiles(values, n=10, method="inclusive") if len(values) > 1 else [values[0]] * 9
    return {"min": values[0], "p10": round(cuts[0], 4), "median": round(statistics.median(values), 4),
            "p90": round(cuts[-1], 4), "max": values[-1], "mean": round(statistics.fmean(values), 4)}


def card_markdown(card: dict[str, Any]) -> str:
    """The data card as Markdown."""
    lines = [f"# Data card: hindsight-labelled decisions {card['period']['start']} → {card['period']['end']}", "",
             f"{card['rows']} examples; {card['format']}.", "",
             f"Data: {card['data'].get('source')} (content hash {card['data'].get('content_hash') or 'none'})"
             f"{' — SYNTHETIC' if card['data'].get('synthetic') else ''}; universe {card['universe']['name']} "
             f"({len(card['universe']['symbols'])} instruments). Seed {card['seed']}, horizon {card['horizon_days']} "
             f"trading days, gap between splits {card['gap_days']} days.", "",
             "| split | days | first day | last day | rows |", "|---|---|---|---|---|"]
    lines += [f"| {n} | {s['days']} | {s['first_day']} | {s['last_day']} | {s['rows']} |"
              for n, s in card["splits"].items()]
    lines += ["", "| state | description | " + " | ".join(card["splits"]) + " |",
              "|---|---|" + "---|" * len(card["splits"])]
    lines += [f"| {name} | {text} | " + " | ".join(str(s["by_state"].get(name, 0)) for s in card["splits"].values())
              + " |" for name, text in card["states"].items()]
    labels, utility = card["labels"], card["utility"]
    lines += ["", "## Labels", "",
              f"Utility: {utility['formula']}; loss_aversion {utility['loss_aversion']}, cvar_weight "
              f"{utility['cvar_weight']}, alpha {utility['alpha']}.", "", f"Candidates: {card['candidates']}.", "",
              f"Accepted: {card['accepted']}.", "",
              f"- chosen candidates: {_pairs(labels['candidates'])}", f"- actions: {_pairs(labels['actions'])}",
              f"- positions after: {_pairs(labels['positions_after'])}",
              f"- cash weight after: {_pairs(labels['cash_weight_after'])}",
              f"- risk levels of the labels' orders: {_pairs(labels['risk_levels'])}",
              f"- candidates the checks refused: {labels['rejected_candidates']}", ""]
    return "\n".join(lines)


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in values.items()) or "none"
