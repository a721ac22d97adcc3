"""Benchmark evaluation: each benchmark's scoring rule (metrics), result files (results), the tracker
configuration behind them (tracker_spec; the config and its flags are tanet_jax.tracking.config),
the several-starts protocol (starts), bootstrap intervals and paired differences (stats), running a
benchmark (experiment), plots, and what the scripts in experiments/bench share (bench)."""
