"""Attention-map files of a dataset: the release's naming (OUT/<video>/{j}_attentionMap.png, 8-bit
grey PNG, frames j = 1..N-2 with clip j-1, j, j+1), written atomically and resumable; the
library behind `python -m tanet_jax.predict`."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from tanet_jax.data.benchmarks import Video
from tanet_jax.frames import LazyFrames
from tanet_jax.inference import AttentionPredictor
from tanet_jax.visualize import map_to_uint8, write_png_atomic


def map_path(out: Path, video: str, j: int) -> Path:
    """Where frame j's map of a video goes (the release's naming)."""
    return out / video / f"{j}_attentionMap.png"


def predict_video(predictor: AttentionPredictor, video: Video, out: Path, batch_size: int,
                  on_map: Callable[[], None] = lambda: None) -> int:
    """Write the missing maps of one video; returns how many were written."""
    todo = [j for j in range(1, len(video) - 1) if not map_path(out, video.name, j).exists()]
    for _ in range(len(video) - 2 - len(todo)):
        on_map()  # already on disk
    if not todo:
        return 0
    (out / video.name).mkdir(parents=True, exist_ok=True)
    written = 0
    for j, attention in predictor.predict_sequence(LazyFrames(video.frames), video.boxes[0], batch_size, todo):
        write_png_atomic(map_path(out, video.name, j), map_to_uint8(attention))
        written += 1
        on_map()
    return written
