"""Which embedder built a memory collection, and the refusal when the embedder changes.

Policy: vectors of two embedding models cannot be compared, even when they have the same length,
and vectors of different lengths cannot even be searched together. So the vector size is never
assumed: it is measured by embedding a probe text when the store opens, and the collection is
stamped (``<home>/memory/embedders.json``: collection → embedding model and vector size). On each
open the measured size and the configured model are compared with the stamp and with the size the
vector store itself holds (which also covers stores made before stamps existed). An empty
collection is simply remade for the new embedder; a collection holding memories is refused with
``EmbedderChanged``, whose message names both embedders and the two ways out.

Failure contract: ``EmbedderChanged`` and an unreadable stamp file are ``MemoryFailure``s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from agent.memory.base import MemoryFailure

STAMPS = "embedders.json"


@dataclass(frozen=True)
class Stamp:
    """The embedding model of a collection and the length of its vectors."""

    model: str
    dims: int


class EmbedderChanged(MemoryFailure):
    """The configured embedder is not the one that built the stored memories."""


def read_stamp(directory: Path, collection: str) -> Stamp | None:
    """The stamp of ``collection``, if it was stamped."""
    path = directory / STAMPS
    if not path.exists():
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8")).get(collection)
        return None if entry is None else Stamp(str(entry["model"]), int(entry["dims"]))
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise MemoryFailure(f"cannot read {path} ({type(exc).__name__}): move it aside to re-stamp the store") from None


def write_stamp(directory: Path, collection: str, stamp: Stamp) -> None:
    """Record ``stamp`` for ``collection`` (other collections' stamps are kept)."""
    path = directory / STAMPS
    stamps = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    stamps[collection] = {"model": stamp.model, "dims": stamp.dims}
    path.write_text(json.dumps(stamps, indent=2, sort_keys=True), encoding="utf-8")


def mismatch(built: Stamp | None, stored_dims: int | None, now: Stamp) -> Stamp | None:
    """What built a collection that holds memories, when ``now`` cannot search it; else None."""
    if stored_dims is not None and stored_dims != now.dims:
        return built if built is not None and built.dims == stored_dims else Stamp("an earlier model", stored_dims)
    if built is not None and (built.model, built.dims) != (now.model, now.dims):
        return built
    return None


def changed(directory: Path, built: Stamp, now: Stamp, memories: int, setting: str) -> EmbedderChanged:
    """The refusal, with what to do next."""
    return EmbedderChanged(
        f"the memory store in {directory} was built with embedding model {built.model!r} ({built.dims}-dimensional "
        f"vectors) but the embedder is now {now.model!r} ({now.dims}): their vectors cannot be compared. "
        f"To keep its {memories} memories, configure {built.model!r} again ({setting}); to start an empty "
        f"memory with {now.model!r}, move {directory} aside")
