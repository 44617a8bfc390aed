"""The sleeves as users see them: ``paperdesk sleeves``, text and JSON (Telegram: tests/bot/telegram)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app as cli
from bot.sleeves.views import sleeves_view
from tests.bot.conftest import AppFactory
from tests.bot.sleeves.test_sleeves_desk import SLEEVES

CONFIG = """
[sleeves.us_equity]
asset_class = ["us_equity", "small_cap", "intl_equity"]
base_weight = 0.4
[sleeves.commodities]
asset_class = ["commodity", "bond"]
base_weight = 0.2
defensive = true
[sleeves.paris]
asset_class = "eu_equity"
policy = "equal_weight"
base_weight = 0.3
"""


def cli_run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_the_cli_shows_each_sleeve_and_its_figures(tmp_path: Path) -> None:
    config = tmp_path / "paperdesk.toml"
    config.write_text(CONFIG, encoding="utf-8")
    env = {"PAPERDESK_CONFIG": str(config)}
    for day in ("2026-11-19", "2026-11-20"):
        code, _, err = cli_run("cycle", "--as-of", day, env=env)
        assert code == 0, err
    code, out, err = cli_run("sleeves", env={**env, "COLUMNS": "200"})
    assert code == 0, err
    assert "Sleeves · allocated on 2026-11-19 (" in out
    assert "us_equity" in out and "equal_weight" in out and "per sleeve" in out
    code, out, _ = cli_run("sleeves", "--json", env=env)
    view = json.loads(out)
    assert [s["name"] for s in view["lines"]] == ["us_equity", "commodities", "paris"]
    assert sum(s["budget"] for s in view["lines"]) + view["cash"] == pytest.approx(1)
    assert [f["sleeve"] for f in view["document"]["figures"]] == ["us_equity", "commodities", "paris"]
    assert all(f["days"] == 2 for f in view["document"]["figures"])
    code, out, _ = cli_run("status", "--json", env=env)
    assert json.loads(out)["sleeves"] == {s["name"]: s["budget"] for s in view["lines"]}
    code, out, _ = cli_run("status", env={**env, "COLUMNS": "200"})
    assert "sleeves: us_equity 40.0% · commodities 20.0% · paris 30.0%" in out
    code, out, err = cli_run("report", env=env)
    assert code == 0, err
    assert "per sleeve" in out and "allocation.png" in out
    assert (Path(out.split("chart: ")[-1].strip())).stat().st_size > 5_000


def test_a_desk_without_sleeves_says_how_to_make_them() -> None:
    code, out, err = cli_run("sleeves", env={})
    assert code == 1 and out == ""
    assert err.startswith("error: this desk has no sleeves: describe them in [sleeves.NAME]") and err.count("\n") == 1


def test_before_any_cycle_the_budgets_are_the_base_weights(make_app: AppFactory) -> None:
    app = make_app(policy="sleeves", sleeves=SLEEVES)
    view = asyncio.run(sleeves_view(app.desk))
    assert [(s.name, s.budget, s.weight) for s in view.lines] == [("us_equity", 0.4, 0.0), ("commodities", 0.2, 0.0),
                                                                   ("paris", 0.3, 0.0)]
    assert view.allocated_on is None and view.document == {"figures": [], "allocations": []}
