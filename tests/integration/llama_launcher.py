"""llama-cpp-python's OpenAI-compatible server, with the model's extra buffer types off.

Why: the default native build repacks the weights into "extra buffer types" (AMX) and every decode
segfaults on the project's VMs (../shared/INTEGRATION_NOTES.md). ``use_extra_bufts = False`` in the
model parameters avoids it. ``llama_cpp.Llama`` reads its parameters from
``llama_cpp.llama_cpp.llama_model_default_params()`` at load time, so wrapping that function before
the server loads the model is enough.

Usage (the arguments are the server's own): ``python tests/integration/llama_launcher.py --model PATH
--host 127.0.0.1 --port N …``. A standalone script: it imports nothing from the project.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def without_extra_bufts(default_params: Callable[[], Any]) -> Callable[[], Any]:
    """``default_params`` with ``use_extra_bufts`` switched off in what it returns."""

    def params() -> Any:
        value = default_params()
        value.use_extra_bufts = False
        return value

    return params


def main() -> None:
    """Patch the model parameters, then hand over to ``python -m llama_cpp.server``."""
    import llama_cpp.llama_cpp as native
    from llama_cpp.server.__main__ import main as server_main

    serve: Callable[[], object] = server_main  # the server's own entry point is untyped
    native.llama_model_default_params = without_extra_bufts(native.llama_model_default_params)
    serve()


if __name__ == "__main__":
    main()
