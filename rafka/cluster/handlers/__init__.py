"""One module per Kafka API served by the broker (see rafka.cluster.request)."""
