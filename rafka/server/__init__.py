"""The TCP listener: framing and in-order pipelined responses."""
