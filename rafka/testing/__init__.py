"""rafka for tests: the pytest plugin (:mod:`rafka.testing.pytest_plugin`, registered through
the ``pytest11`` entry point, so installing rafka is enough) and its helpers.

Snapshots and state inspection are methods of :class:`rafka.Cluster` and
:class:`rafka.AsyncCluster` (``snapshot()``, ``restore()``, ``describe_partition()``,
``describe_group()``, ``read_topic()``, ``wait_for_group_state()``; see ``docs/testing.md``).
"""
