"""Brokers, the metadata authority, coordinators and fault injection."""
