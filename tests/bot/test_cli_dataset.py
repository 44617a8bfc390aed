"""``paperdesk dataset``: one-line errors before any work; a run writes the splits, the index and the card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from tests.bot.csv_market import write_market
from tests.fakes.llm_answers import decision
from tests.fakes.openai_server import FakeOpenAI, answer

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def market(tmp_path: Path) -> dict[str, str]:
    return write_market(tmp_path / "market")


@pytest.mark.parametrize(("args", "message"), [
    (["--start", "2024-13-01", "--end", "2024-12-31"], "invalid --start '2024-13-01': use YYYY-MM-DD"),
    (["--start", "2024-06-01", "--end", "2024-01-01"], "empty range: --start 2024-06-01 must be before --end"),
    (["--start", "2024-01-01", "--end", "2024-06-01", "--split", "0.7,0.3"], "invalid --split '0.7,0.3'"),
    (["--start", "2024-01-01", "--end", "2024-06-01", "--states", "empty,bubble"], "unknown state(s) bubble"),
    (["--start", "2024-01-01", "--end", "2024-06-01", "--output-mode", "xml"], "unknown output mode 'xml'"),
    (["--start", "2024-01-01", "--end", "2024-01-19"], "too few for three splits"),
])
def test_bad_input_is_one_line_and_exit_1(market: dict[str, str], tmp_path: Path, args: list[str],
                                          message: str) -> None:
    code, stdout, stderr = run("dataset", *args, "--out", str(tmp_path / "out"), env=market)
    assert code == 1
    assert stderr.startswith("error: ") and stderr.count("\n") == 1
    assert message in stderr
    assert stdout == ""
    assert not (tmp_path / "out").exists()


def test_an_out_dir_that_cannot_be_written_is_refused_before_the_data_is_read(market: dict[str, str],
                                                                             tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code, _, stderr = run("dataset", "--start", "2024-01-01", "--end", "2024-06-28", "--out", str(blocker / "out"),
                          env=market)
    assert code == 1 and "is a file, not a directory" in stderr and stderr.count("\n") == 1


def test_a_run_writes_the_splits_the_index_and_the_card(market: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = run("dataset", "--start", "2024-03-01", "--end", "2024-06-28", "--out", str(out),
                               "--states", "empty,losing,cash_floor", "--horizon", "3", "--seed", "4", env=market)
    assert code == 0, stderr
    card = json.loads((out / "data_card.json").read_text(encoding="utf-8"))
    splits = card["splits"]
    assert f"dataset: {card['rows']} examples (train {splits['train']['rows']}, validation " in stdout
    assert str(out / "data_card.md") in stdout
    assert card["horizon_days"] == 3 and card["seed"] == 4 and set(card["states"]) == {"empty", "losing", "cash_floor"}
    assert card["data"]["content_hash"].startswith("csv:") and card["data"]["synthetic"] is False
    assert splits["train"]["last_day"] < splits["validation"]["first_day"] < splits["test"]["first_day"]
    for name in ("train", "validation", "test"):
        lines = (out / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == splits[name]["rows"] > 0
        roles = [m["role"] for m in json.loads(lines[0])["messages"]]
        assert roles == ["system", "user", "assistant"]
    assert (out / "index.csv").read_text(encoding="utf-8").count("\n") == card["rows"] + 1
    assert "# Data card" in (out / "data_card.md").read_text(encoding="utf-8")


def test_help_lists_the_command() -> None:
    code, stdout, _ = run("--help")
    assert code == 0 and "dataset" in stdout


@pytest.mark.parametrize("mode", ["auto", "prompt"])
def test_the_empty_state_prompt_is_the_one_the_llm_policy_sent_on_a_backtests_first_day(
        market: dict[str, str], tmp_path: Path, mode: str) -> None:
    market = {**market, "PAPERDESK_LLM_OUTPUT_MODE": mode}
    fake = FakeOpenAI().start()
    try:
        fake.default = answer(decision())
        env = {**market, "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": fake.url, "PAPERDESK_LLM_MAX_RETRIES": "0"}
        code, _, stderr = run("backtest", "--start", "2024-03-01", "--end", "2024-03-05", "--policy", "llm",
                              "--out", str(tmp_path / "bt"), env=env)
        assert code == 0, stderr
        sent = fake.requests[0]["messages"]
    finally:
        fake.stop()
    code, _, stderr = run("dataset", "--start", "2024-03-01", "--end", "2024-06-28", "--states", "empty",
                          "--out", str(tmp_path / "ds"), env=market)
    assert code == 0, stderr
    first = json.loads((tmp_path / "ds" / "train.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["messages"][:2] == sent
    assert "date 2024-03-01" in sent[1]["content"]
    assert ("matches this JSON schema" in sent[0]["content"]) is (mode == "prompt")
