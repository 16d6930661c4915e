"""rafka's producer: :class:`AsyncProducer`, the sync :class:`~rafka.clients.sync.Producer`."""

from rafka.clients.producer.delivery import BatchOutcome, DeliveryFuture, RecordMetadata
from rafka.clients.producer.producer import AsyncProducer

__all__ = ["AsyncProducer", "BatchOutcome", "DeliveryFuture", "RecordMetadata"]
