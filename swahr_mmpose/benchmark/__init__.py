"""Benchmarks behind ``tools/benchmark_*.py``: each times our implementation against a named baseline measured in
the same run (MMPose 1.3.2's own implementation where it has one)."""
