"""Attention maps for a synthetic clip (python -m tanet_jax.demo): the no-download quick start.

Without --checkpoint the generator is freshly initialised (the maps then show the untrained
network); with one (converted from the release, or trained) they show what it has learned.
Writes `{j}_attentionMap.png` (8-bit grey, the release's naming) and `{j}_overlay.png`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
from tqdm import tqdm

from tanet_jax.cli import exit_on_interrupt, non_negative_int, prog
from tanet_jax.models.model_config import PRESETS, get_preset
from tanet_jax.data.synthetic import SYNTHETIC_PRESETS, make_video
from tanet_jax.inference import AttentionPredictor
from tanet_jax.models import Generator
from tanet_jax.visualize import heatmap_overlay, map_to_uint8, write_png_atomic
from tanet_jax.weights import CheckpointError


def fresh_predictor(preset: str, seed: int) -> AttentionPredictor:
    """A predictor over a randomly initialised generator of a preset's size."""
    config = get_preset(preset)
    s = config.input_size
    img = jnp.zeros((1, s, s, 3))
    variables = jax.jit(Generator(config).init)(jax.random.key(seed), img, img, jnp.zeros((1, 2, s, s, 3)))
    return AttentionPredictor(config, variables)


@exit_on_interrupt("the demo")
def main(argv: list[str] | None = None) -> int:
    """CLI entry point: load or initialise a generator, write its maps; errors are one line, exit 2."""
    name = prog("tanet_jax.demo")
    parser = argparse.ArgumentParser(prog=name, description=__doc__,
                                     epilog=f"example: {name} --checkpoint runs/synthetic/generator --out demo_out",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="demo_out", metavar="DIR", help="output directory (default: %(default)s)")
    parser.add_argument("--checkpoint", metavar="DIR",
                        help="generator checkpoint directory, converted or trained (default: none, a fresh init)")
    parser.add_argument("--preset", default="small", choices=sorted(PRESETS),
                        help="model size for a fresh init (default: %(default)s)")
    parser.add_argument("--data", default="tiny", choices=sorted(SYNTHETIC_PRESETS),
                        help="synthetic dataset preset the clip is drawn from (default: %(default)s)")
    parser.add_argument("--video", type=non_negative_int, default=0, help="video index in that dataset (default: %(default)s)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="initialisation seed (default: %(default)s)")
    args = parser.parse_args(argv)

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"error: --out {out}: exists and is not a directory", file=sys.stderr)
        return 2
    num_videos = SYNTHETIC_PRESETS[args.data].num_videos
    if not 0 <= args.video < num_videos:
        print(f"error: --video {args.video}: the {args.data!r} dataset has videos 0..{num_videos - 1}",
              file=sys.stderr)
        return 2
    try:
        if args.checkpoint:
            predictor = AttentionPredictor.from_checkpoint(args.checkpoint)
        else:
            predictor = fresh_predictor(args.preset, args.seed)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    video = make_video(SYNTHETIC_PRESETS[args.data], args.video)
    out.mkdir(parents=True, exist_ok=True)
    frames, boxes = video["frames"], video["boxes"]
    for j, attention in tqdm(predictor.predict_sequence(list(frames), boxes[0]),
                             total=len(frames) - 2, desc="attention maps", unit="frame"):
        write_png_atomic(out / f"{j}_attentionMap.png", map_to_uint8(attention))
        write_png_atomic(out / f"{j}_overlay.png", heatmap_overlay(frames[j], attention, boxes[j]))
    print(f"wrote {len(frames) - 2} maps and overlays for video {args.video} "
          f"(events: {', '.join(video['events'])}) to {out.absolute()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
