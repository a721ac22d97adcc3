"""Frame sources for trackers and predictors: image files read on demand, or a decoded video."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from tanet_jax.data.benchmarks import DatasetError, read_image


class LazyFrames(Sequence[np.ndarray]):
    """A video's frames read on demand (long videos never sit in memory whole); a missing,
    truncated or undecodable frame is a DatasetError naming its file."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i):  # type: ignore[override]
        return read_image(self.paths[i])


class VideoFrames(Sequence[np.ndarray]):
    """All frames of a video file, decoded once (fewer than two frames is an error naming the file)."""

    def __init__(self, path: Path) -> None:
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise DatasetError(f"{path}: cannot open video")
        self.frames: list[np.ndarray] = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            self.frames.append(frame)
        cap.release()
        if len(self.frames) < 2:
            raise DatasetError(f"{path}: the video has {len(self.frames)} frame(s); tracking needs 2 or more")

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i):  # type: ignore[override]
        return self.frames[i]
