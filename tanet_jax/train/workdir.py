"""What a training workdir keeps besides checkpoints and logs, and the rules that guard it: the
settings it was made with (config.json, checked before a run touches anything), the held-out
evaluations that choose the exported generator, and the exported generators themselves
(generator/: the best on held-out IoU; generator_last/: the last step's), each replaced whole,
never left half-written."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import signal
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import ml_collections

from tanet_jax.evaluation.results import write_text_atomic
from tanet_jax.train.config import RESUMABLE, flat_settings, setting_changes

CONFIG_FILE = "config.json"
GENERATOR = "generator"  # the exported generator: the best on held-out IoU
GENERATOR_LAST = "generator_last"  # the last step's generator


class WorkdirMismatch(ValueError):
    """The workdir belongs to another run (other settings, or progress past this run's end)."""


def _recorded(workdir: Path) -> dict[str, Any] | None:
    """The settings a workdir's run was started with, if it recorded them."""
    path = workdir / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise WorkdirMismatch(f"{path}: unreadable ({e}); it records the settings of the run in "
                              f"{workdir}: restore it, or use a new --workdir") from None


def _record(config: ml_collections.ConfigDict, devices: int) -> dict[str, Any]:
    """What config.json holds: every setting, and the device count (the batch and order depend on it)."""
    return {"devices": devices, **flat_settings(config)}


def check_config(workdir: Path, config: ml_collections.ConfigDict, devices: int) -> None:
    """Raise WorkdirMismatch, naming each setting that differs (old -> new), when the workdir was
    made with settings this run may not change (config.RESUMABLE lists those it may)."""
    recorded = _recorded(workdir)
    if recorded is None:
        return
    changes = setting_changes(recorded, _record(config, devices))
    if changes:
        raise WorkdirMismatch(
            f"--workdir {workdir} holds a run made with other settings ({workdir / CONFIG_FILE}): "
            f"{'; '.join(changes)}. Use a new --workdir, or that run's settings to resume it (those that may "
            f"change: {', '.join(sorted(RESUMABLE))})")


def record_config(workdir: Path, config: ml_collections.ConfigDict, devices: int) -> None:
    """Write config.json (atomically) at a run's first start, and again when a resumed run
    changes a setting it may change; an unchanged record is left untouched."""
    record = _record(config, devices)
    if _recorded(workdir) != record:
        write_text_atomic(workdir / CONFIG_FILE, json.dumps(record, indent=1, sort_keys=True) + "\n")


def latest_checkpoint(workdir: Path) -> int | None:
    """The newest complete checkpoint's step (orbax renames a finished one to its step number)."""
    steps = [int(p.name) for p in (workdir / "checkpoints").glob("*") if p.name.isdigit() and p.is_dir()]
    return max(steps, default=None)


def run_length(config: ml_collections.ConfigDict, steps_per_epoch: int) -> int:
    """Updates in the run: all epochs, or max_steps when smaller."""
    total = steps_per_epoch * config.num_epochs
    return min(total, config.max_steps) if config.max_steps > 0 else total


def exported_meta(workdir: Path, name: str = GENERATOR) -> dict[str, Any] | None:
    """The meta of an exported generator, if there is a readable one."""
    from tanet_jax.weights import CheckpointError, read_meta

    if not (workdir / name / "meta").is_dir():
        return None
    try:
        return read_meta(workdir / name)
    except CheckpointError:
        return None


def finished_at(workdir: Path, config: ml_collections.ConfigDict, global_batch: int) -> int | None:
    """The step a run with these settings ended at, when it is complete in `workdir`: its newest
    checkpoint is its last step and both generators were exported at that step. Reads only small
    files: no data, no compilation."""
    meta = exported_meta(workdir)
    if not meta or "run_steps" not in meta or meta.get("global_batch") != global_batch:
        return None
    n_steps = run_length(config, int(meta["steps_per_epoch"]))
    last = exported_meta(workdir, GENERATOR_LAST)
    if meta["run_steps"] != n_steps or latest_checkpoint(workdir) != n_steps or not last or last.get("step") != n_steps:
        return None
    return n_steps


def _staging(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def _previous(path: Path) -> Path:
    return path.with_name(f".{path.name}.previous")


def export_atomically(path: Path, write: Callable[[Path], None], primary: bool) -> None:
    """Call write(folder) on every process (orbax writes collectively), into a staging folder
    beside `path`; then process 0 puts it in place of `path` by renames. Interrupted, `path` is
    its previous version (or absent) and nothing half-written remains."""
    staging = _staging(path)
    with _signals_after():
        try:
            if primary:
                _remove_partials(path)
            write(staging)
            if primary:
                previous = _previous(path)
                if path.exists():
                    path.rename(previous)
                staging.rename(path)
                shutil.rmtree(previous, ignore_errors=True)
        except BaseException:
            if primary:
                _remove_partials(path)
            raise


@contextlib.contextmanager
def _signals_after() -> Iterator[None]:
    """Ctrl-C (SIGINT) during the block takes effect when it is done: orbax's writer threads
    would go on writing after an exception in this one, into a folder already cleaned up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received and callable(previous):
        previous(received[0], None)  # Python's default raises KeyboardInterrupt; the loop's stop flag records it


def _remove_partials(path: Path) -> None:
    """Remove what an interrupted export of `path` left: the staging folder (and orbax's own
    temporary folder for it); a previous version moved aside comes back when `path` is absent."""
    for leftover in path.parent.glob(f"{_staging(path).name}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    previous = _previous(path)
    if previous.exists():
        if path.exists():
            shutil.rmtree(previous, ignore_errors=True)
        else:
            previous.rename(path)


def clean_partial_exports(workdir: Path) -> None:
    """What a killed export left in the workdir, removed (or put back) before a run goes on."""
    for name in (GENERATOR, GENERATOR_LAST):
        _remove_partials(workdir / name)


@dataclasses.dataclass
class Progress:
    """The run's held-out evaluations so far, saved with each checkpoint: the best after step 0
    (the starting point's score, kept for reference) is the generator exported."""

    evaluations: list[dict[str, float]] = dataclasses.field(default_factory=list)

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> "Progress":
        return cls([dict(e) for e in record.get("evaluations", [])])

    def to_json(self) -> dict[str, Any]:
        return {"evaluations": self.evaluations}

    def add(self, step: int, evaluation: Mapping[str, float]) -> bool:
        """Record an evaluation; True when it beats every earlier one (after step 0)."""
        best = self.best()
        self.evaluations.append({"step": step, **{k: float(v) for k, v in evaluation.items()}})
        return step > 0 and (best is None or evaluation["iou"] > best["iou"])

    def best(self) -> dict[str, float] | None:
        """The evaluation with the highest IoU after step 0 (the earliest of equals)."""
        candidates = [e for e in self.evaluations if e["step"] > 0]
        return max(candidates, key=lambda e: (e["iou"], -e["step"])) if candidates else None

    def at(self, step: int) -> dict[str, float] | None:
        """The evaluation made at `step`, if any."""
        return next((e for e in self.evaluations if e["step"] == step), None)

    def candidate_steps(self) -> str:
        """'2, 4, 6': the steps whose evaluations competed."""
        return ", ".join(str(int(e["step"])) for e in self.evaluations if e["step"] > 0)
