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
Bad arguments or unreadable input (a missing, truncated or undecodable frame: the error names the
file) exit with status 2 and write nothing; Ctrl-C exits with status 130 and writes nothing.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np

from tanet_jax.cli import exit_on_interrupt, prog
from tanet_jax.data.benchmarks import DatasetError, Warnings, list_frames, read_otb_sequence
from tanet_jax.evaluation.results import write_boxes
from tanet_jax.evaluation.tracker_spec import spec_from_args
from tanet_jax.frames import LazyFrames, VideoFrames
from tanet_jax.tracking.build import make_tracker
from tanet_jax.tracking.config import CONFIG_HELP, add_tracker_arguments, split_overrides
from tanet_jax.tracking.run import run_sequence
from tanet_jax.visualize import Renderer
from tanet_jax.weights import CheckpointError


BOX_FIELDS = (("x", "x"), ("y", "y"), ("w", "width"), ("h", "height"))


def parse_box(text: str) -> np.ndarray:
    """'x,y,w,h' -> array: a value that is not a finite number, or a width or height not above 0,
    is a ValueError quoting the user's own text."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise ValueError(f"{text!r}: expected 4 comma-separated numbers x,y,w,h, got {len(parts)}")
    values = []
    for (short, name), part in zip(BOX_FIELDS, parts):
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"{text!r}: the {name} {short} = {part!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{text!r}: the {name} {short} = {part} is not a finite number")
        if short in "wh" and value <= 0:
            raise ValueError(f"{text!r}: the {name} {short} = {part} must be > 0")
        values.append(value)
    return np.array(values)


def box_argument(text: str) -> str:
    """argparse type of --init: the text, once parse_box accepts it (so a bad box fails at parse time)."""
    try:
        parse_box(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def check_init(init: np.ndarray, frames, given: str | None) -> None:
    """An --init box (or the annotation's first box) that misses the first frame is an error
    quoting it, before any tracking."""
    height, width = frames[0].shape[:2]
    x, y, w, h = (float(v) for v in init)
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        source = f"--init {given!r}" if given else f"the first ground-truth box {','.join(f'{v:g}' for v in init)}"
        raise ValueError(f"{source} lies outside the {width}x{height} first frame")


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
    frame_dir = folder / "img" if (folder / "img").is_dir() else folder
    if folder.is_dir() and not (folder / "img").is_dir() and any((c / "img").is_dir() for c in folder.iterdir()):
        raise DatasetError(f"{folder} holds several sequences (NAME/img/); pass one of them to --sequence")
    return LazyFrames(list_frames(frame_dir)), parse_box(args.init) if args.init else None, None, None


class AtomicRender:
    """The overlay video written under a temporary name beside --render and renamed only when
    tracking completes, so a failed or interrupted run leaves no partial video."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(f".{path.stem}.partial{path.suffix}")
        self.renderer = Renderer(self.partial)

    def __call__(self, *args, **kwargs) -> None:
        self.renderer(*args, **kwargs)

    def finish(self, complete: bool) -> None:
        """Close the video; keep it under its name if tracking completed, else delete it."""
        self.renderer.close()
        if complete and self.partial.exists():
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)


@exit_on_interrupt("tracking")
def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog=prog("tanet_jax.track"), description=__doc__, epilog=CONFIG_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--sequence", help="folder of frames (OTB-style with groundtruth_rect.txt, or plain)")
    src.add_argument("--video", help="video file")
    parser.add_argument("--init", type=box_argument, metavar="X,Y,W,H",
                        help="the target in the first frame (default: the first ground-truth box of an "
                        "OTB-style folder)")
    parser.add_argument("--out", required=True, help="boxes file to write (one x,y,w,h line per frame)")
    parser.add_argument("--render", help="also write an overlay video here (.mp4)")
    add_tracker_arguments(parser)
    try:
        rest, overrides = split_overrides(sys.argv[1:] if argv is None else argv)
    except ValueError as e:
        parser.error(str(e))
    args = parser.parse_args(rest)
    renderer, result = None, None
    try:
        spec = spec_from_args(args, overrides)
        frames, init, boxes, absent = load_source(args)
        if init is None:
            raise ValueError("--init x,y,w,h is needed (no groundtruth_rect.txt to take it from)")
        check_init(init, frames, args.init)
        if spec.attention == "groundtruth" and boxes is None:
            raise ValueError("--attention groundtruth needs an OTB-style --sequence with groundtruth_rect.txt")
        predictor = None
        if spec.attention == "tanet":
            from tanet_jax.inference import AttentionPredictor

            predictor = AttentionPredictor.from_checkpoint(spec.checkpoint)
        tracker = make_tracker(spec.config, spec.attention, boxes=boxes, absent=absent, predictor=predictor)
        renderer = AtomicRender(Path(args.render)) if args.render else None
        result = run_sequence(tracker, frames, init, renderer)
    except (CheckpointError, DatasetError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if renderer:
            renderer.finish(complete=result is not None)
    write_boxes(Path(args.out), result.boxes)
    print(f"{len(result.boxes)} boxes to {args.out} at {result.fps:.1f} fps; "
          f"global search fired on {int(result.global_search.sum())} frames")
    print(f"attention: {spec.attention_source()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
