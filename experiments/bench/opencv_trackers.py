"""OpenCV's CSRT and KCF (opencv-contrib) on any benchmark `python -m tanet_jax.evaluate` reads,
written through tanet_jax.evaluation.results in the same layout (OUT/<tracker>-<digest>/<seq>.txt,
<seq>_meta.json with fps, tracker.json naming the OpenCV version), then scored by
`experiments/bench/score_results.py` with the benchmark's own rule.

Needs numpy, opencv-contrib-python(-headless) (which cannot share an environment with
opencv-python) and this package without its dependencies (the readers and result files need only
numpy and OpenCV): run it in its own virtual environment.

    python -m venv /tmp/cvenv && /tmp/cvenv/bin/pip install numpy opencv-contrib-python-headless
    /tmp/cvenv/bin/pip install --no-deps -e .
    /tmp/cvenv/bin/python experiments/bench/opencv_trackers.py --dataset otb --root ../shared/data/sequences --out results/otb
    python experiments/bench/score_results.py --dataset otb --root ../shared/data/sequences --out results/otb

A tracker that reports failure keeps its previous box for that frame. Sequences already tracked
are reused (--force tracks again).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import cv2
import numpy as np

from tanet_jax.data.benchmarks import BENCHMARKS, Warnings, read_benchmark
from tanet_jax.evaluation.results import TrackerFolder

MAKERS = {"opencv-csrt": "TrackerCSRT_create", "opencv-kcf": "TrackerKCF_create"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="otb", choices=BENCHMARKS, help="layout of --root (default: otb)")
    parser.add_argument("--root", required=True, help="the benchmark's folder")
    parser.add_argument("--split", default=None, help="default: the split papers report")
    parser.add_argument("--out", required=True, help="results folder (shared with python -m tanet_jax.evaluate)")
    parser.add_argument("--force", action="store_true", help="track again where results exist")
    args = parser.parse_args()
    warnings = Warnings(skip_failed=True)
    videos = list(read_benchmark(args.dataset, Path(args.root), args.split, warnings))
    for name, message in warnings.failed.items():
        print(f"skipped {name}: {message}")
    for label, maker in MAKERS.items():
        record = {"tracker": label, "opencv": cv2.__version__, "on_failure": "keep the previous box"}
        digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:12]
        folder = TrackerFolder(Path(args.out), label, record, digest)
        make = getattr(cv2, maker, None) or getattr(cv2.legacy, maker)
        for video in videos:
            if folder.has(video.name) and not args.force:
                continue
            images = [cv2.imread(str(f)) for f in video.frames]
            boxes = np.zeros((len(images), 4))
            boxes[0] = video.boxes[0]
            times = np.zeros(len(images))
            tracker = make()
            t0 = time.perf_counter()
            tracker.init(images[0], tuple(int(round(v)) for v in video.boxes[0]))
            times[0] = time.perf_counter() - t0
            for i in range(1, len(images)):
                t0 = time.perf_counter()
                ok, box = tracker.update(images[i])
                times[i] = time.perf_counter() - t0
                boxes[i] = box if ok else boxes[i - 1]
            fps = (len(images) - 1) / max(times[1:].sum(), 1e-9)
            folder.save(video.name, boxes, np.ones(len(boxes)), np.zeros(len(boxes), bool), fps, times)
            print(f"{label:12s} {video.name:16s} {fps:7.1f} fps")


if __name__ == "__main__":
    main()
