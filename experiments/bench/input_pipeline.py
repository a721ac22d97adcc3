"""Input pipeline throughput: training windows/s from a built dataset at 300x300, beside reading
the raw JPEG folders directly (cv2.imread + cv2.resize of the same frames) for contrast.

    python experiments/bench/input_pipeline.py --data-dir DATA [--source RAW_OTB] [--batch 8]

Without --source it builds the OTB-layout sequences from ../shared/data/sequences (r300) into
DATA first. A 'sample' is one training window: frames t-1..t+2, their masks and the target patch.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2

from tanet_jax.data import benchmarks
from tanet_jax.data.builders import build
from tanet_jax.data.pipeline import WINDOW, TrainingWindows, iterate_batches, make_loader, open_split


def raw_rate(source: Path, size: int, seconds: float) -> float:
    """Windows/s decoding the raw JPEG folders directly (4 frames + first frame per window)."""
    videos = list(benchmarks.read_otb(source))
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for video in videos:
            for t in range(1, len(video) - WINDOW + 2, 7):
                for k in range(WINDOW):
                    cv2.resize(cv2.imread(str(video.frames[t - 1 + k])), (size, size))
                cv2.resize(cv2.imread(str(video.frames[0])), (size, size))
                count += 1
                if time.perf_counter() - t0 > seconds:
                    return count / (time.perf_counter() - t0)
    return count / (time.perf_counter() - t0)


def pipeline_rate(data_dir: str, size: int, batch: int, threads: int, workers: int, seconds: float) -> float:
    """Windows/s through the Grain loader (batches with a device axis)."""
    records, table = open_split("otb", data_dir, "test", "r300")
    windows = TrainingWindows(records, table, size, batch, seed=0, num_epochs=1000)
    iterator = iterate_batches(make_loader(windows, 1, worker_count=workers, threads=threads))
    next(iterator)  # warm-up
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        next(iterator)
        count += batch
    rate = count / (time.perf_counter() - t0)
    del iterator
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_source = Path(__file__).resolve().parents[3] / "shared" / "data" / "sequences"
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--source", default=str(default_source))
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    build("otb", args.data_dir, args.source, "r300")
    print(f"{os.cpu_count()} CPUs, windows of {WINDOW} frames + target at {args.size}x{args.size}, batch {args.batch}")
    print(f"raw JPEG folders (cv2.imread+resize, 1 thread): {raw_rate(Path(args.source), args.size, args.seconds):7.1f} windows/s")
    for threads, workers in ((1, 0), (2, 0), (4, 0), (1, 2)):
        rate = pipeline_rate(args.data_dir, args.size, args.batch, threads, workers, args.seconds)
        print(f"built dataset, grain threads={threads} workers={workers}:        {rate:7.1f} windows/s")


if __name__ == "__main__":
    main()
