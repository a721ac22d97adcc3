"""TFDS entry point for TNL2K; the builder lives in tanet_jax.data.builders (one place)."""

from tanet_jax.data.builders import Tnl2k

Builder = Tnl2k
