"""Sleeves (issue 17): a desk divided into named sets of instruments, each with its own policy, under a
master allocator that sets each sleeve's budget (its share of desk equity).

``allocator`` (the rules allocator and its bounds), ``allocator_llm`` (an LLM's allocation, under the
same bounds), ``policy`` (the sleeved policy: each sleeve decides in its own capital), ``log`` (where
allocations and sleeve days are kept; ``sql_log`` in the database), ``plan`` (the sleeves from the
settings, and the risk engine's view of them), ``wiring`` (the live desk's and a replay's plan).
"""
