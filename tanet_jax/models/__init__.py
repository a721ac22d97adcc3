"""Flax modules of TANet (NHWC): generator, discriminators and their PyTorch-exact parts."""

from tanet_jax.models.discriminators import AppearanceDiscriminator, MotionDiscriminator
from tanet_jax.models.generator import Generator

__all__ = ["Generator", "AppearanceDiscriminator", "MotionDiscriminator"]
