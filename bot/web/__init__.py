"""The dashboard, its JSON API and /metrics: FastAPI served by uvicorn on the caller's event loop.

Only this package imports fastapi, starlette and uvicorn. Every page reads the JSON API, and every
API route calls a desk use case (``bot/desk``) that the CLI and Telegram call too.
"""
