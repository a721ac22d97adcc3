"""Training logs: TensorBoard events (tensorboardX, no TensorFlow), stdout, a progress bar, and
image grids of frames, ground truth and predicted maps."""

from __future__ import annotations

import collections
import json
import logging
import time
from pathlib import Path
from typing import Any

import cv2
import ml_collections
import numpy as np
from tqdm import tqdm

from tanet_jax.visualize import heatmap_overlay, write_png_atomic

log = logging.getLogger(__name__)


class Logger:
    """Averages metrics over `log_every` steps and writes them where people look."""

    def __init__(self, workdir: Path, config: ml_collections.ConfigDict, total: int, start: int,
                 enabled: bool = True) -> None:
        self.workdir, self.config, self.enabled = workdir, config, enabled
        self.sums: dict[str, float] = collections.defaultdict(float)
        self.counts: dict[str, int] = collections.defaultdict(int)
        self.kinds: collections.Counter[str] = collections.Counter()
        self.last_time, self.last_step = time.perf_counter(), start
        self.writer = None
        self.bar = None
        if enabled:
            from tensorboardX import SummaryWriter

            self.writer = SummaryWriter(str(workdir / "tensorboard"))
            if config.progress_bar:
                self.bar = tqdm(total=total, initial=start, desc="train", unit="step", dynamic_ncols=True)
            lrs = {f"lr/{k}": float(config.optimizer[f"{k}_lr"]) for k in ("generator", "appearance", "motion")}
            self.scalars(start, lrs)

    def step(self, step: int, kind: str, metrics: dict[str, Any]) -> None:
        """Record one update's metrics (replicated arrays: device 0's value)."""
        if not self.enabled:
            return
        self.kinds[kind] += 1
        for key, value in metrics.items():
            self.sums[key] += float(np.asarray(value)[0])
            self.counts[key] += 1
        if self.bar is not None:
            self.bar.update(1)
        if step % max(self.config.log_every, 1) == 0:
            self.flush(step)

    def flush(self, step: int) -> None:
        """Write the averages since the last flush."""
        now = time.perf_counter()
        rate = (step - self.last_step) / max(now - self.last_time, 1e-9)
        values = {f"train/{k}": self.sums[k] / self.counts[k] for k in self.sums}
        values["train/steps_per_second"] = rate
        self.scalars(step, values)
        text = " ".join(f"{k.split('/')[-1]}={v:.4f}" for k, v in sorted(values.items()))
        message = f"step {step}: {text}"
        if self.bar is not None:
            self.bar.write(message)
        else:
            print(message, flush=True)
        self.sums.clear()
        self.counts.clear()
        self.last_time, self.last_step = now, step

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Scalars to TensorBoard and to WORKDIR/metrics.jsonl (one JSON object per line, easy to
        plot without TensorBoard), and eval lines to stdout."""
        if not self.enabled:
            return
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)
        with open(self.workdir / "metrics.jsonl", "a") as f:
            f.write(json.dumps({"step": step, **{k: float(v) for k, v in values.items()}}) + "\n")
        if any(k.startswith("eval/") for k in values):
            text = " ".join(f"{k}={v:.4f}" for k, v in values.items())
            (self.bar.write if self.bar is not None else print)(f"step {step}: {text}")
        self.writer.flush()

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
        if self.writer is not None:
            self.writer.close()
