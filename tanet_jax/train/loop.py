"""The training loop: data, pmapped updates on the release's schedule, checkpoints, logs, held-out
evaluation, and the exports (the generator best on held-out IoU, and the last step's)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import signal
import time
from pathlib import Path
from typing import Any, Iterator

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import jax_utils

from tanet_jax.weights import load_model, save_model
from tanet_jax.data.builders import build as build_dataset
from tanet_jax.data.pipeline import (
    Augment, TrainingWindows, eval_samples, iterate_batches, make_loader, open_split,
)
from tanet_jax.train import steps as steps_lib
from tanet_jax.train import workdir as workdir_lib
from tanet_jax.train.checkpointing import Checkpoints, merge_pretrained
from tanet_jax.train.config import config_problems, model_config
from tanet_jax.train.logger import Logger
from tanet_jax.train.losses import step_kind

log = logging.getLogger(__name__)


class StopFlag:
    """Set by SIGTERM/SIGINT; the loop checkpoints at the next step boundary and stops (SIGINT
    then ends the program with status 130, SIGTERM as a normal stop)."""

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


def _open(config: ml_collections.ConfigDict, workdir: Path, split: str, phase: _Phase | None = None):
    """A split of the configured dataset, built first (process 0) when it can be and is not yet."""
    data_dir = _data_dir(config, workdir)
    try:
        with _absl_quiet():  # TFDS warns about the folder of a dataset not built yet
            return open_split(config.data.name, data_dir, split, config.data.config or None)
    except FileNotFoundError:
        if config.data.name != "synthetic_tracking" and not config.data.source:
            raise
        if phase is not None:
            phase.name = "building the dataset"
        if jax.process_index() == 0:
            _build_quietly(config, data_dir)
        _sync("dataset built")
        return open_split(config.data.name, data_dir, split, config.data.config or None)


@contextlib.contextmanager
def _absl_quiet() -> Iterator[None]:
    """absl logging (TFDS's) at ERROR for a while."""
    from absl import logging as absl_logging

    verbosity = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)
    try:
        yield
    finally:
        absl_logging.set_verbosity(verbosity)


def _build_quietly(config: ml_collections.ConfigDict, data_dir: str) -> None:
    """Build the dataset with one line of our own instead of TFDS's download wording."""
    import tensorflow_datasets as tfds

    name = f"{config.data.name}/{config.data.config}" if config.data.config else config.data.name
    what = f"from {config.data.source}" if config.data.source else "generated here, nothing downloaded"
    print(f"building {name} in {data_dir} ({what}) ...", flush=True)
    start = time.perf_counter()
    tfds.disable_progress_bar()
    try:
        with _absl_quiet(), contextlib.redirect_stdout(io.StringIO()):
            build_dataset(config.data.name, data_dir, config.data.source or None, config.data.config or None)
    finally:
        tfds.enable_progress_bar()
    print(f"built {name} in {time.perf_counter() - start:.0f} s", flush=True)


def _sync(name: str) -> None:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


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


class Interrupted(Exception):
    """Ctrl-C: the phase it stopped and, when training was under way, the step checkpointed."""

    def __init__(self, phase: str, step: int | None = None, checkpoints: Path | None = None) -> None:
        super().__init__(phase)
        self.phase, self.step, self.checkpoints = phase, step, checkpoints

    def line(self) -> str:
        """The one line a person sees."""
        if self.step is not None:
            return (f"interrupted while {self.phase}: checkpointed at step {self.step} in {self.checkpoints}; "
                    "rerun the same command to resume from there")
        return f"interrupted while {self.phase}: nothing half-written is kept; rerun the same command to resume"


class _Phase:
    """What the run is doing, named by the line a Ctrl-C prints."""

    name = "starting"


@dataclasses.dataclass
class Outcome:
    """What a call of train_and_evaluate did, for the lines that end a run."""

    step: int  # the step the run stands at (its newest checkpoint)
    n_steps: int
    already_finished: bool = False  # complete before this call: nothing was done or written
    evaluation: dict[str, float] | None = None  # the last step's held-out evaluation, made by this call
    exported: dict[str, Any] | None = None  # generator/'s meta, when this call exported it
    last: dict[str, Any] | None = None  # generator_last/'s meta, likewise
    signal: int | None = None  # SIGTERM: checkpointed at `step` and stopped

    def __str__(self) -> str:
        """One line: where the run stands, its last held-out evaluation, what it exported."""
        parts = [f"step {self.step} of {self.n_steps}" + (" (already finished)" if self.already_finished else "")]
        if self.evaluation:
            parts.append(f"held-out {summary_line(self.evaluation)}")
        if self.exported:
            parts.append(f"exported generator: {_described(self.exported)}")
        return "; ".join(parts)

    @property
    def finished(self) -> bool:
        """The run reached its last step (its generators are exported)."""
        return self.step == self.n_steps and self.signal is None


@dataclasses.dataclass
class _Run:
    """What the steps of one training run share."""

    config: ml_collections.ConfigDict
    workdir: Path
    model: Any
    nets: steps_lib.Nets
    predict: Any
    checkpoints: Checkpoints
    logger: Logger
    progress: workdir_lib.Progress
    n_steps: int
    steps_per_epoch: int
    global_batch: int

    @property
    def primary(self) -> bool:
        return jax.process_index() == 0


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, reexport: bool = False) -> Outcome:
    """Train as the config says, in `workdir`, resuming from its latest checkpoint; export the
    generator best on held-out IoU (generator/) and the last step's (generator_last/). A run
    already complete in `workdir` does nothing unless `reexport`. Raises WorkdirMismatch for a
    workdir of another run (before touching it) and Interrupted on Ctrl-C (after checkpointing,
    when training was under way)."""
    phase = _Phase()
    try:
        return _train(config, Path(workdir).absolute(), reexport, phase)
    except KeyboardInterrupt:
        raise Interrupted(phase.name) from None


def _train(config: ml_collections.ConfigDict, workdir: Path, reexport: bool, phase: _Phase) -> Outcome:
    """The run: the workdir's checks, the data, the state (fresh or restored), training, exports."""
    problems = config_problems(config)
    if problems:
        raise ValueError("config: " + "; ".join(problems))
    devices = jax.device_count()
    global_batch = config.per_device_batch * devices
    workdir_lib.check_config(workdir, config, devices)
    done = workdir_lib.finished_at(workdir, config, global_batch)
    if done is not None and not reexport:
        return Outcome(step=done, n_steps=done, already_finished=True)
    _prepare_workdir(config, workdir, devices)
    model = model_config(config)
    nets = steps_lib.cached_nets(
        model, config.optimizer.name,
        (float(config.optimizer.generator_lr), float(config.optimizer.appearance_lr),
         float(config.optimizer.motion_lr)),
        (float(config.loss.appearance_weight), float(config.loss.motion_weight)),
    )
    phase.name = "opening the dataset"
    records, table = _open(config, workdir, config.data.train_split, phase)
    windows = TrainingWindows(
        records, table, model.input_size, global_batch, order=config.data.order, seed=config.seed,
        num_epochs=config.num_epochs, process_index=jax.process_index(), process_count=jax.process_count(),
        augment=Augment(config.data.flip, config.data.color_jitter),
    )
    n_steps = workdir_lib.run_length(config, windows.steps_per_epoch)
    latest = _latest_within(config, workdir, n_steps)
    iterator = iterate_batches(make_loader(windows, jax.local_device_count(), config.data.workers,
                                           config.data.threads))
    checkpoints = Checkpoints(workdir / "checkpoints", config.checkpoint_every, config.keep_checkpoints)
    logger = None
    try:
        phase.name = "restoring the checkpoint" if latest is not None else "initialising the networks"
        state = create_train_state(config, nets)
        base_rng = jax.random.key_data(jax.random.key(config.seed + 1))
        progress = workdir_lib.Progress()
        if latest is not None:
            state, base_rng, record = checkpoints.restore(latest, jax.tree.map(np.asarray, state), iterator)
            progress = workdir_lib.Progress.from_json(record)
        start = latest or 0
        logger = Logger(workdir, config, n_steps, start, enabled=jax.process_index() == 0)
        run = _Run(config, workdir, model, nets, jax.jit(lambda v, b: steps_lib.predict_maps(nets, v, b)),
                   checkpoints, logger, progress, n_steps, windows.steps_per_epoch, global_batch)
        if start:
            logger.write(f"resumed from {checkpoints.directory} at step {start} of {n_steps}")
            _catch_up_best(run, state, start)
        return _train_from(run, state, base_rng, iterator, start, phase)
    finally:
        checkpoints.close()
        if logger is not None:
            logger.close()


def _prepare_workdir(config: ml_collections.ConfigDict, workdir: Path, devices: int) -> None:
    """The workdir, with this run's settings recorded and a killed export's leftovers gone."""
    workdir.mkdir(parents=True, exist_ok=True)
    if jax.process_index() == 0:
        workdir_lib.record_config(workdir, config, devices)
        workdir_lib.clean_partial_exports(workdir)
    _sync("workdir ready")


def _latest_within(config: ml_collections.ConfigDict, workdir: Path, n_steps: int) -> int | None:
    """The newest checkpoint's step; one past this run's end (a smaller max_steps) is refused."""
    latest = workdir_lib.latest_checkpoint(workdir)
    if latest is not None and latest > n_steps:
        raise workdir_lib.WorkdirMismatch(
            f"--config.max_steps={config.max_steps}: the newest checkpoint in {workdir / 'checkpoints'} is at step "
            f"{latest}, past this run's {n_steps} steps; give max_steps >= {latest} (or -1), or a new --workdir")
    return latest


def _train_from(run: _Run, state: steps_lib.TrainState, base_rng: np.ndarray, iterator: Any, start: int,
                phase: _Phase) -> Outcome:
    """Evaluate the starting point, compile, train to the run's end, export."""
    config = run.config
    if start == 0 and config.eval_every > 0:
        phase.name = "evaluating the starting point"
        run.progress.add(0, _evaluate(run, state, 0))
    replicated = steps_lib.replicate(state)
    step, signal_number, evaluation = start, None, None
    if start < run.n_steps:
        phase.name = "compiling"
        batch = next(iterator)
        rng = jax.random.wrap_key_data(jnp.asarray(base_rng))
        updates = _compile(run.logger, run.nets, replicated, batch, jax_utils.replicate(jax.random.fold_in(rng, start)))
        phase.name = "training"
        step, replicated, signal_number, evaluation = _loop(run, updates, replicated, base_rng, iterator, batch, start)
    run.checkpoints.wait()
    if signal_number == signal.SIGINT:
        raise Interrupted("training", step, run.checkpoints.directory)
    if signal_number is not None:
        return Outcome(step=step, n_steps=run.n_steps, signal=signal_number)
    phase.name = "exporting the generator"
    last, exported = _export_final(run, jax_utils.unreplicate(replicated))
    return Outcome(step=step, n_steps=run.n_steps, evaluation=evaluation, exported=exported, last=last)


def _loop(run: _Run, updates: dict[str, Any], replicated: Any, base_rng: np.ndarray, iterator: Any, batch: Any,
          start: int) -> tuple[int, Any, int | None, dict[str, float] | None]:
    """The updates from `start` to the run's end, or to a signal's step: (step, state, signal,
    last held-out evaluation). A signal stops at the next step boundary, checkpointed."""
    config, logger, n_steps = run.config, run.logger, run.n_steps
    workdir = run.workdir
    profile = _profile_range(config)
    rng = jax.random.wrap_key_data(jnp.asarray(base_rng))
    step, evaluation = start, None
    with StopFlag() as stop:
        while step < n_steps:
            kind = step_kind(step + 1, config.schedule.appearance_every, config.schedule.motion_every)
            batch = batch if step == start else next(iterator)
            step_rng = jax_utils.replicate(jax.random.fold_in(rng, step))
            if step == start:
                logger.start_clock(step)
            if profile and step + 1 == profile[0]:
                jax.profiler.start_trace(str(workdir / "profile"))
            replicated, metrics = updates[kind](replicated, batch, step_rng)
            step += 1
            if profile and step == profile[1]:
                jax.block_until_ready(metrics)
                jax.profiler.stop_trace()
                logger.write(f"profiler trace of steps {profile[0]}..{profile[1]} in {workdir / 'profile'} "
                             f"(tensorboard --logdir {workdir / 'profile'})")
            logger.step(step, kind, metrics)
            if config.image_every > 0 and step % config.image_every == 0:
                logger.images(step, batch, run.predict, jax_utils.unreplicate(replicated))
            improved = False
            if config.eval_every > 0 and (step % config.eval_every == 0 or step == n_steps):
                evaluation = _evaluate(run, jax_utils.unreplicate(replicated), step)
                improved = run.progress.add(step, evaluation)
            if improved:  # checkpointed before exported: a run killed in between exports it when resumed
                run.checkpoints.save(step, jax_utils.unreplicate(replicated), base_rng, iterator,
                                     run.progress.to_json(), force=True)
                if step < n_steps:
                    _export_best(run, jax_utils.unreplicate(replicated), step)
            sync_point = (improved or step % config.log_every == 0 or step % config.checkpoint_every == 0
                          or step == n_steps)
            stopping = stop.agreed(sync_point)
            last = stopping or step == n_steps
            if not improved and (last or step % config.checkpoint_every == 0):
                run.checkpoints.save(step, jax_utils.unreplicate(replicated), base_rng, iterator,
                                     run.progress.to_json(), force=last)
            if stopping:
                logger.flush(step)
                if stop.signal != signal.SIGINT:
                    logger.write(f"signal {stop.signal}: checkpointed at step {step} in {run.checkpoints.directory}, "
                                 "exiting; rerun the same command to resume")
                if jax.process_index() != 0:
                    log.warning("signal %s: checkpointed at step %d, exiting", stop.signal, step)
                break
        if profile and profile[0] <= step < profile[1]:
            jax.profiler.stop_trace()
    return step, replicated, stop.signal, evaluation


def _evaluate(run: _Run, state: steps_lib.TrainState, step: int) -> dict[str, float]:
    """Held-out evaluation at `step`, logged."""
    evaluation = evaluate(run.config, run.workdir, run.nets, run.predict, state)
    run.logger.scalars(step, {f"eval/{k}": v for k, v in evaluation.items()})
    return evaluation


def _export(run: _Run, name: str, variables: Any, extra: dict[str, Any]) -> dict[str, Any]:
    """One generator written whole into WORKDIR/name (process 0 writes; every process takes part)."""
    meta = {"source": "tanet_jax.train", **extra}
    workdir_lib.export_atomically(
        run.workdir / name,
        lambda folder: save_model(folder, jax.device_get(variables), kind="generator", config=run.model,
                                  extra=meta, overwrite=True),
        primary=run.primary)
    _sync(f"exported {name}")
    return meta


def _generator_variables(state: steps_lib.TrainState) -> dict[str, Any]:
    return {"params": state.generator.params, "batch_stats": state.generator.batch_stats}


def _held_out(evaluation: dict[str, float] | None) -> dict[str, float]:
    """An evaluation as meta keys."""
    if not evaluation:
        return {}
    return {"heldout_iou": evaluation["iou"], "heldout_peak_hit": evaluation["peak_hit"]}


def _export_best(run: _Run, state: steps_lib.TrainState, step: int) -> None:
    """A new best on held-out IoU, mid-run: into generator/ at once, so it survives whatever follows."""
    best = run.progress.at(step)
    _export(run, workdir_lib.GENERATOR, _generator_variables(state), {
        "step": step, **_held_out(best),
        "chosen": (f"best held-out IoU so far, over evaluations at steps {run.progress.candidate_steps()} "
                   f"(the run goes on to step {run.n_steps})"),
    })
    run.logger.write(f"best held-out IoU so far ({best['iou']:.3f}, step {step}): exported to "
                     f"{run.workdir / workdir_lib.GENERATOR}")


def _catch_up_best(run: _Run, state: steps_lib.TrainState, start: int) -> None:
    """A run killed between checkpointing a new best and exporting it: export it now (the
    restored state is that best)."""
    best = run.progress.best()
    exported = workdir_lib.exported_meta(run.workdir)
    if best and best["step"] == start < run.n_steps and (exported or {}).get("step") != start:
        _export_best(run, state, start)


def _export_final(run: _Run, final: steps_lib.TrainState) -> tuple[dict[str, Any], dict[str, Any]]:
    """generator_last/ (the last step's), then generator/ (the best on held-out IoU, with why it
    was chosen): (last's meta, generator's meta)."""
    n = run.n_steps
    last = _export(run, workdir_lib.GENERATOR_LAST, _generator_variables(final),
                   {"step": n, **_held_out(run.progress.at(n)), "chosen": "the last step"})
    variables, best, chosen = _final_choice(run, final)
    exported = _export(run, workdir_lib.GENERATOR, variables, {
        "step": int(best["step"]) if best else n, **_held_out(best), "chosen": chosen, "run_steps": n,
        "steps_per_epoch": run.steps_per_epoch, "global_batch": run.global_batch,
    })
    return last, exported


def _final_choice(run: _Run, final: steps_lib.TrainState) -> tuple[Any, dict[str, float] | None, str]:
    """(variables, evaluation, why) of the generator to export as generator/."""
    n, best = run.n_steps, run.progress.best()
    if best is None:
        why = ", eval_every=0" if run.config.eval_every == 0 else ""
        return _generator_variables(final), None, f"the last step (no held-out evaluation recorded{why})"
    chosen = f"best held-out IoU over evaluations at steps {run.progress.candidate_steps()}"
    if best["step"] == n:
        return _generator_variables(final), best, chosen
    exported = workdir_lib.exported_meta(run.workdir)
    if exported and exported.get("step") == best["step"]:
        variables, _, _ = load_model(run.workdir / workdir_lib.GENERATOR)
        return variables, best, chosen
    log.warning("the best held-out generator (step %d) is no longer in %s; exporting the last step's",
                best["step"], run.workdir / workdir_lib.GENERATOR)
    return (_generator_variables(final), run.progress.at(n),
            f"the last step (the best on held-out IoU, step {int(best['step'])}, was not found)")


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


def finished_message(workdir: Path, outcome: Outcome) -> str:
    """Where the run left its results and how to use them; its last lines say which generator
    was exported, and why."""
    generator = workdir / workdir_lib.GENERATOR
    lines = [f"checkpoints (resume by rerunning the same command): {workdir / 'checkpoints'}"]
    if not outcome.finished:
        exported = workdir_lib.exported_meta(workdir)
        best = (f"{generator} holds the best on held-out IoU so far (step {exported['step']})" if exported
                else "the generator is written")
        lines.append(f"stopped at step {outcome.step} of {outcome.n_steps}: {best}; the final choice is written "
                     "when the run completes")
    else:
        lines += [
            "use the trained generator:",
            f"  python -m tanet_jax.demo --checkpoint {generator} --out {workdir / 'demo'}",
            f"  python -m tanet_jax.predict --checkpoint {generator} --root DATASET_ROOT --dataset got10k "
            f"--split val --out {workdir / 'maps'}",
        ]
    lines.append(f"logs: tensorboard --logdir {workdir / 'tensorboard'}   (every metric also in "
                 f"{workdir / 'metrics.jsonl'})")
    if outcome.evaluation:
        lines.append(f"final evaluation (step {outcome.step}): {summary_line(outcome.evaluation)}")
    if outcome.exported and outcome.last:
        lines += [f"exported {generator}: {_described(outcome.exported)}",
                  f"the last step's generator: {workdir / workdir_lib.GENERATOR_LAST} ({_described(outcome.last)})"]
    return "\n".join(lines)


def _described(meta: dict[str, Any]) -> str:
    """'step 750, held-out IoU 0.4120, chosen: ...' from an export's meta."""
    iou = f", held-out IoU {meta['heldout_iou']:.4f}" if "heldout_iou" in meta else ""
    return f"step {meta['step']}{iou}, chosen: {meta['chosen']}"


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
    variables = _generator_variables(state)
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
