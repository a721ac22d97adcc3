"""TFDS entry point for LaSOT; the builder lives in tanet_jax.data.builders (one place)."""

from tanet_jax.data.builders import Lasot

Builder = Lasot
