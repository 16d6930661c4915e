"""rafka's consumer: :class:`AsyncConsumer` and the records it returns."""

from rafka.clients.consumer.consumer import AsyncConsumer
from rafka.clients.consumer.records import ConsumerRecord

__all__ = ["AsyncConsumer", "ConsumerRecord"]
