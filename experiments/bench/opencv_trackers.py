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

--starts N also tracks each sequence from N-1 jittered first boxes (tanet_jax.geometry.jitter_box,
the same starts as `tracker_sweep.py --starts N`), saved as <seq>~start<j> under OUT/starts/, and
prints each tracker's success AUC per sequence averaged over the N starts.
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
from tanet_jax.evaluation import metrics
from tanet_jax.evaluation.results import TrackerFolder
from tanet_jax.geometry import jitter_box

START_MARK = "~start"  # as in tracker_sweep.py

MAKERS = {"opencv-csrt": "TrackerCSRT_create", "opencv-kcf": "TrackerKCF_create"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="otb", choices=BENCHMARKS, help="layout of --root (default: otb)")
    parser.add_argument("--root", required=True, help="the benchmark's folder")
    parser.add_argument("--split", default=None, help="default: the split papers report")
    parser.add_argument("--out", required=True, help="results folder (shared with python -m tanet_jax.evaluate)")
    parser.add_argument("--force", action="store_true", help="track again where results exist")
    parser.add_argument("--starts", type=int, default=1, help="also track from jittered first boxes (default 1: none)")
    parser.add_argument("--jitter", type=float, default=0.04, help="largest jitter, a fraction of the box size")
    args = parser.parse_args()
    if args.starts < 1:
        parser.error(f"--starts {args.starts}: give at least 1")
    warnings = Warnings(skip_failed=True)
    videos = list(read_benchmark(args.dataset, Path(args.root), args.split, warnings))
    for name, message in warnings.failed.items():
        print(f"skipped {name}: {message}")
    for label, maker in MAKERS.items():
        record = {"tracker": label, "opencv": cv2.__version__, "on_failure": "keep the previous box"}
        folder = _folder(args.out, label, record)
        jittered = (_folder(str(Path(args.out) / "starts"), label, {**record, "jitter": args.jitter})
                    if args.starts > 1 else None)  # apart: score_results.py scores OUT's folders
        make = getattr(cv2, maker, None) or getattr(cv2.legacy, maker)
        aucs: dict[str, list[float]] = {}
        for video in videos:
            for j in range(args.starts):
                where, name = (folder, video.name) if j == 0 else (jittered, f"{video.name}{START_MARK}{j}")
                if not where.has(name) or args.force:
                    _track(make, video, jitter_box(video.boxes[0], j, args.jitter), where, name, label)
                boxes = where.load(name)["boxes"]
                score = metrics.score_benchmark(args.dataset, {video.name: np.asarray(boxes)}, {video.name: video})
                aucs.setdefault(video.name, []).append(score["per_sequence"][video.name].get("success_auc", np.nan))
        if args.starts > 1:
            means = {k: float(np.mean(v)) for k, v in aucs.items()}
            print(f"{label}: success AUC averaged over {args.starts} starts: mean {np.mean(list(means.values())):.3f}; "
                  + ", ".join(f"{k} {v:.3f}" for k, v in means.items()))


def _folder(out: str, label: str, record: dict) -> TrackerFolder:
    """OUT/<label>-<digest of record>/."""
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:12]
    return TrackerFolder(Path(out), label, record, digest)


def _track(make, video, init: np.ndarray, folder: TrackerFolder, name: str, label: str) -> None:
    """One OpenCV tracker over one sequence from `init`, saved as `name`."""
    images = [cv2.imread(str(f)) for f in video.frames]
    boxes = np.zeros((len(images), 4))
    boxes[0] = init
    times = np.zeros(len(images))
    tracker = make()
    t0 = time.perf_counter()
    tracker.init(images[0], tuple(int(round(v)) for v in init))
    times[0] = time.perf_counter() - t0
    for i in range(1, len(images)):
        t0 = time.perf_counter()
        ok, box = tracker.update(images[i])
        times[i] = time.perf_counter() - t0
        boxes[i] = box if ok else boxes[i - 1]
    fps = (len(images) - 1) / max(times[1:].sum(), 1e-9)
    folder.save(name, boxes, np.ones(len(boxes)), np.zeros(len(boxes), bool), fps, times)
    print(f"{label:12s} {name:16s} {fps:7.1f} fps")


if __name__ == "__main__":
    main()
