"""Cluster metadata: the image brokers read, the records that change it, and the authority
(controller) that validates administrative operations and writes those records."""
