"""deploy/: env.example lists exactly the settings and loads as valid; the systemd unit verifies."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.settings import Settings, load_settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
LINE = re.compile(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$")
NOT_FIELDS = {"PAPERDESK_CONFIG"}  # read before the settings, to find the TOML file


def setting_names() -> set[str]:
    """Every environment variable Settings reads, nested tables included."""
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        table = field.annotation
        if isinstance(table, type) and issubclass(table, BaseModel):
            names |= {f"PAPERDESK_{name.upper()}__{key.upper()}" for key in table.model_fields}
        elif field.validation_alias is not None:
            names.add(str(field.validation_alias.choices[0]))  # type: ignore[union-attr]
        else:
            names.add(f"PAPERDESK_{name.upper()}")
    return names


def example_lines() -> dict[str, str]:
    found = {}
    for line in (DEPLOY / "env.example").read_text(encoding="utf-8").splitlines():
        match = LINE.match(line)
        if match:
            found[match[1]] = match[2].strip().strip('"')
    return found


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    listed = set(example_lines())
    assert listed - NOT_FIELDS == setting_names(), (
        f"missing: {sorted(setting_names() - listed)}; unknown: {sorted(listed - NOT_FIELDS - setting_names())}")


def test_env_example_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in example_lines().items():
        if name not in NOT_FIELDS:
            monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.home == Path("/var/lib/paperdesk") and settings.cycle_cron == "30 21 * * mon-fri"
    assert settings.risk.intraday_drop_halt == 0.03 and settings.notify.report == "on"


def test_the_unit_asks_for_notify_watchdog_and_hardening() -> None:
    unit = (DEPLOY / "paperdesk.service").read_text(encoding="utf-8")
    for line in ("Type=notify", "NotifyAccess=main", "Restart=on-failure", "EnvironmentFile=/etc/paperdesk/env",
                 "User=paperdesk", "StateDirectory=paperdesk", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "ProtectHome=yes", "PrivateTmp=yes", "ReadWritePaths=/var/lib/paperdesk"):
        assert f"\n{line}\n" in unit, line
    assert re.search(r"^WatchdogSec=\d+$", unit, re.MULTILINE)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    paperdesk = Path(sys.executable).parent / "paperdesk"  # the unit's ExecStart must exist to verify
    unit = (DEPLOY / "paperdesk.service").read_text(encoding="utf-8")
    copy = tmp_path / "paperdesk.service"
    copy.write_text(unit.replace("/opt/paperdesk/.venv/bin/paperdesk", str(paperdesk)), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0 and "paperdesk.service" not in result.stderr, result.stderr
