"""TFDS entry point for OTB; the builder lives in tanet_jax.data.builders (one place)."""

from tanet_jax.data.builders import Otb

Builder = Otb
