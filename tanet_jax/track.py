"""Track one sequence or video with the joint local-global tracker (python -m tanet_jax.track).

  python -m tanet_jax.track --sequence ../shared/data/sequences/DragonBaby --out boxes.txt --render out.mp4
  python -m tanet_jax.track --video clip.mp4 --init 120,80,40,60 --out boxes.txt
  python -m tanet_jax.track --sequence DIR --out boxes.txt --attention tanet --checkpoint checkpoints/tanet_official

--sequence takes an OTB-style folder (img/ and groundtruth_rect.txt, whose first box is the
default --init; OTB's frame ranges apply, e.g. David is frames 300-770) or a plain folder of
frames. Boxes are written one x,y,w,h line per frame. The attention that proposes global-search
candidates is `none` (the local tracker alone) unless you name one: `tanet` needs --checkpoint,
`groundtruth` needs the folder's annotations (an upper bound); the output says which was used.
The render overlays the box (green), the global-search candidates (yellow) and the attention map.
Bad arguments or unreadable input exit with status 2 and write nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from tanet_jax.data.benchmarks import DatasetError, Warnings, list_frames, read_otb_sequence
from tanet_jax.evaluation.results import write_boxes
from tanet_jax.evaluation.tracker_spec import CONFIG_HELP, add_tracker_arguments, spec_from_args, split_overrides
from tanet_jax.frames import LazyFrames, VideoFrames
from tanet_jax.tracking.build import make_tracker
from tanet_jax.tracking.run import run_sequence
from tanet_jax.visualize import Renderer
from tanet_jax.weights import CheckpointError


def parse_box(text: str) -> np.ndarray:
    """'x,y,w,h' -> array, with a clear error."""
    try:
        box = np.array([float(v) for v in text.replace(" ", "").split(",")])
    except ValueError:
        raise ValueError(f"--init must be x,y,w,h numbers, got {text!r}") from None
    if box.shape != (4,):
        raise ValueError(f"--init must have 4 numbers, got {text!r}")
    return box


def load_source(args: argparse.Namespace):
    """Frames, the initial box and the annotations (None without them) of --sequence or --video."""
    if args.video:
        frames = VideoFrames(Path(args.video))
        return frames, parse_box(args.init) if args.init else None, None, None
    folder = Path(args.sequence)
    if any(folder.glob("groundtruth_rect*.txt")):
        video = next(read_otb_sequence(folder, Warnings()))  # the benchmark's frame range applies
        init = parse_box(args.init) if args.init else video.boxes[0]
        return LazyFrames(video.frames), init, video.boxes, video.absent
    frames = LazyFrames(list_frames(folder / "img" if (folder / "img").is_dir() else folder))
    return frames, parse_box(args.init) if args.init else None, None, None


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="python -m tanet_jax.track", description=__doc__, epilog=CONFIG_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--sequence", help="folder of frames (OTB-style with groundtruth_rect.txt, or plain)")
    src.add_argument("--video", help="video file")
    parser.add_argument("--init", help="x,y,w,h of the target in the first frame (default: the first "
                        "ground-truth box of an OTB-style folder)")
    parser.add_argument("--out", required=True, help="boxes file to write (one x,y,w,h line per frame)")
    parser.add_argument("--render", help="also write an overlay video here (.mp4)")
    add_tracker_arguments(parser)
    try:
        rest, overrides = split_overrides(sys.argv[1:] if argv is None else argv)
    except ValueError as e:
        parser.error(str(e))
    args = parser.parse_args(rest)
    renderer = None
    try:
        spec = spec_from_args(args, overrides)
        frames, init, boxes, absent = load_source(args)
        if init is None:
            raise ValueError("--init x,y,w,h is needed (no groundtruth_rect.txt to take it from)")
        if spec.attention == "groundtruth" and boxes is None:
            raise ValueError("--attention groundtruth needs an OTB-style --sequence with groundtruth_rect.txt")
        predictor = None
        if spec.attention == "tanet":
            from tanet_jax.inference import AttentionPredictor

            predictor = AttentionPredictor.from_checkpoint(spec.checkpoint)
        tracker = make_tracker(spec.config, spec.attention, boxes=boxes, absent=absent, predictor=predictor)
        renderer = Renderer(Path(args.render)) if args.render else None
        result = run_sequence(tracker, frames, init, renderer)
    except (CheckpointError, DatasetError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if renderer:
            renderer.close()
    write_boxes(Path(args.out), result.boxes)
    print(f"{len(result.boxes)} boxes to {args.out} at {result.fps:.1f} fps; "
          f"global search fired on {int(result.global_search.sum())} frames")
    print(f"attention: {spec.attention_source()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
