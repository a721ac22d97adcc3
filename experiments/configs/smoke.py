"""A few steps of the tiny model on synthetic_tracking 'tiny': for CI and tests."""

from tanet_jax.train.config import base_config


def get_config():
    c = base_config()
    c.model.preset = "tiny"
    c.model.input_size = 128
    c.data.name = "synthetic_tracking"
    c.data.config = "tiny"
    c.data.data_dir = ""
    c.data.order = "shuffle"
    c.per_device_batch = 2
    c.num_epochs = 2
    c.max_steps = 6
    c.optimizer.name = "adam"
    c.optimizer.generator_lr = 1e-3
    c.checkpoint_every = 3
    c.log_every = 3
    c.image_every = 6
    c.eval_every = 6
    c.eval_batches = 1
    c.progress_bar = False
    return c
