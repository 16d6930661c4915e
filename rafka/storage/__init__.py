"""Partition logs in memory and on disk (Kafka's file format), recovery, retention, compaction."""
