"""Options a command line offers before it loads the replay: the engines, the breaker window, the data set's states.

Kept apart from ``bot.backtest.engine``, ``bot.backtest.run`` and ``bot.backtest.dataset_states`` so that
``paperdesk backtest --help``, ``paperdesk dataset --help`` and an option's one-line error need neither pandas
nor the database.
"""

from __future__ import annotations

ENGINES = ("auto", "objects")
BREAKER_DAYS = 5
# The names of ``paperdesk dataset``'s simulated states, in the order of ``bot.backtest.dataset_states.STATES``
# (a test keeps the two equal).
DATASET_STATES = (
    "empty", "concentrated", "drawdown", "cash_floor", "leader", "winning", "losing", "defensive", "mixed",
)
