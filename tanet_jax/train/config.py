"""The training configuration every preset in experiments/configs/ starts from (the release's)."""

from __future__ import annotations

import json
import math
from typing import Any, Iterator, Mapping

import ml_collections

from tanet_jax.models.model_config import ModelConfig, get_preset


def base_config() -> ml_collections.ConfigDict:
    """The release's recipe: GOT-10k at 300x300, Adagrad 1e-4 for all three networks, loss
    weights 0.1 / 0.2, the n % 5 / n % 3 schedule, 20 epochs."""
    c = ml_collections.ConfigDict()
    c.seed = 0
    c.release_compat = False  # reproduce the release's quirks (see the spec) when True

    c.model = ml_collections.ConfigDict()
    c.model.preset = "official"
    c.model.input_size = 300
    # Mixed precision: "bfloat16" computes in bfloat16 where half_scope says, with float32
    # parameters, optimizer states and losses (as inference's dtype="bfloat16").
    c.model.dtype = "float32"
    c.model.half_scope = "motion"  # with a half dtype: "motion" (the generator's C3D) or "all"
    c.model.dropout = 0.5
    # "auto": per-frame convs + Winograd on CPU, frames stacked on the batch on GPU/TPU; or
    # "per_frame" / "stacked" to choose (tanet_jax/models/model_config.py: formulation).
    c.model.formulation = "auto"

    c.data = ml_collections.ConfigDict()
    c.data.name = "got10k"
    c.data.config = "r300"
    c.data.data_dir = "data"
    c.data.source = ""  # raw benchmark folder: built into data_dir when not built yet
    c.data.train_split = "train"
    c.data.eval_split = "val"
    c.data.order = "release"  # videos shuffled, frames in order, as the release trained
    c.data.flip = False
    c.data.color_jitter = 0.0
    c.data.threads = 2
    c.data.workers = 0

    c.per_device_batch = 1
    c.num_epochs = 20
    c.max_steps = -1  # stop after this many updates (>= 1); -1: run all num_epochs epochs

    c.optimizer = ml_collections.ConfigDict()
    c.optimizer.name = "adagrad"  # adagrad (PyTorch's exact update) or adam
    c.optimizer.generator_lr = 1e-4
    c.optimizer.appearance_lr = 1e-4
    c.optimizer.motion_lr = 1e-4

    c.loss = ml_collections.ConfigDict()
    c.loss.appearance_weight = 0.1
    c.loss.motion_weight = 0.2

    c.schedule = ml_collections.ConfigDict()
    c.schedule.appearance_every = 5  # n % 5 == 1 -> appearance D step
    c.schedule.motion_every = 3  # else n % 3 == 1 -> motion D step; else generator step

    c.init = ml_collections.ConfigDict()
    c.init.resnet18 = ""  # converted torchvision ResNet-18 checkpoint (tanet_jax.convert)
    c.init.c3d = ""  # converted Sports-1M C3D checkpoint: both motion trunks
    c.init.generator = ""  # a generator checkpoint to start from

    c.checkpoint_every = 1000
    c.keep_checkpoints = 3
    c.log_every = 50
    c.image_every = 1000
    c.eval_every = 2000
    c.eval_batches = 16
    c.progress_bar = True
    c.profile_steps = ""  # "a,b": a JAX profiler trace of steps a..b in WORKDIR/profile (TensorBoard)
    return c


# Numeric settings and what each accepts: (key, smallest allowed, whether the bound is excluded,
# what the value means at its edge). max_steps is checked on its own (-1 is its "all epochs").
_AT_LEAST = (
    ("seed", 0, False, ""),
    ("per_device_batch", 1, False, ""),
    ("num_epochs", 1, False, ""),
    ("checkpoint_every", 1, False, ""),
    ("keep_checkpoints", 1, False, ""),
    ("log_every", 1, False, ""),
    ("image_every", 0, False, " (0: no images)"),
    ("eval_every", 0, False, " (0: no held-out evaluation)"),
    ("eval_batches", 1, False, ""),
    ("data.threads", 0, False, ""),
    ("data.workers", 0, False, " (0: threads in this process)"),
    ("data.color_jitter", 0.0, False, ""),
    ("schedule.appearance_every", 1, False, ""),
    ("schedule.motion_every", 1, False, ""),
    ("optimizer.generator_lr", 0.0, True, ""),
    ("optimizer.appearance_lr", 0.0, True, ""),
    ("optimizer.motion_lr", 0.0, True, ""),
    ("loss.appearance_weight", 0.0, False, ""),
    ("loss.motion_weight", 0.0, False, ""),
)


def _get(config: ml_collections.ConfigDict, key: str) -> Any:
    """config['a.b'] for a dotted key."""
    value: Any = config
    for part in key.split("."):
        value = value[part]
    return value


def _number_problem(key: str, value: Any, low: float, strict: bool, meaning: str) -> str | None:
    """One line when `value` is not a finite number >= low (> low when strict)."""
    bound = f"{'>' if strict else '>='} {low:g}{meaning}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"{key} must be a finite number {bound}, got {value!r}"
    if value < low or (strict and value == low):
        return f"{key} must be {bound}, got {value}"
    return None


def config_problems(config: ml_collections.ConfigDict) -> list[str]:
    """What is wrong with a training config, one line per setting, each naming its key (empty
    when fine): checked before anything is built, compiled or written."""
    problems = []
    try:
        config.model.preset  # noqa: B018 - a config file that failed to load raises here
    except OSError as e:
        return [str(e).strip().splitlines()[0]]
    try:
        model_config(config)
    except (ValueError, KeyError) as e:
        problems.append(f"model: {str(e).strip(chr(39))}")
    if not 0.0 <= float(config.model.dropout) < 1.0:
        problems.append(f"model.dropout must be in [0, 1), got {config.model.dropout}")
    if config.data.order not in ("shuffle", "release", "sequential"):
        problems.append(f"data.order must be 'shuffle', 'release' or 'sequential', got {config.data.order!r}")
    if config.optimizer.name not in ("adagrad", "adam", "sgd"):
        problems.append(f"optimizer.name must be 'adagrad', 'adam' or 'sgd', got {config.optimizer.name!r}")
    if config.max_steps != -1 and config.max_steps < 1:
        problems.append(f"max_steps must be >= 1, or -1 to run all num_epochs ({config.num_epochs}) epochs; "
                        f"got {config.max_steps}")
    for key, low, strict, meaning in _AT_LEAST:
        problem = _number_problem(key, _get(config, key), low, strict, meaning)
        if problem:
            problems.append(problem)
    profile = str(config.get("profile_steps", "") or "").strip()
    if profile:
        parts = profile.split(",")
        ok = len(parts) == 2 and all(x.strip().isdigit() for x in parts)
        if not ok or not 1 <= int(parts[0]) <= int(parts[1]):
            problems.append(f"profile_steps must be 'a,b' with 1 <= a <= b, got {profile!r}")
    return problems


# Settings a run in an existing workdir may change, because they do not change what is trained:
# how far to train (max_steps: extend a finished run, or stop earlier, never before the newest
# checkpoint), how often it logs, evaluates, draws images and checkpoints, how many checkpoints
# it keeps, the progress bar and profiler, where the built dataset lies (data.data_dir,
# data.source) and how batches are decoded (data.threads, data.workers: the same stream). Any
# other difference (model, data, batch, epochs, optimizer, losses, schedule, seed, initial
# weights, held-out measure) is another run, and the workdir refuses it.
RESUMABLE = frozenset({
    "max_steps", "checkpoint_every", "keep_checkpoints", "log_every", "image_every", "eval_every",
    "progress_bar", "profile_steps", "data.data_dir", "data.source", "data.threads", "data.workers",
})


def flat_settings(config: ml_collections.ConfigDict) -> dict[str, Any]:
    """Every setting under its dotted key, as JSON values (what a workdir records)."""
    def walk(tree: Any, prefix: str) -> Iterator[tuple[str, Any]]:
        for key, value in tree.items():
            if isinstance(value, Mapping):
                yield from walk(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", json.loads(json.dumps(value))

    return dict(walk(config.to_dict(), ""))


def setting_changes(recorded: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    """'key: old -> new' for each setting that differs and may not change on resume."""
    keys = sorted((set(recorded) | set(settings)) - RESUMABLE)
    missing = "(absent)"
    return [f"{k}: {recorded.get(k, missing)!r} -> {settings.get(k, missing)!r}" for k in keys
            if recorded.get(k, missing) != settings.get(k, missing)]


def model_config(config: ml_collections.ConfigDict) -> ModelConfig:
    """The ModelConfig a training config asks for."""
    return get_preset(
        config.model.preset,
        input_size=config.model.input_size,
        dtype=config.model.dtype,
        half_scope=config.model.get("half_scope", "motion"),
        formulation=config.model.get("formulation", "auto"),
        dropout=config.model.dropout,
        release_compat=config.release_compat,
    )
