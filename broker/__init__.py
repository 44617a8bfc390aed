"""Trading vocabulary, the Broker port, its errors, and the simulated venue."""

from broker.errors import BrokerError, FatalBrokerError, OrderRejectedError, RetryableBrokerError
from broker.models import (
    Account,
    AssetClass,
    Fill,
    Instrument,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Quote,
    Side,
    TimeInForce,
)
from broker.protocol import Broker

__all__ = [
    "Account",
    "AssetClass",
    "Broker",
    "BrokerError",
    "FatalBrokerError",
    "Fill",
    "Instrument",
    "Order",
    "OrderRejectedError",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "Position",
    "Quote",
    "RetryableBrokerError",
    "Side",
    "TimeInForce",
]
