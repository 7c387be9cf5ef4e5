"""Benchmarks (`chaekieum bench ...`): synthetic national network, HTTP load, pgbench."""
