"""Attention maps for every frame of every video of a dataset (python -m tanet_jax.predict).

The release's inference script done right: maps as 8-bit grey PNGs named as the release names
them, OUT/<video>/{j}_attentionMap.png, for frames j = 1..N-2 (clip j-1, j, j+1; the release's
script stopped at N-3), batched, written atomically, resumable (maps already on disk are kept),
with a progress bar.

  python -m tanet_jax.predict --root /data/GOT-10k --dataset got10k --split val --out maps \\
      --checkpoint checkpoints/tanet_official

--checkpoint is required: no model is used unless you name it. --dataset and --split read the
same layouts as `python -m tanet_jax.evaluate` (default split: the one papers report). A video
that cannot be read (a missing, truncated or undecodable frame) is reported with the file's name
and skipped, the other videos' maps are still written, and the exit status is then 2; bad
arguments also exit with status 2. Ctrl-C exits with status 130; maps on disk are complete, and
a rerun continues where it stopped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from tanet_jax.cli import exit_on_interrupt, positive_int, prog
from tanet_jax.weights import CheckpointError, read_meta
from tanet_jax.data.benchmarks import BENCHMARKS, DEFAULT_SPLITS, DatasetError, Warnings, read_benchmark
from tanet_jax.inference import AttentionPredictor
from tanet_jax.map_files import predict_video


@exit_on_interrupt("attention-map prediction")
def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog=prog("tanet_jax.predict"), description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, help="the benchmark's folder")
    parser.add_argument("--dataset", default="otb", choices=BENCHMARKS,
                        help="layout of --root (default: otb, any subset of sequences)")
    parser.add_argument("--split", default=None, help="default: the split papers report ("
                        + ", ".join(f"{k} {v}" for k, v in DEFAULT_SPLITS.items() if v != "all") + ")")
    parser.add_argument("--out", required=True, help="output folder (OUT/<video>/{j}_attentionMap.png)")
    parser.add_argument("--checkpoint", required=True,
                        help="generator checkpoint (converted official weights, or a training run's generator/)")
    parser.add_argument("--batch-size", type=positive_int, default=4, help="frames per jitted call (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        read_meta(args.checkpoint)  # cheap checks first: the checkpoint folder, then --root, then the weights
        warnings = Warnings(skip_failed=True)
        videos = list(read_benchmark(args.dataset, Path(args.root), args.split, warnings))
        predictor = AttentionPredictor.from_checkpoint(args.checkpoint)
    except (CheckpointError, DatasetError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    total = sum(max(len(v) - 2, 0) for v in videos)
    failed = [f"{name}: {message}" for name, message in warnings.failed.items()]
    with tqdm(total=total, desc="attention maps", unit="map") as bar:
        for video in videos:
            try:
                written = predict_video(predictor, video, out, args.batch_size, lambda: bar.update(1))
            except (DatasetError, ValueError) as e:  # one bad video never loses the others
                failed.append(f"{video.name}: {e}")
                bar.write(f"error: {video.name}: {e}")
                continue
            bar.set_postfix(video=video.name, new=written)
    print(f"maps for {len(videos) + len(warnings.failed) - len(failed)} of {len(videos) + len(warnings.failed)} "
          f"videos in {out.absolute()}")
    for line in failed:
        print(f"failed: {line}", file=sys.stderr)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
