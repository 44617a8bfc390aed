"""``paperdesk compare`` on real backtests: real replays on the synthetic market in a fresh PAPERDESK_HOME, the
real SQLite store and run directories, then the comparison as a user runs it; one-line errors on bad input."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app

runner = CliRunner()
PERIOD = ("--start", "2023-01-03", "--end", "2023-05-31")
FREE = {"PAPERDESK_SIM__SLIPPAGE_BPS": "0", "PAPERDESK_SIM__COMMISSION_BPS": "0", "PAPERDESK_SIM__MIN_COMMISSION": "0"}


def run(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"PAPERDESK_HOME": str(home), "COLUMNS": "80", **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def backtest(home: Path, policy: str, *extra: str, env: dict[str, str] | None = None) -> dict[str, object]:
    code, out, err = run(home, "backtest", *PERIOD, "--data", "synthetic", "--policy", policy, "--json", *extra,
                         env=env)
    assert code == 0, err
    document: dict[str, object] = json.loads(out)
    return document


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, dict[str, object]]]]:
    """One home with three runs: rules, equal weight, and equal weight without costs (replayed once per module)."""
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("PAPERDESK_") or k in {"OPENAI_API_KEY", "COLUMNS"}]:
            patch.delenv(key)
        home = tmp_path_factory.mktemp("compare") / "home"
        runs = {"rules": backtest(home, "rules"), "equal_weight": backtest(home, "equal_weight"),
                "free": backtest(home, "equal_weight", env=FREE)}
        yield home, runs


def _one_line_error(stderr: str) -> str:
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    return stderr


def test_compare_prints_80_column_tables_and_a_plain_sentence_per_benchmark(desk: tuple[Path, dict]) -> None:
    home, runs = desk
    ids = [runs["rules"]["run_id"], runs["equal_weight"]["run_id"]]
    code, out, err = run(home, "compare", *ids)
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "SYNTHETIC DATA" in out and "common days, 2023-01-03 → 2023-05-31" in out
    for run_id in ids:
        for benchmark in ("SPY buy-and-hold", "equal-weight universe"):
            sentence = re.compile(rf"{run_id} \(\w+\): (beats|trails|no evidence of beating) {benchmark} at 95%")
            assert sentence.search(out.replace("\n", " ")), (run_id, benchmark, out)


def test_the_json_document_holds_intervals_psr_and_a_dsr_deflated_by_the_trials(desk: tuple[Path, dict]) -> None:
    home, runs = desk
    ids = [runs["rules"]["run_id"], runs["equal_weight"]["run_id"]]
    code, out, err = run(home, "compare", *ids, "--json", "--seed", "3")
    assert code == 0, err
    document = json.loads(out)
    assert document["trials"] == 2 and document["days"] == runs["rules"]["folds"][0]["days"]
    assert [r["run_id"] for r in document["runs"]] == ids
    for figures in document["runs"]:
        assert 0 <= figures["dsr"] <= figures["psr"] <= 1  # deflating never raises the probability
        for versus in figures["versus"].values():
            for name in ("cagr", "sharpe"):
                interval = versus[name]
                assert interval["low"] <= interval["high"]
            assert versus["verdict"] in {"beats", "trails", "no evidence"}
    # the CAGR is that of the stored run's curve on the same days
    assert document["runs"][0]["cagr"] == pytest.approx(runs["rules"]["metrics"]["cagr"], rel=1e-4)
    assert run(home, "compare", *ids, "--json", "--seed", "3")[1] == out  # same seed, same intervals
    more = json.loads(run(home, "compare", *ids, "--json", "--seed", "3", "--trials", "50")[1])
    for few, many in zip(document["runs"], more["runs"], strict=True):
        assert many["dsr"] < few["dsr"] and many["psr"] == few["psr"]


def test_turnover_is_the_stored_one_and_costs_follow_the_runs_broker(desk: tuple[Path, dict]) -> None:
    home, runs = desk
    code, out, err = run(home, "compare", runs["equal_weight"]["run_id"], runs["free"]["run_id"], "--json")
    assert code == 0, err
    paid, free = json.loads(out)["runs"]
    assert paid["turnover"] == pytest.approx(runs["equal_weight"]["metrics"]["turnover"], rel=1e-3)
    assert paid["turnover"] > 0 and paid["costs"] > 0
    assert free["costs"] == 0


def test_last_n_compares_the_latest_runs(desk: tuple[Path, dict]) -> None:
    home, runs = desk
    code, out, err = run(home, "compare", "--last", "2", "--json")
    assert code == 0, err
    assert {r["run_id"] for r in json.loads(out)["runs"]} == {runs["equal_weight"]["run_id"], runs["free"]["run_id"]}


def test_a_walk_forward_run_is_compared_by_its_own_id_on_its_chained_curve(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folds = backtest(home, "equal_weight", "--walk-forward", "2")
    code, out, err = run(home, "compare", folds["run_id"], "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["days"] == sum(f["days"] for f in folds["folds"])
    code, out, err = run(home, "compare", f"{folds['run_id']}-f2", "--json")
    assert code == 0, err
    assert json.loads(out)["days"] == folds["folds"][1]["days"]


def test_an_unknown_run_id_is_a_one_line_error_naming_it(desk: tuple[Path, dict]) -> None:
    home, runs = desk
    code, out, err = run(home, "compare", runs["rules"]["run_id"], "btnosuchrun")
    assert code == 1 and out == ""
    assert "no backtest run 'btnosuchrun'" in _one_line_error(err)


def test_runs_with_no_common_days_are_a_one_line_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = backtest(home, "rules")
    code, out, err = run(home, "backtest", "--start", "2023-08-01", "--end", "2023-09-29", "--data", "synthetic",
                         "--policy", "equal_weight", "--json")
    assert code == 0, err
    later = json.loads(out)["run_id"]
    code, out, err = run(home, "compare", str(first["run_id"]), later)
    assert code == 1 and out == ""
    message = _one_line_error(err)
    assert "share 0 day(s)" in message and str(first["run_id"]) in message and later in message


def test_a_run_without_its_files_is_a_one_line_error_naming_the_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    document = backtest(home, "equal_weight")
    (Path(str(document["out_dir"])) / "benchmarks.csv").unlink()
    code, _, err = run(home, "compare", str(document["run_id"]))
    assert code == 1 and "benchmarks.csv is missing" in _one_line_error(err)


@pytest.mark.parametrize(("args", "message"), [
    ((), "name the runs to compare"),
    (("bt1", "--confidence", "1.5"), "invalid --confidence 1.5"),
    (("--last", "3"), "no backtest runs stored yet"),
])
def test_bad_input_is_one_line_and_exit_1(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = run(tmp_path / "home", "compare", *args)
    assert code == 1 and out == ""
    assert message in _one_line_error(err)
