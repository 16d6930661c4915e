"""Shared pytest configuration for rafka's test suite."""

pytest_plugins = ["tests.peers.fixtures", "tests.peers.kafka_fixtures"]
