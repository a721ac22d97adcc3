"""Pictures for people: attention heat maps over frames, and atomic PNG writes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np


def map_to_uint8(attention: np.ndarray) -> np.ndarray:
    """A map in [0, 1] as an 8-bit grey image: value * 255 rounded, as cv2's saturate_cast does."""
    return np.rint(np.clip(np.asarray(attention, np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)


def heatmap_overlay(
    frame: np.ndarray,
    attention: np.ndarray,
    box: Sequence[float] | None = None,
    alpha: float = 0.5,
) -> np.ndarray:
    """The frame (uint8 BGR) with the map resized over it as a JET heat map, and the box in green."""
    h, w = frame.shape[:2]
    heat = cv2.applyColorMap(cv2.resize(map_to_uint8(attention), (w, h)), cv2.COLORMAP_JET)
    out = cv2.addWeighted(frame, 1.0 - alpha, heat, alpha, 0.0)
    if box is not None:
        x, y, bw, bh = (int(round(v)) for v in box)
        cv2.rectangle(out, (x, y), (x + bw, y + bh), (0, 255, 0), 1)
    return out


def write_png_atomic(path: str | os.PathLike, image: np.ndarray) -> None:
    """Encode then rename into place, so a crash never leaves a truncated PNG under `path`."""
    path = Path(path)
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"could not encode an image of shape {image.shape} for {path}")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data.tobytes())
    os.replace(tmp, path)


class Renderer:
    """Writes a tracking overlay video frame by frame: the box (green), global-search candidates
    (yellow), the attention map and the confidence."""

    def __init__(self, path: Path, fps: float = 25.0) -> None:
        self.path, self.fps, self.writer = path, fps, None

    def __call__(self, index: int, frame: np.ndarray, out: dict) -> None:
        if self.writer is None:
            h, w = frame.shape[:2]
            self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
        image = heatmap_overlay(frame, out["attention"], alpha=0.4) if out.get("attention") is not None else frame.copy()
        for c in out.get("candidates", []):
            x, y, w, h = (int(round(v)) for v in c)
            cv2.rectangle(image, (x, y), (x + w, y + h), (0, 255, 255), 1)
        x, y, w, h = (int(round(v)) for v in out["box"])
        cv2.rectangle(image, (x, y), (x + w, y + h), (0, 255, 0), 2)
        label = f"{index} conf {out['confidence']:.2f}" + (" GLOBAL" if out.get("global_search") else "")
        cv2.putText(image, label, (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        self.writer.write(image)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
