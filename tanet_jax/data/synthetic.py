"""Synthetic tracking videos with the hard cases TANet exists for, generated from a seed.

Each video shows a textured target over a textured, panning background. Every video draws some
of the events: full occlusion by a passing bar, leaving and re-entering the frame, an abrupt jump
(fast motion or a cut), look-alike distractors, scale change, illumination change. Boxes are exact
(the target's full geometric extent, which may reach past the image border) and each frame
records the visible fraction of the target, so absence is exact too.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import cv2
import numpy as np

EVENTS = ("occlusion", "out_of_view", "jump", "distractors", "scale", "illumination")


@dataclasses.dataclass(frozen=True)
class SyntheticSpec:
    """Size of a synthetic dataset: videos, frames per video and frame size."""

    num_videos: int
    num_frames: int
    height: int
    width: int
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return dataclasses.asdict(self)


SYNTHETIC_PRESETS: dict[str, SyntheticSpec] = {
    "tiny": SyntheticSpec(num_videos=8, num_frames=12, height=96, width=128),
    "small": SyntheticSpec(num_videos=96, num_frames=32, height=180, width=240),
    "medium": SyntheticSpec(num_videos=512, num_frames=64, height=300, width=400),
}


def _texture(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Smooth coloured noise: a few octaves of upsampled random fields."""
    out = np.zeros((h, w, 3), np.float32)
    for octave in range(3):
        cells = max(2, int(max(h, w) / (scale * 2**-octave)))
        field = rng.random((cells, cells, 3)).astype(np.float32)
        out += cv2.resize(field, (w, h), interpolation=cv2.INTER_CUBIC) / 2**octave
    out -= out.min()
    return out / max(float(out.max()), 1e-6)


def _target_texture(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A distinctive pattern: stripes or checks in two saturated colours, plus a little noise."""
    c1, c2 = rng.random(3), rng.random(3)
    c2 = np.where(np.abs(c2 - c1) < 0.4, 1.0 - c1, c2)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    freq = rng.uniform(2, 5)
    if rng.random() < 0.5:
        pattern = np.sin(2 * np.pi * freq * (xx + rng.random() * yy)) > 0
    else:
        pattern = (np.floor(xx * freq) + np.floor(yy * freq)) % 2 > 0
    tex = np.where(pattern[..., None], c1, c2).astype(np.float32)
    return np.clip(tex + rng.normal(0, 0.04, tex.shape), 0, 1).astype(np.float32)


def _paste(frame: np.ndarray, patch: np.ndarray, x: float, y: float) -> np.ndarray:
    """Paste a patch with its top-left at (x, y) (rounded), clipped to the frame; returns the
    boolean footprint of the visible pixels."""
    h, w = frame.shape[:2]
    ph, pw = patch.shape[:2]
    x0, y0 = int(round(x)), int(round(y))
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + pw, w), min(y0 + ph, h)
    mask = np.zeros((h, w), bool)
    if fx1 > fx0 and fy1 > fy0:
        frame[fy0:fy1, fx0:fx1] = patch[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
        mask[fy0:fy1, fx0:fx1] = True
    return mask


def make_video(spec: SyntheticSpec, index: int) -> dict[str, Any]:
    """Video `index` of a dataset: frames (N,H,W,3) uint8 BGR, boxes (N,4) [x,y,w,h] float32,
    visible_fraction (N,), absent (N,) bool, and the events it contains."""
    rng = np.random.default_rng([spec.seed, index])
    n, h, w = spec.num_frames, spec.height, spec.width
    events = tuple(sorted(str(e) for e in rng.choice(EVENTS, size=rng.integers(1, 3), replace=False)))
    pad = max(h, w) // 2
    background = _texture(rng, h + 2 * pad, w + 2 * pad, scale=rng.uniform(12, 30))
    pan = rng.uniform(-1.5, 1.5, 2)
    tex = _target_texture(rng)
    base = rng.uniform(0.14, 0.24) * min(h, w)
    aspect = rng.uniform(0.6, 1.6)
    pos = np.array([rng.uniform(0.25, 0.6) * w, rng.uniform(0.25, 0.6) * h])
    vel = rng.uniform(-1, 1, 2) * min(h, w) / 60

    scale = np.ones(n)
    if "scale" in events:
        scale = np.exp(np.linspace(0, rng.choice([-1, 1]) * np.log(rng.uniform(1.5, 2.0)), n))
    light = np.ones(n)
    if "illumination" in events:
        light = 1.0 + rng.uniform(0.3, 0.5) * np.sin(np.linspace(0, rng.uniform(1, 3) * np.pi, n))
    jump_at = int(rng.integers(n // 3, 2 * n // 3)) if "jump" in events else -1
    leave = (n // 4, n // 4 + max(2, n // 4)) if "out_of_view" in events else None
    occlude = (int(rng.integers(n // 4, n // 2)), max(2, n // 5)) if "occlusion" in events else None
    distractors = []
    if "distractors" in events:
        for _ in range(int(rng.integers(1, 3))):
            distractors.append(
                (rng.uniform(0, w), rng.uniform(0, h), *(rng.uniform(-1, 1, 2) * min(h, w) / 50))
            )

    frames = np.zeros((n, h, w, 3), np.uint8)
    boxes = np.zeros((n, 4), np.float32)
    visible = np.zeros(n, np.float32)
    for t in range(n):
        if t == jump_at:
            pos = np.array([rng.uniform(0.1, 0.7) * w, rng.uniform(0.1, 0.7) * h])
        if leave and leave[0] <= t < leave[1]:
            pos = pos + np.sign(pos - [w / 2, h / 2]) * np.array([w, h]) / (leave[1] - leave[0]) * 0.8
        elif leave and t == leave[1]:
            pos = np.array([rng.uniform(0.2, 0.6) * w, rng.uniform(0.2, 0.6) * h])
        pos = pos + vel
        for axis, limit in ((0, w), (1, h)):  # bounce inside the frame when not leaving it
            if not (leave and leave[0] <= t < leave[1]) and not 0 <= pos[axis] <= limit * 0.8:
                vel[axis] = -vel[axis]
                pos[axis] = np.clip(pos[axis], 0, limit * 0.8)
        tw = max(4, int(round(base * scale[t] * np.sqrt(aspect))))
        th = max(4, int(round(base * scale[t] / np.sqrt(aspect))))
        ox, oy = (pad + pan * t).astype(int)
        frame = background[oy : oy + h, ox : ox + w].copy()
        for i, (dx, dy, vx, vy) in enumerate(distractors):
            _paste(frame, cv2.resize(tex, (tw, th)), (dx + vx * t) % w, (dy + vy * t) % h)
        x0, y0 = int(round(pos[0])), int(round(pos[1]))
        footprint = _paste(frame, cv2.resize(tex, (tw, th)), x0, y0)
        if occlude and occlude[0] <= t < occlude[0] + occlude[1]:
            bar = np.zeros((h, w), bool)
            bx0, bx1 = max(x0 - tw // 2, 0), min(x0 + tw + tw // 2, w)
            bar[:, bx0:bx1] = True
            frame[bar] = 1.0 - background[oy : oy + h, ox : ox + w][bar] * 0.5
            footprint &= ~bar
        frames[t] = np.clip(frame * light[t] * 255.0, 0, 255).astype(np.uint8)
        boxes[t] = (x0, y0, tw, th)
        visible[t] = footprint.sum() / float(tw * th)
    return {
        "frames": frames,
        "boxes": boxes,
        "visible_fraction": visible,
        "absent": visible == 0.0,
        "events": events,
    }
