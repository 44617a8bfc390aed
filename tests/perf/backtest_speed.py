"""Benchmark: ``paperdesk backtest`` against backtrader's daily equal-weight rebalancing, as whole processes.

Run as a plain script, not part of the test suite (needs ``pip install -e '.[bench]'`` for
backtrader): ``python tests/perf/backtest_speed.py [--years N] [--quick]``.

Every figure is the CPU time (user + sys, from ``os.wait4``) of one child process started with this
Python — imports, data loading, the replay, charts and files included — the median of 3 runs; the
tools run side by side, alternating, in the same invocation. paperdesk runs as its console script
(the entry point named in ``pyproject.toml``) in a temporary PAPERDESK_HOME with default settings;
backtrader runs ``tests/perf/backtrader_runner.py`` on a panel of the same base-currency adjusted
closes (``backtest_bench_data``). Measured, with the targets of issue 19:

1. ``--policy rules`` on the seed universe, real CSVs 2015-01-02..2024-12-31 (paperdesk ≥ 2× faster);
2. the marginal CPU per simulated year: that run minus a 2015-01-02..2015-03-31 run, over the
   difference in years (≥ 20×);
3. ``--policy rules`` and ``--policy equal_weight`` on the S&P 500 panel (498 instruments; a
   universe file and per-symbol CSVs written from it; 10 M of cash for both tools), 10 years, or
   the first N with ``--years N`` (printed as shortened) (≥ 30×);
4. ``--policy llm`` over item 1's period replayed from the LLM cache, against item 1's paperdesk
   time (within 2×): the cache is recorded once, untimed, against the local fake OpenAI-compatible
   server (``tests/fakes/openai_server.py``), which is stopped before the timed replays.

There is no compiled code any more (the array replay was removed), so the first-run compile cost
is none. ``--quick`` is a smoke run: one repetition, one-year periods. A run that fails is shown
as FAILED with the command that reproduces it, and the rest goes on.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf import backtest_bench_data as bench_data  # noqa: E402

RUNNER = Path(__file__).with_name("backtrader_runner.py")
START, END, SHORT_END = date(2015, 1, 2), date(2024, 12, 31), date(2015, 3, 31)
SEED_CASH, SP500_CASH = 100_000, 10_000_000  # paperdesk's default initial cash; 500 positions need more
SCRUBBED = ("PAPERDESK_", "OPENAI_", "TELEGRAM_", "ALPACA_")
COMPILE_LINE = "first-run compile cost: none (no compiled code since the array replay was removed)"


class BenchError(RuntimeError):
    """A timed process failed; the message has its last line and the command that reproduces it."""


@dataclass(frozen=True)
class Job:
    """One process to time: its command and its environment."""

    argv: list[str]
    env: dict[str, str]

    def shell(self) -> str:
        """The command line with its paperdesk and LLM variables, to reproduce a failure."""
        names = [f"{k}={v}" for k, v in self.env.items() if k.startswith(SCRUBBED[:2])]
        return " ".join([*names, *(f"'{a}'" if " " in a else a for a in self.argv)])


@dataclass(frozen=True)
class Row:
    """One line of the table: a paperdesk figure against a reference, and the target ratio."""

    measure: str
    ours: float | None
    reference: float | None
    target: float
    lower_is_target: bool = False  # the llm row: ours / reference must stay under the target

    def ratio(self) -> float | None:
        """reference / ours (how many times faster paperdesk is), or ours / reference for the llm row."""
        if self.ours is None or self.reference is None or min(self.ours, self.reference) <= 0:
            return None
        return self.ours / self.reference if self.lower_is_target else self.reference / self.ours

    def line(self) -> str:
        """The row as printed."""
        ratio = self.ratio()
        met = "n/a" if ratio is None else "yes" if (ratio <= self.target if self.lower_is_target
                                                    else ratio >= self.target) else "NO"
        target = f"≤ {self.target:g}×" if self.lower_is_target else f"≥ {self.target:g}×"
        return (f"{self.measure:<50}{_num(self.ours):>11}{_num(self.reference):>11}"
                f"{'-' if ratio is None else f'{ratio:.2f}×':>9}{target:>8}{met:>6}")


def _num(value: float | None) -> str:
    return "failed" if value is None else f"{value:.2f}"


def paperdesk_argv() -> list[str]:
    """The ``paperdesk`` command: the entry point named in pyproject.toml, run by this Python."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    module, _, func = scripts["paperdesk"].partition(":")
    return [sys.executable, "-c", f"import sys; from {module} import {func}; sys.exit({func}())"]


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """This environment less every paperdesk, LLM, Telegram and Alpaca setting, plus ``home`` and ``extra``.

    ``PYTHONDONTWRITEBYTECODE`` goes too: with it, every run compiles the editable sources again
    (about 0.3 s), which an installed copy never does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED) and k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PAPERDESK_HOME": str(home), **extra}


def backtest_job(home: Path, policy: str, data_dir: Path, end: date, **extra: str) -> Job:
    """``paperdesk backtest --policy POLICY --data csv:DIR`` from START to ``end``, printing JSON."""
    argv = [*paperdesk_argv(), "backtest", "--policy", policy, "--data", f"csv:{data_dir}",
            "--start", str(START), "--end", str(end), "--json"]
    return Job(argv, clean_env(home, **extra))


def backtrader_job(panel: Path, end: date, cash: int) -> Job:
    """The backtrader runner on ``panel`` from START to ``end``."""
    argv = [sys.executable, str(RUNNER), str(panel), "--start", str(START), "--end", str(end), "--cash", str(cash)]
    return Job(argv, clean_env(Path(tempfile.gettempdir())))


def timed(job: Job) -> tuple[float, float, str]:
    """User + sys CPU seconds, wall seconds and stdout of one run of ``job``; BenchError when it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(job.argv, env=job.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        last = (stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BenchError(f"exit {proc.returncode}: {last}\n      reproduce: {job.shell()}")
    return usage.ru_utime + usage.ru_stime, wall, stdout


def outcome(stdout: str) -> str:
    """What a run produced, in a few words: days, fills, final value (and LLM calls)."""
    try:
        document = json.loads(stdout)
    except ValueError:
        return (stdout.strip().splitlines() or [""])[-1]
    fold, counts = document["folds"][0], document.get("counts", {})
    text = (f"{fold['days']} days, {counts.get('filled', 0)} fills, {counts.get('proposals_safe', 0)} safe / "
            f"{counts.get('proposals_borderline', 0)} borderline / {counts.get('proposals_unsafe', 0)} unsafe, "
            f"final {fold['final_equity']:,.2f}")
    llm = document.get("llm")
    return text + (f", llm calls {llm['calls_made']} made / {llm['calls_replayed']} replayed" if llm else "")


def side_by_side(label: str, jobs: dict[str, Job], reps: int) -> dict[str, float | None]:
    """Median CPU seconds of each job over ``reps`` alternating rounds; None for a job that failed."""
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    failed: set[str] = set()
    for rep in range(reps):
        for name, job in jobs.items():
            if name in failed:
                continue
            try:
                cpu, wall, stdout = timed(job)
            except BenchError as exc:
                print(f"  {label} · {name}: FAILED {exc}", flush=True)  # noqa: T201
                failed.add(name)
                continue
            samples[name].append(cpu)
            said = f"  [{outcome(stdout)}]" if rep == 0 else ""
            print(f"  {label} · {name} run {rep + 1}: {cpu:.2f} s CPU, {wall:.2f} s wall{said}", flush=True)  # noqa: T201
    return {name: None if name in failed else statistics.median(s) for name, s in samples.items()}


def years(start: date, end: date) -> float:
    """Calendar years from ``start`` to ``end``, both included."""
    return ((end - start).days + 1) / 365.25


def years_on(count: int) -> date:
    """The last day of the ``count`` calendar years that START opens (END at most)."""
    return min(END, date(START.year + count - 1, 12, 31))


def period(end: date) -> str:
    """``2015-2024``: the calendar years from START to ``end``."""
    return f"{START.year}-{end.year}" if end.year > START.year else f"{START}..{end}"


def marginal(long: float | None, short: float | None, span: float) -> float | None:
    """CPU seconds per simulated year between two runs ``span`` years apart."""
    return None if long is None or short is None else (long - short) / span


def seed_rows(work: Path, universe_dir: Path, end: date, reps: int) -> tuple[list[Row], float | None]:
    """Items 1 and 2: the rules policy on the seed universe, a long and a 3-month run; and the long run's CPU."""
    panel = work / "seed_panel.csv"
    bench_data.seed_panel(universe_dir, START, END, panel)
    runs = {}
    for stop in (end, SHORT_END):
        runs[stop] = side_by_side(f"seed rules {START}..{stop}", {
            "paperdesk": backtest_job(work / "home_seed", "rules", universe_dir, stop),
            "backtrader": backtrader_job(panel, stop, SEED_CASH)}, reps)
    long, short = runs[end], runs[SHORT_END]
    span = years(START, end) - years(START, SHORT_END)
    return [Row(f"1 seed x30 rules {period(end)}", long["paperdesk"], long["backtrader"], 2.0),
            Row(f"2 seed rules, per simulated year ({span:.2f} y)",
                marginal(long["paperdesk"], short["paperdesk"], span),
                marginal(long["backtrader"], short["backtrader"], span), 20.0)], long["paperdesk"]


def sp500_rows(work: Path, panel: Path, end: date, reps: int) -> list[Row]:
    """Item 3: the rules and equal_weight policies on the S&P 500 panel against backtrader."""
    universe, data_dir, count = bench_data.sp500_universe(panel, work)
    extra = {"PAPERDESK_UNIVERSE": str(universe), "PAPERDESK_SIM__INITIAL_CASH": str(SP500_CASH)}
    medians = side_by_side(f"S&P 500 ({count}) {START}..{end}", {
        "paperdesk rules": backtest_job(work / "home_sp500_rules", "rules", data_dir, end, **extra),
        "paperdesk equal_weight": backtest_job(work / "home_sp500_ew", "equal_weight", data_dir, end, **extra),
        "backtrader": backtrader_job(panel, end, SP500_CASH)}, reps)
    return [Row(f"3 S&P 500 x{count} {policy} {period(end)}", medians[f"paperdesk {policy}"],
                medians["backtrader"], 30.0) for policy in ("rules", "equal_weight")]


def llm_row(work: Path, universe_dir: Path, end: date, rules_cpu: float | None, reps: int) -> Row:
    """Item 4: record the LLM cache once against the fake server, stop it, time the replays."""
    from tests.fakes.openai_server import FakeOpenAI, answer

    home = work / "home_llm"
    server = FakeOpenAI().start()
    documents = bench_data.llm_answers(4_000)  # more than the trading days of ten years
    server.script(*(answer(d) for d in documents))
    server.default = answer(documents[0])
    env = {"OPENAI_API_KEY": "x", "OPENAI_BASE_URL": server.url, "PAPERDESK_LLM_MAX_RETRIES": "0",
           "PAPERDESK_LLM_TIMEOUT_SECONDS": "30"}
    label = f"4 seed x30 llm replay {period(end)}"
    try:
        cpu, wall, stdout = timed(backtest_job(home, "llm", universe_dir, end, PAPERDESK_LLM_CACHE="record", **env))
    except BenchError as exc:
        print(f"  llm record: FAILED {exc}", flush=True)  # noqa: T201
        return Row(label, None, rules_cpu, 2.0, lower_is_target=True)
    finally:
        server.stop()
    print(f"  llm record (not in the table): {cpu:.2f} s CPU, {wall:.2f} s wall, {len(server.requests)} "  # noqa: T201
          f"requests  [{outcome(stdout)}]", flush=True)
    replay = side_by_side("llm replay, server stopped", {
        "paperdesk llm": backtest_job(home, "llm", universe_dir, end, PAPERDESK_LLM_CACHE="replay", **env)}, reps)
    return Row(label, replay["paperdesk llm"], rules_cpu, 2.0, lower_is_target=True)


def main(argv: list[str]) -> None:
    """Measure every item side by side, then print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=10, choices=range(1, 11), metavar="N",
                        help="replay only the first N (1-10) years in the S&P 500 runs")
    parser.add_argument("--quick", action="store_true", help="smoke run: one repetition, one-year periods")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("backtrader") is None:
        raise SystemExit("backtrader is not installed: pip install -e '.[bench]'")
    shared = bench_data.shared_dir()
    reps, long_end = (1, years_on(1)) if args.quick else (3, END)
    sp_end = years_on(1 if args.quick else args.years)
    print(f"whole processes, CPU s (user+sys), median of {reps}; {os.cpu_count()} CPUs, load average "  # noqa: T201
          f"{os.getloadavg()[0]:.2f}; paperdesk = {' '.join(paperdesk_argv()[2:])}", flush=True)
    if sp_end < END:
        print(f"S&P 500 runs shortened to {START}..{sp_end} (not 10 years)", flush=True)  # noqa: T201
    with tempfile.TemporaryDirectory(prefix="paperdesk-bench-") as tmp:
        work = Path(tmp)
        universe_dir = shared / "data" / "universe"
        rows, rules_cpu = seed_rows(work, universe_dir, long_end, reps)
        rows += sp500_rows(work, shared / "data" / "sp500" / "adj_close_2015_2024.csv", sp_end, reps)
        rows.append(llm_row(work, universe_dir, long_end, rules_cpu, reps))
    print(f"\n{'measure':<50}{'paperdesk':>11}{'reference':>11}{'ratio':>9}{'target':>8}{'met':>6}")  # noqa: T201
    print("\n".join(row.line() for row in rows))  # noqa: T201
    print("CPU seconds per run (row 2: per simulated year); reference: backtrader (rows 1-3), the rules "  # noqa: T201
          "policy of row 1 (row 4); ratio: times faster than backtrader (rows 1-3), llm / rules (row 4)")
    print(COMPILE_LINE)  # noqa: T201


if __name__ == "__main__":
    main(sys.argv[1:])
