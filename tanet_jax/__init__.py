"""tanet-jax: TANet target-aware attention for robust tracking, in JAX/Flax."""

__version__ = "0.1.0"
