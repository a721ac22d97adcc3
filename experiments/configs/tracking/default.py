"""The tracker's default settings (python -m tanet_jax.evaluate --config THIS_FILE ...).

Copy this file to make a variant; override single fields on the command line with
`--config.joint.threshold=0.3`, or pick another local tracker with `--config.local.kind=csrt`
(cf: ours; csrt, kcf, mil: OpenCV's, as in csrt.py). Built from
tanet_jax.tracking.build.default_config(), so it always holds every field the tracker knows.
"""

from tanet_jax.tracking.build import default_config


def get_config():
    """Every tracker setting: `local` (which local tracker, `kind`, and the correlation filter's
    settings), `joint` (the local-global switch) and `redetect` (the correlation attention's
    whole-frame detector)."""
    return default_config()
