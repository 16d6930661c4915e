"""bytes <-> Kafka messages and record batches. Sans-I/O: no sockets, clocks or threads."""
