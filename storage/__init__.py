"""Persistence: engine factory, SQLModel tables, Alembic migrations and the Store."""
