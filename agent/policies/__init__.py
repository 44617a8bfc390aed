"""Policies: the port (``base``) and its implementations (``rules``; the LLM policy comes later)."""
