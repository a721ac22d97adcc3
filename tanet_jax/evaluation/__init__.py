"""Benchmark evaluation: each benchmark's scoring rule (metrics), result files (results), the tracker
configuration behind them (tracker_spec), running a benchmark (experiment) and plots."""
