"""rafka's benchmarks: ``make bench`` (``python -m benchmarks``). Not tests; never gate CI."""
