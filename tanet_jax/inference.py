"""Jitted attention inference: `AttentionPredictor` encodes a target once and maps every frame."""

from __future__ import annotations

import os
from typing import Any, Iterator, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from tanet_jax.weights import CheckpointError, load_model
from tanet_jax.models.model_config import ModelConfig
from tanet_jax.models import Generator
from tanet_jax.models.generator import prepare_winograd
from tanet_jax.models.ops import WINOGRAD
from tanet_jax.preprocess import preprocess_frame, preprocess_target

Array = jax.Array


class TargetFeatures(NamedTuple):
    """ResNet features (layer2, layer3, layer4) of target patches, reusable for every frame."""

    layer2: Array
    layer3: Array
    layer4: Array


def _encode(model: Generator, variables: Any, images: Array) -> TargetFeatures:
    return TargetFeatures(*model.apply(variables, images, method=Generator.encode))


def _predict(model: Generator, variables: Any, frames: Array, clips: Array, target: TargetFeatures) -> Array:
    frame_feats = model.apply(variables, frames, method=Generator.encode)
    batch = frames.shape[0]
    target = tuple(jnp.broadcast_to(t, (batch, *t.shape[1:])) for t in target)
    motion = model.apply(variables, clips, method=Generator.encode_motion)
    logits = model.apply(variables, frame_feats, target, motion, method=Generator.decode)
    return jax.nn.sigmoid(logits)


class AttentionPredictor:
    """TANet generator in evaluation mode, jitted.

    Inputs are float32 NHWC in [0, 1], BGR, at the network input size: frames (B,S,S,3),
    targets (B,S,S,3) (or target features from `encode_target`), clips (B,T,S,S,3) with T = 2
    or 3. Maps come back as (B, S, S) in (0, 1).
    """

    def __init__(self, config: ModelConfig, variables: Any) -> None:
        self.config = config
        self.model = Generator(config)
        expected = jax.eval_shape(
            self.model.init,
            jax.random.key(0),
            jnp.zeros((1, config.input_size, config.input_size, 3)),
            jnp.zeros((1, config.input_size, config.input_size, 3)),
            jnp.zeros((1, 2, config.input_size, config.input_size, 3)),
        )
        _check_tree(expected, variables)
        self.variables = jax.device_put(variables)
        if jax.default_backend() == "cpu":  # where XLA's direct conv is the slower one
            prepared = jax.jit(prepare_winograd, static_argnums=1)(self.variables["params"], config)
            if prepared:
                self.variables = {**self.variables, WINOGRAD: prepared}
        self._encode = jax.jit(lambda v, x: _encode(self.model, v, x))
        self._predict = jax.jit(lambda v, f, c, t: _predict(self.model, v, f, c, t))

    @classmethod
    def from_checkpoint(cls, directory: str | os.PathLike, dtype: str | None = None) -> "AttentionPredictor":
        """Load a converted or trained generator checkpoint; `dtype` picks the compute dtype."""
        variables, config, meta = load_model(directory)
        if meta.get("kind") != "generator":
            raise CheckpointError(
                f"{directory}: holds a {meta.get('kind')!r} checkpoint, not a generator"
            )
        if meta.get("partial"):
            raise CheckpointError(
                f"{directory}: partial conversion (missing: {', '.join(meta.get('missing', []))}); "
                "inference needs every generator weight"
            )
        if dtype is not None:
            config = config.replace(dtype=dtype)
        return cls(config, variables)

    @property
    def input_size(self) -> int:
        """Side of the square network input."""
        return self.config.input_size

    def encode_target(self, targets: np.ndarray | Array) -> TargetFeatures:
        """Encode target patches (B,S,S,3) once; batch 1 broadcasts over any frame batch."""
        return self._encode(self.variables, self._check(targets, 4, "targets"))

    def predict(self, frames: np.ndarray | Array, clips: np.ndarray | Array, target: TargetFeatures) -> Array:
        """Maps for frames and clips given encoded target features."""
        frames = self._check(frames, 4, "frames")
        clips = self._check(clips, 5, "clips")
        if clips.shape[0] != frames.shape[0]:
            raise ValueError(f"clips batch {clips.shape[0]} != frames batch {frames.shape[0]}")
        if target.layer2.shape[0] not in (1, frames.shape[0]):
            raise ValueError(f"target batch {target.layer2.shape[0]} must be 1 or {frames.shape[0]}")
        return self._predict(self.variables, frames, clips, target)

    def __call__(self, frames: np.ndarray | Array, targets: np.ndarray | Array, clips: np.ndarray | Array) -> Array:
        """Maps (B,S,S) in (0, 1) for frames, targets and clips."""
        return self.predict(frames, clips, self.encode_target(targets))

    def predict_sequence(
        self, images: Sequence[np.ndarray], box: Sequence[float], batch_size: int = 1,
        frames: Sequence[int] | None = None,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """(j, map) for each frame j = 1..N-2 (or the given `frames`) of raw uint8 BGR images of
        any size (a lazy sequence is fine), the target being `box` [x, y, w, h] in images[0];
        the clip of frame j is (j-1, j, j+1), as in the release."""
        if len(images) < 3:
            raise ValueError(f"a sequence needs at least 3 frames, got {len(images)}")
        size = self.input_size
        target = self.encode_target(preprocess_target(images[0], box, size)[None])
        cache: dict[int, np.ndarray] = {}

        def frame(i: int) -> np.ndarray:
            if i not in cache:
                cache[i] = preprocess_frame(images[i], size)
            return cache[i]

        indices = list(range(1, len(images) - 1)) if frames is None else sorted(frames)
        if indices and (indices[0] < 1 or indices[-1] > len(images) - 2):
            raise ValueError(f"frames must lie in 1..{len(images) - 2}, got {indices[0]}..{indices[-1]}")
        for start in range(0, len(indices), batch_size):
            js = indices[start : start + batch_size]
            frames = np.stack([frame(j) for j in js])
            clips = np.stack([np.stack([frame(j - 1), frame(j), frame(j + 1)]) for j in js])
            maps = np.asarray(self.predict(frames, clips, target))
            for j, m in zip(js, maps):
                yield j, m
            for i in list(cache):
                if i < js[-1]:
                    del cache[i]

    def _check(self, x: np.ndarray | Array, ndim: int, name: str) -> Array:
        s = self.input_size
        if x.ndim != ndim or x.shape[-3:] != (s, s, 3):
            layout = "(B, S, S, 3)" if ndim == 4 else "(B, T, S, S, 3)"
            raise ValueError(f"{name} must be {layout} with S = {s}, got shape {tuple(x.shape)}")
        if ndim == 5 and x.shape[1] not in (2, 3):
            raise ValueError(f"{name} must hold T = 2 or 3 frames, got T = {x.shape[1]}")
        return jnp.asarray(x, jnp.float32)


def _check_tree(expected: Any, variables: Any) -> None:
    """Every expected variable present with its shape; else one error listing the differences."""
    from flax import traverse_util

    want = traverse_util.flatten_dict(expected)
    have = traverse_util.flatten_dict(dict(variables))
    problems = [f"missing {'/'.join(k)}" for k in want if k not in have]
    problems += [f"unexpected {'/'.join(k)}" for k in have if k not in want]
    problems += [
        f"{'/'.join(k)}: shape {tuple(np.shape(have[k]))} != {tuple(want[k].shape)}"
        for k in want
        if k in have and tuple(np.shape(have[k])) != tuple(want[k].shape)
    ]
    if problems:
        raise CheckpointError("generator variables do not match the model config: " + "; ".join(problems[:20]))
