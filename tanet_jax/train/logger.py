"""Training logs: TensorBoard events (tensorboardX, no TensorFlow) and metrics.jsonl with every
metric, a progress bar carrying the losses, and image grids of frames, ground truth and maps.

Metrics stay on the device between logging steps: each update's metrics are added to running
sums there, and one `jax.device_get` per `log_every` steps brings the sums to the host, so no
step waits for the previous one to finish."""

from __future__ import annotations

import collections
import json
import logging
import time
from pathlib import Path
from typing import Any

import cv2
import jax
import ml_collections
import numpy as np
from tqdm import tqdm

from tanet_jax.visualize import heatmap_overlay, write_png_atomic

log = logging.getLogger(__name__)

# Short names of the losses the progress bar shows (the rest: TensorBoard and metrics.jsonl).
BAR_METRICS = {"g_loss": "G", "g_bce": "bce", "d_appearance_loss": "D_app", "d_motion_loss": "D_mot"}


class Logger:
    """Sums metrics on the device over `log_every` steps and writes their averages where people
    look: the bar's postfix (losses), TensorBoard and WORKDIR/metrics.jsonl (everything)."""

    def __init__(self, workdir: Path, config: ml_collections.ConfigDict, total: int, start: int,
                 enabled: bool = True) -> None:
        self.workdir, self.config, self.enabled = workdir, config, enabled
        self.total, self.start = total, start
        self.sums: dict[str, Any] = {}  # device arrays
        self.counts: dict[str, int] = collections.defaultdict(int)
        self.kinds: collections.Counter[str] = collections.Counter()
        self.last_time, self.last_step = time.perf_counter(), start
        self.writer = None
        self.bar = None
        if enabled:
            from tensorboardX import SummaryWriter

            self.writer = SummaryWriter(str(workdir / "tensorboard"))
            lrs = {f"lr/{k}": float(config.optimizer[f"{k}_lr"]) for k in ("generator", "appearance", "motion")}
            self.scalars(start, lrs)

    def start_clock(self, step: int) -> None:
        """Start the progress bar (and the steps/s clock) now: after compilation, so the bar's
        rate and ETA are those of training."""
        self.last_time, self.last_step = time.perf_counter(), step
        if self.enabled and self.config.progress_bar and self.bar is None:
            self.bar = tqdm(total=self.total, initial=step, desc="train", unit="step", dynamic_ncols=True)

    def step(self, step: int, kind: str, metrics: dict[str, Any]) -> None:
        """Add one update's metrics (replicated device arrays) to the running sums, on the device."""
        if not self.enabled:
            return
        self.kinds[kind] += 1
        for key, value in metrics.items():
            self.sums[key] = value if key not in self.sums else self.sums[key] + value
            self.counts[key] += 1
        if self.bar is not None:
            self.bar.update(1)
        if step % max(self.config.log_every, 1) == 0:
            self.flush(step)

    def flush(self, step: int) -> None:
        """Write the averages since the last flush: the one device-to-host transfer of metrics."""
        if not self.enabled or not self.sums:
            return
        sums = jax.device_get(self.sums)
        now = time.perf_counter()
        rate = (step - self.last_step) / max(now - self.last_time, 1e-9)
        values = {f"train/{k}": float(np.asarray(v).reshape(-1)[0]) / self.counts[k] for k, v in sums.items()}
        values["train/steps_per_second"] = rate
        self.scalars(step, values)
        short = " ".join(f"{name}={values['train/' + k]:.3f}" for k, name in BAR_METRICS.items()
                         if f"train/{k}" in values)
        if self.bar is not None:
            self.bar.set_postfix_str(short, refresh=True)
        else:
            print(f"step {step}/{self.total}: {short} ({rate:.2f} steps/s)", flush=True)
        self.sums.clear()
        self.counts.clear()
        self.last_time, self.last_step = now, step

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Scalars to TensorBoard and to WORKDIR/metrics.jsonl (one JSON object per line, easy to
        plot without TensorBoard); held-out evaluation also as one short line."""
        if not self.enabled:
            return
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)
        with open(self.workdir / "metrics.jsonl", "a") as f:
            f.write(json.dumps({"step": step, **{k: float(v) for k, v in values.items()}}) + "\n")
        evals = {k.split("/", 1)[1]: v for k, v in values.items() if k.startswith("eval/")}
        if evals:
            text = f"held-out at step {step}: IoU {evals.get('iou', 0):.3f}, peak in box {evals.get('peak_hit', 0):.3f}"
            self.write(text + f" ({int(evals.get('frames', 0))} frames)")
        self.writer.flush()

    def write(self, text: str) -> None:
        """A line for people, above the progress bar when there is one (process 0 only)."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def images(self, step: int, batch: dict[str, np.ndarray], predict: Any, state: Any) -> None:
        """A grid (rows: samples; columns: frame, ground truth, predicted map) as a PNG."""
        if not self.enabled:
            return
        sub = {k: v[0][:4] for k, v in batch.items()}  # device 0, up to 4 samples
        variables = {"params": state.generator.params, "batch_stats": state.generator.batch_stats}
        maps = np.asarray(predict(variables, sub))
        rows = []
        for i in range(len(maps)):
            frame = sub["frames"][i, 1]
            gt = cv2.cvtColor(sub["masks"][i, 1] * 255, cv2.COLOR_GRAY2BGR)
            rows.append(np.concatenate([frame, gt, heatmap_overlay(frame, maps[i])], axis=1))
        grid = np.concatenate(rows, axis=0)
        path = self.workdir / "images" / f"step_{step:07d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_png_atomic(path, grid)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.writer is not None:
            self.writer.close()
