"""Registered components; see the module docstrings."""
