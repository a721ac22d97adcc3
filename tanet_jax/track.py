"""Track one sequence or video with the joint local-global tracker (python -m tanet_jax.track).

  python -m tanet_jax.track --sequence ../shared/data/sequences/DragonBaby --out boxes.txt --render out.mp4
  python -m tanet_jax.track --video clip.mp4 --init 120,80,40,60 --out boxes.txt --attention none

--sequence takes an OTB-style folder (img/ and groundtruth_rect.txt, whose first box is the
default --init) or a plain folder of frames. Boxes are written one x,y,w,h line per frame. The
render overlays the box (green), the candidates of global search (yellow) and the attention map.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from tanet_jax.weights import CheckpointError
from tanet_jax.data.benchmarks import DatasetError, list_frames, parse_boxes
from tanet_jax.predict import DEFAULT_CHECKPOINT, LazyFrames
from tanet_jax.tracking.attention import NoAttention, TanetAttention
from tanet_jax.tracking.cf import CorrelationFilterTracker
from tanet_jax.tracking.joint import JointParams, JointTracker
from tanet_jax.tracking.run import run_sequence
from tanet_jax.visualize import heatmap_overlay


class VideoFrames:
    """All frames of a video file (decoded once; a video that ends early is an error)."""

    def __init__(self, path: Path) -> None:
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise DatasetError(f"{path}: cannot open video")
        self.frames = []
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

    def __getitem__(self, i: int) -> np.ndarray:
        return self.frames[i]


def parse_box(text: str) -> np.ndarray:
    """'x,y,w,h' -> array, with a clear error."""
    try:
        box = np.array([float(v) for v in text.replace(" ", "").split(",")])
    except ValueError:
        raise ValueError(f"--init must be x,y,w,h numbers, got {text!r}") from None
    if box.shape != (4,):
        raise ValueError(f"--init must have 4 numbers, got {text!r}")
    return box


class Renderer:
    """Writes the overlay video frame by frame."""

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


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="python -m tanet_jax.track", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--sequence", help="folder of frames (OTB-style or plain)")
    src.add_argument("--video", help="video file")
    parser.add_argument("--init", help="x,y,w,h of the target in the first frame")
    parser.add_argument("--out", required=True, help="boxes file to write")
    parser.add_argument("--render", help="write an overlay video here (.mp4)")
    parser.add_argument("--attention", default="tanet", choices=("tanet", "none"))
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT, help="generator checkpoint for tanet attention")
    parser.add_argument("--threshold", type=float, default=JointParams.threshold)
    parser.add_argument("--every", type=int, default=0)
    args = parser.parse_args(argv)
    renderer = Renderer(Path(args.render)) if args.render else None
    try:
        if args.sequence:
            folder = Path(args.sequence)
            frames = LazyFrames(list_frames(folder / "img" if (folder / "img").is_dir() else folder))
            gt = folder / "groundtruth_rect.txt"
            init = parse_box(args.init) if args.init else (parse_boxes(gt)[0] if gt.is_file() else None)
        else:
            frames = VideoFrames(Path(args.video))
            init = parse_box(args.init) if args.init else None
        if init is None:
            raise ValueError("--init x,y,w,h is needed (no groundtruth_rect.txt to take it from)")
        attention = NoAttention()
        if args.attention == "tanet":
            from tanet_jax.inference import AttentionPredictor

            attention = TanetAttention(AttentionPredictor.from_checkpoint(args.checkpoint))
        tracker = JointTracker(CorrelationFilterTracker(), attention,
                               JointParams(threshold=args.threshold, every=args.every))
        result = run_sequence(tracker, frames, init, renderer)
    except (CheckpointError, DatasetError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if renderer:
            renderer.close()
    out = Path(args.out)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text("\n".join(",".join(f"{v:.3f}" for v in b) for b in result.boxes) + "\n")
    os.replace(tmp, out)
    print(f"{len(result.boxes)} boxes to {out} at {result.fps:.1f} fps; "
          f"global search fired on {int(result.global_search.sum())} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
