"""The replay's options a command line offers before it loads the replay: the engines and the breaker window.

Kept apart from ``bot.backtest.engine`` and ``bot.backtest.run`` so that ``paperdesk backtest --help`` and an
option's one-line error need neither pandas nor the database.
"""

from __future__ import annotations

ENGINES = ("auto", "objects")
BREAKER_DAYS = 5
