"""Adversarial training of TANet: pure update functions, the loop, checkpoints and logging."""
