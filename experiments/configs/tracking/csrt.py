"""OpenCV's CSRT as the local tracker (python -m tanet_jax.evaluate --config THIS_FILE ...): CSRT
moves the box; our correlation filter (the `local` section's other settings) scores CSRT's box,
which decides when global search runs, and verifies the attention's candidates; when one wins, CSRT
restarts there (tanet_jax/tracking/blackbox.py). Needs opencv-contrib. The same as the defaults
with `--config.local.kind=csrt`; `kcf` and `mil` select OpenCV's KCF and MIL alike.
"""

from tanet_jax.tracking.build import default_config


def get_config():
    """The default settings with CSRT as the local tracker (nothing else changed or tuned for it)."""
    config = default_config()
    config.local.kind = "csrt"
    return config
