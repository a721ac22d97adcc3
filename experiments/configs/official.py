"""The release's recipe: GOT-10k at 300x300, Adagrad 1e-4 for all three networks, loss weights
0.1 / 0.2, the n % 5 / n % 3 schedule, 20 epochs, videos shuffled with frames in order.
The release used batch 1 on one GPU; set --config.per_device_batch (global = per-device x devices).
Initialise from converted weights with --config.init.resnet18=DIR --config.init.c3d=DIR."""

from tanet_jax.train.config import base_config


def get_config():
    return base_config()
