"""Benchmark evaluation: each benchmark's scoring rule (metrics), result files (results), the tracker
configuration behind them (tracker_spec), the several-starts protocol (starts), bootstrap
intervals and paired differences (stats), running a benchmark (experiment) and plots."""
