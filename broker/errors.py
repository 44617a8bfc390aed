"""Broker errors, organised by what the caller should do next.

- ``RetryableBrokerError``: transient (timeout, rate limit, 5xx); try again with backoff.
  ``BrokerUnavailableError`` is the venue itself being unreachable after the adapter's own retries:
  stop submitting for now, keep the proposals, and say so once.
- ``OrderRejectedError``: this order will never go through (buying power, unknown symbol, size);
  give up on the order, record the reason, carry on with the others.
- ``FatalBrokerError``: nothing will work (bad credentials, account blocked); stop and tell a human.
"""

from __future__ import annotations


class BrokerError(Exception):
    """Base class for every broker failure."""

    def __init__(self, message: str, *, code: str = "BROKER_ERROR") -> None:
        super().__init__(message)
        self.code = code


class RetryableBrokerError(BrokerError):
    """Transient failure: the same call may succeed later."""


class BrokerUnavailableError(RetryableBrokerError):
    """The venue cannot be reached right now (outage, rate limit, timeouts), whatever the order."""


class OrderRejectedError(BrokerError):
    """The broker refused this order; do not retry it."""


class FatalBrokerError(BrokerError):
    """The broker cannot be used at all until a human fixes something."""
