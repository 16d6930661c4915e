"""Peers rafka is compared with: Apache Kafka (Java) and, later, other clients."""
