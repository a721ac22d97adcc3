"""The embedded default: the tiny model on synthetic_tracking (generated, no download), sized
to finish on a 2-core CPU in under 10 minutes and visibly learn (Adam instead of Adagrad)."""

from tanet_jax.train.config import base_config


def get_config():
    c = base_config()
    c.model.preset = "tiny"
    c.model.input_size = 128
    c.data.name = "synthetic_tracking"
    c.data.config = "small"
    c.data.data_dir = ""  # inside the workdir
    c.data.eval_split = "val"
    c.data.order = "shuffle"
    c.per_device_batch = 4
    c.num_epochs = 100
    c.max_steps = 1000
    c.optimizer.name = "adam"
    c.optimizer.generator_lr = 1e-3
    c.optimizer.appearance_lr = 1e-4
    c.optimizer.motion_lr = 1e-4
    c.checkpoint_every = 200
    c.log_every = 50
    c.image_every = 200
    c.eval_every = 250
    c.eval_batches = 12
    return c
