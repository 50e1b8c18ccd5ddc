"""Test oracles: straightforward loop implementations of the official SWAHR / HigherHRNet rules, written
independently of the fast code in ``swahr_mmpose`` (their overlap with it is the point: two implementations of one
spec). They live with the tests, not in the installed package."""
