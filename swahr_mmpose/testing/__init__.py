"""Straightforward loop implementations of the reference rules, used as baselines by tests and benchmarks."""
