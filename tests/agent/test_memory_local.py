"""Real semantic recall with the local sentence-transformers model (the ``local-memory`` extra), offline."""

from __future__ import annotations

from pathlib import Path

from tests.memory_fixtures import SocketGuard, local_model, open_store, socket_guard

__all__ = ["local_model", "socket_guard"]  # fixtures


def test_the_local_model_recalls_by_meaning_not_by_words(tmp_path: Path, local_model: str,
                                                         socket_guard: SocketGuard) -> None:
    memory = open_store(tmp_path / "home", local_model)
    target = memory.remember("Human rejected BUY NVDA: too extended after an earnings run-up", "rejection",
                             {"symbol": "NVDA"})
    for text in ["Human approved BUY NVDA: the position is still small", "Gold is a hedge when equities fall",
                 "Keep more cash in a risk-off regime", "Human rejected BUY TLT: duration risk before the Fed"]:
        memory.remember(text, "note")
    found = memory.recall("the stock looks stretched after a big rally on its quarterly results", k=3)
    assert found[0].id == target.id
    assert not socket_guard.refused
    memory.close()


GUARDED_SCRIPT = """
import json, socket, sys
from pathlib import Path
refused = []
def _local(host):
    return isinstance(host, str) and (host in ("localhost", "::1") or host.startswith("127."))
real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo
def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        refused.append(str(address))
        raise ConnectionRefusedError("socket guard")
    return real_connect(self, address)
def getaddrinfo(host, *args, **kwargs):
    if host is not None and not _local(host):
        refused.append(str(host))
        raise socket.gaierror("socket guard")
    return real_getaddrinfo(host, *args, **kwargs)
socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo
from agent.memory.mem0_store import Mem0Options, open_mem0
memory = open_mem0(Mem0Options(home=Path(sys.argv[1]), embedder="local"))
kept = memory.remember("Human rejected BUY SPY: too extended after an earnings run-up", "rejection", {"symbol": "SPY"})
found = memory.recall("SPY stretched after a rally on results", 1, symbol="SPY")
memory.close()
print(json.dumps({"refused": refused, "found": found[0].id == kept.id}))
"""


def test_a_fresh_process_never_connects_off_the_machine(tmp_path: Path, local_model: str) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEM0_", "HF_", "TRANSFORMERS_"))}
    env["HOME"] = str(tmp_path / "user")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", GUARDED_SCRIPT, str(tmp_path / "home")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"refused": [], "found": True}
    assert not (tmp_path / "user" / ".mem0").exists() and (tmp_path / "home" / "memory" / "history.db").exists()
