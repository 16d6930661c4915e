"""Tests of rafka.protocol.records: record batches, legacy message sets, compression."""
