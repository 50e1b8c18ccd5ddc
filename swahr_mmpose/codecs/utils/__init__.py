"""Helpers of the codecs: Gaussian targets (encode), NMS/top-k candidates, tag grouping with the reference's
assignment, and sub-pixel adjustment / refinement (decode)."""
