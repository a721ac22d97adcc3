"""TFDS entry point for GOT-10k; the builder lives in tanet_jax.data.builders (one place)."""

from tanet_jax.data.builders import Got10k

Builder = Got10k
