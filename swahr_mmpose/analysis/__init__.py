"""Model analysis behind ``tools/``: complexity (parameters, FLOPs)."""
