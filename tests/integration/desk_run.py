"""``paperdesk`` as a user runs it, in a subprocess, against an OpenAI-compatible endpoint on 127.0.0.1.

Policy: the installed console script (``.venv/bin/paperdesk``) with a clean environment: nothing
``PAPERDESK_*`` or secret leaks in from the caller's shell; the home directory, the endpoint and the
LLM settings are set here. ``PAPERDESK_LLM_MAX_TOKENS`` bounds one answer to about a minute at the
~14 tokens/s a 135M model makes under a JSON grammar on 2 cores; the timeout is generous and
retries are off, so a slow answer is waited for once rather than asked for again.

Failure contract: ``paperdesk`` returns the finished process (never raises on a non-zero exit);
a process that outlives ``timeout`` raises ``subprocess.TimeoutExpired``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-20"  # a fixed trading day of the synthetic market
MAX_TOKENS = 1000
LLM_TIMEOUT_SECONDS = 600
_SECRETS = {"OPENAI_API_KEY", "OPENAI_BASE_URL", "TELEGRAM_BOT_TOKEN", "ALPACA_API_KEY", "ALPACA_SECRET_KEY"}


def desk_env(home: Path, base_url: str, model: str) -> dict[str, str]:
    """The caller's environment without our settings or secrets, plus an LLM desk in ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERDESK_") and k not in _SECRETS}
    env.pop("COLUMNS", None)
    return {**env, "PAPERDESK_HOME": str(home), "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-local-llama",
            "PAPERDESK_LLM_MODEL": model, "PAPERDESK_LLM_MAX_TOKENS": str(MAX_TOKENS),
            "PAPERDESK_LLM_TIMEOUT_SECONDS": str(LLM_TIMEOUT_SECONDS), "PAPERDESK_LLM_MAX_RETRIES": "0",
            "PAPERDESK_LOG_FORMAT": "json"}


def paperdesk(env: dict[str, str], *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """Run the installed ``paperdesk`` console script with ``args``."""
    script = Path(sys.executable).with_name("paperdesk")
    return subprocess.run([str(script), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def json_of(proc: subprocess.CompletedProcess[str]) -> Any:
    """The JSON document a ``--json`` command printed, or an AssertionError showing what it printed instead."""
    if proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr[-2000:]}")
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"not JSON: {proc.stdout[:500]!r}\nstderr: {proc.stderr[-2000:]}") from None
