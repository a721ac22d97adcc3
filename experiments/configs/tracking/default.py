"""The tracker's default settings (python -m tanet_jax.evaluate --config THIS_FILE ...).

Copy this file to make a variant; override single fields on the command line with
`--config.joint.threshold=0.3`. Built from tanet_jax.tracking.build.default_config(), so it
always holds every field the tracker knows.
"""

from tanet_jax.tracking.build import default_config


def get_config():
    """Every tracker setting: `local` (the local tracker), `joint` (the local-global switch) and
    `redetect` (the correlation attention's whole-frame detector)."""
    return default_config()
