"""Helpers the tests share (import them: `from helpers import ...`): where ../shared lives, the
parity bound, and the small videos and benchmark layouts tests write to disk."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from tanet_jax.data.synthetic import SYNTHETIC_PRESETS, SyntheticSpec, make_video
from tanet_jax.evaluation import metrics

SHARED = Path(os.environ.get("TANET_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
SEQUENCES = SHARED / "data" / "sequences"

H, W = 96, 128  # frame size of moving_square's videos
# the lost-target videos (find_video): long enough to lose and find the target again
SYNTHETIC_SPEC = SyntheticSpec(num_videos=1, num_frames=40, height=180, width=240, seed=3)


def assert_parity(ours, ref, rel: float = 1e-5, max_abs: float = 1e-4) -> None:
    """The parity bound: relative L2 < rel and max abs error < max_abs."""
    ours = np.asarray(ours, np.float64)
    ref = np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    err = np.linalg.norm(ours - ref) / max(np.linalg.norm(ref), 1e-30)
    worst = np.abs(ours - ref).max()
    assert err < rel and worst < max_abs, f"relative L2 {err:.3g}, max abs {worst:.3g}"


def moving_square(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """A textured square drifting over a noisy background, and its boxes."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 80, (H, W, 3), dtype=np.uint8)
    patch = rng.integers(120, 255, (20, 20, 3), dtype=np.uint8)
    frames, boxes = [], []
    for t in range(n):
        x, y = 20 + int(1.5 * t) % 80, 30 + int(np.sin(t / 5) * 10)
        f = background.copy()
        f[y : y + 20, x : x + 20] = patch
        frames.append(f)
        boxes.append([x, y, 20, 20])
    return frames, np.asarray(boxes, float)


def write_frames(folder: Path, frames, first: int = 1, pattern: str = "{:04d}.jpg") -> None:
    """Frames as numbered JPEGs (first, first+1, ...) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / pattern.format(first + i)), f)


def write_lines(path: Path, boxes) -> None:
    """Boxes as x,y,w,h lines (NaN for a missing box)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(",".join("NaN" if np.isnan(v) else f"{v:g}" for v in b) + "\n" for b in boxes))


def otb_root(root: Path, names=("Alpha", "Beta"), lengths=(18, 26)) -> Path:
    """OTB-layout sequences of drifting squares (NAME/img/*.jpg + NAME/groundtruth_rect.txt) in `root`."""
    for k, (name, n) in enumerate(zip(names, lengths)):
        frames, boxes = moving_square(n, k)
        write_frames(root / name / "img", frames)
        write_lines(root / name / "groundtruth_rect.txt", boxes)
    return root


def write_video(folder: Path, frames: np.ndarray, boxes: np.ndarray, name_width: int = 8,
                gt_name: str = "groundtruth.txt", sep: str = ",", img_sub: str = "") -> Path:
    """A video folder in benchmark layout, written by the test."""
    img_dir = folder / img_sub if img_sub else folder
    img_dir.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(img_dir / f"{i + 1:0{name_width}d}.jpg"), frame)
    (folder / gt_name).write_text("\n".join(sep.join(f"{v:g}" for v in b) for b in boxes) + "\n")
    return folder


def synthetic_clip(index: int = 0, frames: int = 8):
    """The first frames of the index-th synthetic video whose target never leaves the frame."""
    spec = SYNTHETIC_PRESETS["tiny"]
    found = -1
    for i in range(1000):
        video = make_video(spec, i)
        b = video["boxes"]
        if (b[:, :2] >= 0).all() and (b[:, 0] + b[:, 2] <= spec.width).all() and (b[:, 1] + b[:, 3] <= spec.height).all():
            found += 1
            if found == index:
                return video["frames"][:frames], video["boxes"][:frames].astype(np.float64)
    raise AssertionError("no such synthetic video")


def find_video(events: set[str], exclude: set[str], far_jump: bool = False) -> dict:
    """A synthetic video with these events and none of `exclude` (far_jump: a jump of more than
    three target sizes, beyond any local search region)."""
    for i in range(400):
        v = make_video(SYNTHETIC_SPEC, i)
        if events <= set(v["events"]) and not (exclude & set(v["events"])):
            b = v["boxes"].astype(float)
            if far_jump and np.linalg.norm(np.diff(b[:, :2], axis=0), axis=1).max() < 3 * b[:, 2:].max():
                continue
            return v
    raise AssertionError(f"no synthetic video with {events}")


def ious(result, video) -> np.ndarray:
    """IoU per frame, NaN where the target is absent."""
    out = np.full(len(video["boxes"]), np.nan)
    keep = ~video["absent"]
    out[keep] = metrics.rect_iou(result.boxes[keep], video["boxes"][keep].astype(float))
    return out


def inputs(rng, config, batch=2, t=3):
    """Random frames, targets and clips of the generator's input size."""
    s = config.input_size
    frames = rng.random((batch, s, s, 3), dtype=np.float32)
    targets = rng.random((batch, s, s, 3), dtype=np.float32)
    clips = rng.random((batch, t, s, s, 3), dtype=np.float32)
    return frames, targets, clips


def assert_not_saturated(maps: np.ndarray) -> None:
    """A saturated sigmoid would hide errors in the logits."""
    assert maps.std() > 0.1
    assert np.mean((maps < 0.01) | (maps > 0.99)) < 0.01


def reference_generator(config, rng, seed=0):
    """The PyTorch reference generator, randomised and its head calibrated (needs torch)."""
    from tanet_jax import torch_reference as R
    from tanet_jax.torch_reference import nchw, ncthw

    ref = R.randomize_(R.TANetGenerator(config), seed).eval()
    f, g, c = inputs(rng, config, batch=1)
    R.calibrate_head_(ref, nchw(f), nchw(g), ncthw(c))
    return ref
