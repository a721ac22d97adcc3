"""OpenCV's contrib trackers (CSRT, KCF, MIL) in the project's own environment, through the loop
experiments/bench/opencv_trackers.py and tracker_speed.py run (tanet_jax.evaluation.bench.track_frames):
each follows a target, judged by mean IoU against the true boxes with a bound that standing still
cannot reach. Also: one cv2 (the contrib headless build) in requirements.txt, and the extras' pins
equal requirements-test.txt's."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np
import pytest

from tanet_jax.data.benchmarks import read_otb_sequence
from tanet_jax.evaluation.bench import track_frames
from tanet_jax.geometry import rect_iou
from tanet_jax.tracking.blackbox import opencv_factory

ROOT = Path(__file__).resolve().parents[1]

SIDE = 40  # the synthetic target's side, pixels


def moving_square(frames: int = 30, height: int = 240, width: int = 320, seed: int = 0) -> tuple[list, np.ndarray]:
    """(BGR frames, true boxes): a smooth-noise textured square over a smooth-noise background,
    moving on a figure of eight (up to 10 px a frame), still between frames 0 and 1 (OpenCV's KCF
    does not search on its first update: test_kcf_does_not_search_on_its_first_update)."""
    rng = np.random.default_rng(seed)
    background = cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (0, 0), 3)
    target = cv2.normalize(cv2.GaussianBlur(rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8), (0, 0), 2),
                           None, 0, 255, cv2.NORM_MINMAX)
    phase = 2 * np.pi * np.maximum(np.arange(frames) - 1, 0) / frames
    xs = np.round((width - SIDE) / 2 + 40 * np.sin(phase)).astype(int)
    ys = np.round((height - SIDE) / 2 + 25 * np.sin(2 * phase)).astype(int)
    images = []
    for x, y in zip(xs, ys):
        image = background.copy()
        image[y:y + SIDE, x:x + SIDE] = target
        images.append(image)
    return images, np.stack([xs, ys, np.full(frames, SIDE), np.full(frames, SIDE)], 1).astype(np.float64)


def mean_iou(kind: str, frames: list, boxes: np.ndarray) -> float:
    """Mean IoU over the clip of OpenCV tracker `kind` started on the first true box."""
    return float(rect_iou(track_frames(opencv_factory(kind), frames, boxes[0])[0], boxes).mean())


def standing_still(boxes: np.ndarray) -> float:
    """Mean IoU of a tracker that never moves from the first box: what a bound must beat."""
    return float(rect_iou(np.repeat(boxes[:1], len(boxes), 0), boxes).mean())


def assert_follows(kind: str, frames: list, boxes: np.ndarray, bound: float) -> None:
    """Mean IoU above `bound`, a bound at least 0.15 above what a box that never moves scores."""
    assert standing_still(boxes) < bound - 0.15
    assert mean_iou(kind, frames, boxes) > bound


# Measured on OpenCV 5.0.0 (contrib, headless), seeds 0-2 of moving_square: CSRT 0.891-0.931, KCF
# 1.000; a still box 0.19. MIL is left out here: it samples at random (cv2.setRNGSeed does not fix
# it) and lost this target in 6 of 18 runs (mean IoU 0.16-0.47 then); the real clip below checks it.
@pytest.mark.parametrize("kind", ["csrt", "kcf"])
def test_follows_a_moving_textured_square(kind):
    assert_follows(kind, *moving_square(), bound=0.8)


def test_kcf_does_not_search_on_its_first_update():
    """OpenCV's KCF trains on its first update's frame at the old box without searching it (it
    reports the first box again): a target that moves on frame 1 leaves KCF offset from then on."""
    frames, boxes = moving_square()
    tracker = opencv_factory("kcf")()
    tracker.init(frames[1], tuple(int(v) for v in boxes[1]))
    ok, box = tracker.update(frames[2])
    assert not np.array_equal(boxes[1], boxes[2])
    assert ok and tuple(box) == tuple(int(v) for v in boxes[1])


# The first frames of Crossing (../shared/data/sequences; a walker, 360x240). Measured on OpenCV
# 5.0.0: CSRT 0.833 over 30 frames (a still box 0.158); MIL 0.480-0.847 over 30 frames in 50 runs
# (it samples at random); KCF 0.589 over 20 frames (a still box 0.237), after which it drifts off
# (IoU 0 from frame 23; OpenCV's KCF loses the target within 30 frames on all four shared sequences).
@pytest.mark.parametrize("kind, frames, bound", [("csrt", 30, 0.7), ("mil", 30, 0.35), ("kcf", 20, 0.45)])
def test_follows_the_first_frames_of_a_real_sequence(sequences_dir, kind, frames, bound):
    if not (sequences_dir / "Crossing").is_dir():
        pytest.skip(f"no Crossing in {sequences_dir}")
    video = next(read_otb_sequence(sequences_dir / "Crossing"))
    images = [cv2.imread(str(f)) for f in video.frames[:frames]]
    assert_follows(kind, images, np.asarray(video.boxes[:frames], np.float64), bound)


def _pins(lines: list[str]) -> dict[str, str]:
    """name -> version of the `name==version` lines (pip's requirement-file options skipped)."""
    return dict(line.split("#")[0].strip().split("==") for line in lines
                if "==" in line and not line.lstrip().startswith(("#", "-")))


def test_one_cv2_the_contrib_headless_build():
    """opencv-python and the contrib builds all install cv2/: with two, whichever came last wins."""
    pins = _pins((ROOT / "requirements.txt").read_text().splitlines())
    builds = {"opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"}
    assert {name for name in pins if name in builds} == {"opencv-contrib-python-headless"}
    installed = set()
    for name in builds:
        try:
            metadata.version(name)
            installed.add(name)
        except metadata.PackageNotFoundError:
            pass
    assert installed == {"opencv-contrib-python-headless"}, f"installed OpenCV builds: {sorted(installed)}"
    assert cv2.__version__ == pins["opencv-contrib-python-headless"].rsplit(".", 1)[0]


def test_extras_pin_what_requirements_test_pins():
    """pyproject's `test` and `convert` extras cannot read requirements-test.txt (it has pip options): equal pins."""
    test_file = _pins((ROOT / "requirements-test.txt").read_text().splitlines())
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert _pins(extras["test"]) == test_file
    assert _pins(extras["convert"]) == {"torch": test_file["torch"]}
