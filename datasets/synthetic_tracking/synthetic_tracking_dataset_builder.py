"""TFDS entry point for synthetic_tracking; the builder lives in tanet_jax.data.builders (one place)."""

from tanet_jax.data.builders import SyntheticTracking

Builder = SyntheticTracking
