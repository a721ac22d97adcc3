"""Benchmark evaluation: one-pass metrics with the got10k toolkit's definitions, and reports."""
