"""Networks, train state and the three pure updates: (state, batch, rng) -> (state, metrics).

Each update is written per device and reduces gradients, metrics and BatchNorm statistics with
`axis_name` collectives, so under `jax.pmap` a global batch split over D devices gives the same
update as the whole batch on one device.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, NamedTuple

import flax
import flax.jax_utils
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from tanet_jax.models.model_config import ModelConfig
from tanet_jax.data.views import training_views
from tanet_jax.models import AppearanceDiscriminator, Generator, MotionDiscriminator
from tanet_jax.models.layers import MOMENTS, running_average
from tanet_jax.train import losses
from tanet_jax.train.optim import make_optimizer

Array = jax.Array
AXIS = "batch"


@flax.struct.dataclass
class NetState:
    """One network's parameters, optimiser state and (generator only) BatchNorm statistics."""

    params: Any
    opt_state: Any
    batch_stats: Any = flax.struct.field(default_factory=dict)


@flax.struct.dataclass
class TrainState:
    """Everything an update changes; `step` counts updates of any kind."""

    step: Array
    generator: NetState
    appearance: NetState
    motion: NetState


@dataclasses.dataclass(frozen=True)
class Nets:
    """The modules and optimisers (static: hashable, outside the traced state)."""

    model: ModelConfig
    generator: Generator
    appearance: AppearanceDiscriminator
    motion: MotionDiscriminator
    tx_generator: optax.GradientTransformation
    tx_appearance: optax.GradientTransformation
    tx_motion: optax.GradientTransformation
    appearance_weight: float = 0.1
    motion_weight: float = 0.2

    @classmethod
    def create(cls, model: ModelConfig, optimizer: str, lrs: tuple[float, float, float],
               weights: tuple[float, float] = (0.1, 0.2), axis_name: str | None = AXIS) -> "Nets":
        """Modules for data-parallel training (BatchNorm synchronised over `axis_name`)."""
        return cls(
            model, Generator(model, bn_axis_name=axis_name), AppearanceDiscriminator(model),
            MotionDiscriminator(model), make_optimizer(optimizer, lrs[0]),
            make_optimizer(optimizer, lrs[1]), make_optimizer(optimizer, lrs[2]), *weights,
        )


@functools.lru_cache(maxsize=4)
def cached_nets(model: ModelConfig, optimizer: str, lrs: tuple[float, float, float],
                weights: tuple[float, float] = (0.1, 0.2)) -> Nets:
    """`Nets.create`, the same object for the same arguments: a second run in one process (a
    notebook, a test) reuses the first one's compiled updates."""
    return Nets.create(model, optimizer, lrs, weights)


def init_state(nets: Nets, rng: Array) -> TrainState:
    """Fresh parameters (PyTorch's default initialisation) and optimiser states."""
    s = nets.model.input_size
    img = jnp.zeros((1, s, s, 3))
    clip = jnp.zeros((1, 3, s, s, 3))
    k1, k2, k3 = jax.random.split(rng, 3)
    g = Generator(nets.model).init(k1, img, img, clip)
    a = nets.appearance.init(k2, img, img[..., 0])
    m = nets.motion.init(k3, clip, clip[..., 0])
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        generator=NetState(g["params"], nets.tx_generator.init(g["params"]), g["batch_stats"]),
        appearance=NetState(a["params"], nets.tx_appearance.init(a["params"])),
        motion=NetState(m["params"], nets.tx_motion.init(m["params"])),
    )


def _generate(nets: Nets, params: Any, stats: Any, frames: Array, targets: Array, clips: Array) -> tuple[Array, Any]:
    """One training-mode generator forward; BatchNorm statistics update as in PyTorch."""
    logits, updated = nets.generator.apply(
        {"params": params, "batch_stats": stats}, frames, targets, clips, train=True, mutable=["batch_stats"]
    )
    return logits, updated["batch_stats"]


def _encode(nets: Nets, params: Any, stats: Any, images: Array) -> tuple[Any, Any]:
    """Train-mode ResNet features of `images` and the BatchNorm moments they were normalised with."""
    feats, cols = nets.generator.apply({"params": params, "batch_stats": stats}, images, True,
                                       method="encode", mutable=[MOMENTS])
    return feats, cols[MOMENTS]


def _decode(nets: Nets, params: Any, frame_feats: Any, target_feats: Any, clips: Array) -> Array:
    """The rest of a generator forward: motion features of the clip, fusion, decoder; logits."""
    motion = nets.generator.apply({"params": params}, clips, method="encode_motion")
    return nets.generator.apply({"params": params}, frame_feats, target_feats, motion, method="decode")


class Encoded(NamedTuple):
    """Train-mode features of frames t, t+1, t+2 and of the target, with their BatchNorm moments."""

    frames: list
    frame_moments: list
    target: Any
    target_moments: Any


def _encode_views(nets: Nets, params: Any, stats: Any, views: dict[str, Array]) -> Encoded:
    """Each frame and the target through the ResNet once. In training mode a ResNet pass depends
    only on its input, so the release's repeated passes (the target in every forward, frame t in
    two; views["frame"] is motion_frames[:, 0]) give these same features, and
    `_release_statistics` replays their BatchNorm updates."""
    frames = [_encode(nets, params, stats, views["motion_frames"][:, j]) for j in range(3)]
    target, target_moments = _encode(nets, params, stats, views["target"])
    return Encoded([f for f, _ in frames], [m for _, m in frames], target, target_moments)


def _release_statistics(stats: Any, frame_moments: list, target_moments: Any) -> Any:
    """Running statistics after the release's generator forwards on these frames, in order, each
    encoding its frame and then the target."""
    for moments in frame_moments:
        stats = running_average(running_average(stats, moments), target_moments)
    return stats


def _motion_maps(nets: Nets, params: Any, enc: Encoded, views: dict[str, Array]) -> Array:
    """Maps of frames t..t+2, each predicted from its 2-frame clip (one forward each, as the
    release); (B, 3, S, S) logits. The stacked formulation decodes the three on one batch of 3B
    (the motion encoder and decoder have no batch statistics: the same function)."""
    if nets.model.stacked_frames:
        n = len(enc.frames)
        feats = jax.tree.map(lambda *xs: jnp.concatenate(xs, axis=0), *enc.frames)
        target = jax.tree.map(lambda x: jnp.concatenate([x] * n, axis=0), enc.target)
        clips = jnp.concatenate([views["motion_clips"][:, j] for j in range(n)], axis=0)
        logits = _decode(nets, params, feats, target, clips)
        return jnp.stack(jnp.split(logits, n, axis=0), axis=1)
    return jnp.stack([_decode(nets, params, feats, enc.target, views["motion_clips"][:, j])
                      for j, feats in enumerate(enc.frames)], axis=1)


def fake_motion_masks(nets: Nets, maps: Array) -> Array:
    """Predicted maps (B, T, S, S) as the motion discriminator's mask clip.

    By default each map is repeated over 3 channels, like the real masks. The release (with
    release_compat) stacked them (B, T, C, H, W) but fed them where (B, C, T, H, W) belongs: in
    NTHWC that puts map t in channel t of every frame."""
    if nets.model.release_compat:
        per_frame = jnp.moveaxis(maps, 1, -1)  # (B, S, S, T): map t in channel t
        return jnp.broadcast_to(per_frame[:, None], (maps.shape[0], maps.shape[1], *per_frame.shape[1:]))
    return maps[..., None]


def replicate(tree: Any) -> Any:
    """`tree` on every local device, laid out as the pmapped updates return it: a plain
    `jax_utils.replicate` differs in its mesh's axis name, so each update compiled twice."""
    return jax.pmap(lambda x: x, axis_name=AXIS)(flax.jax_utils.replicate(tree))


def _mean(tree: Any, axis_name: str | None) -> Any:
    return lax.pmean(tree, axis_name) if axis_name else tree


def _apply_update(tx: optax.GradientTransformation, net: NetState, grads: Any) -> NetState:
    updates, opt_state = tx.update(grads, net.opt_state, net.params)
    return net.replace(params=optax.apply_updates(net.params, updates), opt_state=opt_state)


def make_updates(nets: Nets, axis_name: str | None = AXIS) -> dict[str, Callable]:
    """The three updates, keyed 'appearance', 'motion', 'generator'."""

    def rngs(rng: Array, salt: int) -> dict[str, Array]:
        if axis_name:
            rng = jax.random.fold_in(rng, lax.axis_index(axis_name))
        return {"dropout": jax.random.fold_in(rng, salt)}

    def discriminator(key: str, tx: optax.GradientTransformation, model: Any, inputs: Array, real_maps: Array,
                      fake_maps: Array, salt: int, state: TrainState, stats: Any, rng: Array):
        """Real -> 1, fake -> 0 for one discriminator; the generator only updates its BN statistics."""

        def loss_fn(params):
            real = model.apply({"params": params}, inputs, real_maps, train=True, rngs=rngs(rng, salt))
            fake = model.apply({"params": params}, inputs, fake_maps, train=True, rngs=rngs(rng, salt + 1))
            return losses.discriminator_loss(real, fake), (real, fake)

        net = getattr(state, key)
        (loss, (real, fake)), grads = jax.value_and_grad(loss_fn, has_aux=True)(net.params)
        grads = _mean(grads, axis_name)
        acc = {f"d_{key}_{k}": a for k, a in losses.accuracy(real, fake).items()}
        metrics = _mean({f"d_{key}_loss": loss, **acc}, axis_name)
        new = state.replace(step=state.step + 1, generator=state.generator.replace(batch_stats=stats),
                            **{key: _apply_update(tx, net, grads)})
        return new, metrics

    def appearance(state: TrainState, batch: dict[str, Array], rng: Array) -> tuple[TrainState, dict[str, Array]]:
        v = training_views(batch)
        g = state.generator
        logits, stats = _generate(nets, g.params, g.batch_stats, v["frame"], v["target"], v["clip"])
        fake = lax.stop_gradient(jax.nn.sigmoid(logits))
        return discriminator("appearance", nets.tx_appearance, nets.appearance, v["frame"], v["mask"], fake, 0,
                             state, stats, rng)

    def motion(state: TrainState, batch: dict[str, Array], rng: Array) -> tuple[TrainState, dict[str, Array]]:
        v = training_views(batch)
        g = state.generator
        enc = _encode_views(nets, g.params, g.batch_stats, v)
        maps = _motion_maps(nets, g.params, enc, v)
        stats = _release_statistics(g.batch_stats, enc.frame_moments, enc.target_moments)
        fake = fake_motion_masks(nets, lax.stop_gradient(jax.nn.sigmoid(maps)))
        return discriminator("motion", nets.tx_motion, nets.motion, v["motion_frames"], v["motion_masks"], fake, 2,
                             state, stats, rng)

    def generator(state: TrainState, batch: dict[str, Array], rng: Array) -> tuple[TrainState, dict[str, Array]]:
        v = training_views(batch)
        g = state.generator

        def loss_fn(params):
            # The release's four forwards: frame t with clip t-1..t+1, then frames t..t+2 with
            # their 2-frame clips; frame t's and the target's features are shared.
            enc = _encode_views(nets, params, g.batch_stats, v)
            logits = _decode(nets, params, enc.frames[0], enc.target, v["clip"])
            maps = _motion_maps(nets, params, enc, v)
            stats = _release_statistics(g.batch_stats, enc.frame_moments[:1] + enc.frame_moments,
                                        enc.target_moments)
            a = nets.appearance.apply({"params": state.appearance.params}, v["frame"], jax.nn.sigmoid(logits),
                                      train=True, rngs=rngs(rng, 4))
            m = nets.motion.apply({"params": state.motion.params}, v["motion_frames"],
                                  fake_motion_masks(nets, jax.nn.sigmoid(maps)), train=True, rngs=rngs(rng, 5))
            total, parts = losses.generator_loss(logits, v["mask"], a, m, nets.appearance_weight, nets.motion_weight)
            return total, (parts, stats)

        (loss, (parts, stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(g.params)
        grads = _mean(grads, axis_name)
        metrics = _mean({"g_loss": loss, **parts}, axis_name)
        new_g = _apply_update(nets.tx_generator, g, grads).replace(batch_stats=stats)
        return state.replace(step=state.step + 1, generator=new_g), metrics

    return {"appearance": appearance, "motion": motion, "generator": generator}


def _signature(tree: Any) -> tuple:
    """Hashable structure, shapes and dtypes of a tree of arrays."""
    leaves, treedef = jax.tree.flatten(tree)
    return treedef, tuple((tuple(np.shape(x)), x.dtype) for x in leaves)


@functools.lru_cache(maxsize=8)
def _compile(nets: Nets, state_sig: tuple, batch_sig: tuple, rng_sig: tuple) -> dict[str, Any]:
    def abstract(sig: tuple) -> Any:
        treedef, leaves = sig
        return jax.tree.unflatten(treedef, [jax.ShapeDtypeStruct(s, d) for s, d in leaves])

    args = abstract(state_sig), abstract(batch_sig), abstract(rng_sig)
    return {kind: jax.pmap(f, axis_name=AXIS, donate_argnums=(0,)).lower(*args).compile()
            for kind, f in make_updates(nets).items()}


@functools.lru_cache(maxsize=4)
def pmapped_updates(nets: Nets) -> dict[str, Callable]:
    """The three updates pmapped over the local devices (state donated), compiled on first call."""
    return {kind: jax.pmap(f, axis_name=AXIS, donate_argnums=(0,)) for kind, f in make_updates(nets).items()}


def compile_updates(nets: Nets, replicated: Any, batch: Any, rng: Any) -> tuple[dict[str, Callable], bool]:
    """The three updates pmapped over the local devices, and whether they were compiled ahead of
    time: in one process they are, for these shapes (state donated), so compile time is paid, and
    can be shown, before the first step; with several processes pmap's ahead-of-time lowering of
    abstract shapes does not apply, so they compile on their first call. Cached per process."""
    if jax.process_count() > 1:
        return pmapped_updates(nets), False
    return _compile(nets, _signature(replicated), _signature(batch), _signature(rng)), True


def predict_maps(nets: Nets, generator_vars: dict[str, Any], batch: dict[str, Array]) -> Array:
    """Evaluation-mode maps (probabilities) of frame t of each window, clip (t-1, t, t+1)."""
    v = training_views(batch)
    logits = Generator(nets.model).apply(generator_vars, v["frame"], v["target"], v["clip"])
    return jax.nn.sigmoid(logits)


def attention_metrics(maps: Array, masks: Array, absent: Array) -> dict[str, Array]:
    """Sums over present targets: IoU of (map > 0.5) with the box mask, and whether the map's
    peak falls inside the box; plus the count."""
    present = ~absent
    pred = maps > 0.5
    gt = masks > 0
    inter = jnp.sum(pred & gt, axis=(1, 2))
    union = jnp.sum(pred | gt, axis=(1, 2))
    iou = jnp.where(union > 0, inter / jnp.maximum(union, 1), 0.0)
    flat = maps.reshape(maps.shape[0], -1)
    peak = jnp.take_along_axis(gt.reshape(gt.shape[0], -1), jnp.argmax(flat, axis=1)[:, None], axis=1)[:, 0]
    return {
        "iou_sum": jnp.sum(jnp.where(present, iou, 0.0)),
        "hit_sum": jnp.sum(jnp.where(present, peak, False)),
        "count": jnp.sum(present),
    }
