"""Predict latency benchmarks of the recurrent layers: `pytest benchmarks/`, apart from the spec."""
