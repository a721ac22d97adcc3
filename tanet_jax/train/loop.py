"""The training loop: data, pmapped updates on the release's schedule, checkpoints, logs, eval."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import signal
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import jax_utils

from tanet_jax.weights import save_model
from tanet_jax.data.builders import build as build_dataset
from tanet_jax.data.pipeline import (
    Augment, TrainingWindows, eval_samples, iterate_batches, make_loader, open_split,
)
from tanet_jax.train import steps as steps_lib
from tanet_jax.train.checkpointing import Checkpoints, merge_pretrained
from tanet_jax.train.config import model_config
from tanet_jax.train.logger import Logger
from tanet_jax.train.losses import step_kind

log = logging.getLogger(__name__)


class StopFlag:
    """Set by SIGTERM/SIGINT; the loop checkpoints at the next step boundary and exits."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopFlag":
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.signal = signum

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def agreed(self, sync_point: bool) -> bool:
        """True on every process once any process was signalled. With several processes they
        agree only at sync points (log and checkpoint steps, the last step): no per-step
        collective, so no step waits for the slowest process's previous one."""
        local = self.signal is not None
        if jax.process_count() == 1:
            return local
        if not sync_point:
            return False
        from jax.experimental import multihost_utils

        return bool(np.any(multihost_utils.process_allgather(np.array(local))))


def _data_dir(config: ml_collections.ConfigDict, workdir: Path) -> str:
    return config.data.data_dir or str(workdir / "data")


def _open(config: ml_collections.ConfigDict, workdir: Path, split: str):
    data_dir = _data_dir(config, workdir)
    try:
        return open_split(config.data.name, data_dir, split, config.data.config or None)
    except FileNotFoundError:
        if config.data.name != "synthetic_tracking" and not config.data.source:
            raise
        if jax.process_index() == 0:
            _build_quietly(config, data_dir)
        _sync("dataset built")
        return open_split(config.data.name, data_dir, split, config.data.config or None)


def _build_quietly(config: ml_collections.ConfigDict, data_dir: str) -> None:
    """Build the dataset with one line of our own instead of TFDS's download wording."""
    import tensorflow_datasets as tfds
    from absl import logging as absl_logging

    name = f"{config.data.name}/{config.data.config}" if config.data.config else config.data.name
    what = f"from {config.data.source}" if config.data.source else "generated here, nothing downloaded"
    print(f"building {name} in {data_dir} ({what}) ...", flush=True)
    start, verbosity = time.perf_counter(), absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)
    tfds.disable_progress_bar()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            build_dataset(config.data.name, data_dir, config.data.source or None, config.data.config or None)
    finally:
        absl_logging.set_verbosity(verbosity)
        tfds.enable_progress_bar()
    print(f"built {name} in {time.perf_counter() - start:.0f} s", flush=True)


def _sync(name: str) -> None:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def total_steps(config: ml_collections.ConfigDict, windows: TrainingWindows) -> int:
    """Updates in the run: all epochs, or max_steps when smaller."""
    total = windows.steps_per_epoch * config.num_epochs
    return min(total, config.max_steps) if config.max_steps > 0 else total


def create_train_state(config: ml_collections.ConfigDict, nets: steps_lib.Nets) -> steps_lib.TrainState:
    """Fresh state, with the configured converted checkpoints merged in."""
    state = steps_lib.init_state(nets, jax.random.key(config.seed))
    g = state.generator
    params, stats = dict(g.params), dict(g.batch_stats)
    if config.init.generator:
        params, stats = merge_pretrained(params, stats, config.init.generator, "generator")
    if config.init.resnet18:
        params, stats = merge_pretrained(params, stats, config.init.resnet18, "resnet18")
    motion = state.motion
    if config.init.c3d:
        params, stats = merge_pretrained(params, stats, config.init.c3d, "c3d")
        mparams, _ = merge_pretrained(dict(motion.params), {}, config.init.c3d, "c3d", "motion_discriminator")
        motion = motion.replace(params=mparams, opt_state=nets.tx_motion.init(mparams))
    g = g.replace(params=params, batch_stats=stats, opt_state=nets.tx_generator.init(params))
    return state.replace(generator=g, motion=motion)


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Train as the config says, in `workdir`, resuming from its latest checkpoint; returns the
    last evaluation (held-out attention IoU and peak hit rate)."""
    workdir_path = Path(workdir).absolute()
    workdir_path.mkdir(parents=True, exist_ok=True)
    model = model_config(config)
    local_devices = jax.local_device_count()
    global_batch = config.per_device_batch * jax.device_count()
    nets = steps_lib.cached_nets(
        model, config.optimizer.name,
        (float(config.optimizer.generator_lr), float(config.optimizer.appearance_lr),
         float(config.optimizer.motion_lr)),
        (float(config.loss.appearance_weight), float(config.loss.motion_weight)),
    )
    records, table = _open(config, workdir_path, config.data.train_split)
    windows = TrainingWindows(
        records, table, model.input_size, global_batch, order=config.data.order, seed=config.seed,
        num_epochs=config.num_epochs, process_index=jax.process_index(), process_count=jax.process_count(),
        augment=Augment(config.data.flip, config.data.color_jitter),
    )
    loader = make_loader(windows, local_devices, config.data.workers, config.data.threads)
    iterator = iterate_batches(loader)
    n_steps = total_steps(config, windows)

    state = create_train_state(config, nets)
    base_rng = jax.random.key_data(jax.random.key(config.seed + 1))
    checkpoints = Checkpoints(workdir_path / "checkpoints", config.checkpoint_every, config.keep_checkpoints)
    start = 0
    latest = checkpoints.latest_step()
    if latest is not None:
        state, base_rng = checkpoints.restore(latest, jax.tree.map(np.asarray, state), iterator)
        start = latest
        log.debug("resumed from %s at step %d", checkpoints.directory, latest)
    rng = jax.random.wrap_key_data(jnp.asarray(base_rng))

    predict = jax.jit(lambda v, b: steps_lib.predict_maps(nets, v, b))
    replicated = steps_lib.replicate(state)
    logger = Logger(workdir_path, config, n_steps, start, enabled=jax.process_index() == 0)
    if start:
        logger.write(f"resumed from {checkpoints.directory} at step {start} of {n_steps}")
    profile = _profile_range(config)
    evaluation: dict[str, float] = {}
    if start == 0 and config.eval_every > 0:
        evaluation = evaluate(config, workdir_path, nets, predict, jax_utils.unreplicate(replicated))
        logger.scalars(0, {f"eval/{k}": v for k, v in evaluation.items()})
    updates = None
    step = start
    with StopFlag() as stop:
        while step < n_steps:
            kind = step_kind(step + 1, config.schedule.appearance_every, config.schedule.motion_every)
            batch = next(iterator)
            step_rng = jax_utils.replicate(jax.random.fold_in(rng, step))
            if updates is None:
                updates = _compile(logger, nets, replicated, batch, step_rng)
                logger.start_clock(step)
            if profile and step + 1 == profile[0]:
                jax.profiler.start_trace(str(workdir_path / "profile"))
            replicated, metrics = updates[kind](replicated, batch, step_rng)
            step += 1
            if profile and step == profile[1]:
                jax.block_until_ready(metrics)
                jax.profiler.stop_trace()
                logger.write(f"profiler trace of steps {profile[0]}..{profile[1]} in {workdir_path / 'profile'} "
                             f"(tensorboard --logdir {workdir_path / 'profile'})")
            logger.step(step, kind, metrics)
            if config.image_every > 0 and step % config.image_every == 0:
                logger.images(step, batch, predict, jax_utils.unreplicate(replicated))
            if config.eval_every > 0 and (step % config.eval_every == 0 or step == n_steps):
                evaluation = evaluate(config, workdir_path, nets, predict, jax_utils.unreplicate(replicated))
                logger.scalars(step, {f"eval/{k}": v for k, v in evaluation.items()})
            sync_point = (step % max(config.log_every, 1) == 0 or step % max(config.checkpoint_every, 1) == 0
                          or step == n_steps)
            stopping = stop.agreed(sync_point)
            last = stopping or step == n_steps
            if (last or step % max(config.checkpoint_every, 1) == 0) and checkpoints.save(
                    step, jax_utils.unreplicate(replicated), base_rng, iterator, force=last):
                log.debug("checkpoint at step %d", step)
            if stopping:
                logger.flush(step)
                logger.write(f"signal {stop.signal}: checkpointed at step {step} in {checkpoints.directory}, "
                             "exiting; rerun the same command to resume")
                if jax.process_index() != 0:
                    log.warning("signal %s: checkpointed at step %d, exiting", stop.signal, step)
                break
        if profile and profile[0] <= step < profile[1]:
            jax.profiler.stop_trace()
    checkpoints.wait()
    final = jax_utils.unreplicate(replicated)
    if step == n_steps:  # every process calls: orbax coordinates the write across processes
        export_generator(workdir_path / "generator", model, final)
    logger.close()
    if jax.process_index() == 0:
        print(finished_message(workdir_path, checkpoints.directory, step, n_steps), flush=True)
    checkpoints.close()
    return evaluation


def _compile(logger: Logger, nets: steps_lib.Nets, replicated: Any, batch: Any, rng: Any) -> dict[str, Any]:
    """Compile the three updates before the first step, timed and said as such."""
    logger.write("compiling the three updates (once per run) ...")
    start = time.perf_counter()
    updates, ahead = steps_lib.compile_updates(nets, replicated, batch, rng)
    if ahead:
        logger.write(f"compiled in {time.perf_counter() - start:.1f} s")
    else:
        logger.write("several processes: each update compiles on its first step (the first steps are slow)")
    return updates


def _profile_range(config: ml_collections.ConfigDict) -> tuple[int, int] | None:
    """--config.profile_steps=a,b: trace steps a..b (1-based, inclusive); '' for none."""
    text = str(config.get("profile_steps", "") or "").strip()
    if not text:
        return None
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"profile_steps must be 'a,b' with 1 <= a <= b, got {text!r}")
    a, b = (int(p) for p in parts)
    if not 1 <= a <= b:
        raise ValueError(f"profile_steps must be 'a,b' with 1 <= a <= b, got {text!r}")
    return a, b


def finished_message(workdir: Path, checkpoints: Path, step: int, n_steps: int) -> str:
    """Where the run left its results, and how to use them."""
    lines = [f"checkpoints (resume by rerunning the same command): {checkpoints}"]
    generator = workdir / "generator"
    if step == n_steps:
        lines += [
            f"trained generator: {generator}",
            "use it:",
            f"  python -m tanet_jax.demo --checkpoint {generator} --out {workdir / 'demo'}",
            f"  python -m tanet_jax.predict --checkpoint {generator} --root DATASET_ROOT --dataset got10k "
            f"--split val --out {workdir / 'maps'}",
        ]
    else:
        lines.append(f"stopped at step {step} of {n_steps}: the generator is written when the run completes")
    lines.append(f"logs: tensorboard --logdir {workdir / 'tensorboard'}   (every metric also in "
                 f"{workdir / 'metrics.jsonl'})")
    return "\n".join(lines)


def export_generator(path: Path, model: Any, state: steps_lib.TrainState) -> None:
    """The trained generator as a model checkpoint (AttentionPredictor.from_checkpoint reads it)."""
    variables = {"params": state.generator.params, "batch_stats": state.generator.batch_stats}
    save_model(path, jax.device_get(variables), kind="generator", config=model,
               extra={"source": "tanet_jax.train", "step": int(state.step)}, overwrite=True)


def evaluate(config: ml_collections.ConfigDict, workdir: Path, nets: steps_lib.Nets, predict: Any,
             state: steps_lib.TrainState) -> dict[str, float]:
    """Held-out attention quality: mean IoU of (map > 0.5) with the box mask, and the rate at
    which the map's peak falls inside the box, over present targets of windows spread over all
    videos of the eval split (seeded: the same windows every time)."""
    records, table = _open(config, workdir, config.data.eval_split)
    size = nets.model.input_size
    batch = max(1, min(config.per_device_batch * 4, len(table)))
    windows = TrainingWindows(records, table, size, batch, order="sequential", seed=0)
    n = min(config.eval_batches, len(table) // batch)
    chosen = eval_samples(table, n * batch, seed=0)
    variables = {"params": state.generator.params, "batch_stats": state.generator.batch_stats}
    sums = None
    for k in range(n):
        samples = [windows.window(int(i)) for i in chosen[k * batch:(k + 1) * batch]]
        b = {key: np.stack([s[key] for s in samples]) for key in samples[0]}
        maps = predict(variables, b)
        m = steps_lib.attention_metrics(maps, jnp.asarray(b["masks"][:, 1]), jnp.asarray(b["absent"][:, 1]))
        sums = m if sums is None else jax.tree.map(jnp.add, sums, m)
    sums = {k: float(v) for k, v in jax.device_get(sums).items()} if sums else {"iou_sum": 0.0, "hit_sum": 0.0,
                                                                               "count": 0.0}
    count = max(sums["count"], 1.0)
    return {"iou": sums["iou_sum"] / count, "peak_hit": sums["hit_sum"] / count, "frames": sums["count"]}


def summary_line(evaluation: dict[str, float]) -> str:
    """One line for the end of a run."""
    return json.dumps({k: round(v, 4) for k, v in evaluation.items()})
