"""Long-term memory: a ``Memory`` protocol, a null implementation, and Mem0 (``agent.memory.mem0_store``)."""

from agent.memory.base import Memory, MemoryBusy, MemoryFailure, MemoryKind, MemoryRecord, NullMemory

__all__ = ["Memory", "MemoryBusy", "MemoryFailure", "MemoryKind", "MemoryRecord", "NullMemory"]
