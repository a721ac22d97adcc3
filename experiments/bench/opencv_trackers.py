"""OpenCV's CSRT and KCF (opencv-contrib) on OTB-layout sequences, written in the same result
layout as `python -m tanet_jax.evaluate` (OUT/<tracker>/<seq>.txt and <seq>_meta.json with fps),
then scored by `experiments/bench/score_results.py`.

Needs only numpy and opencv-contrib-python(-headless), which cannot share an environment with
opencv-python: run it in its own virtual environment.

    python -m venv /tmp/cvenv && /tmp/cvenv/bin/pip install numpy opencv-contrib-python-headless
    /tmp/cvenv/bin/python experiments/bench/opencv_trackers.py --root ../shared/data/sequences --out results/otb
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

MAKERS = {"opencv-csrt": "TrackerCSRT_create", "opencv-kcf": "TrackerKCF_create"}


def load_boxes(path: Path) -> np.ndarray:
    return np.loadtxt(path.read_text().replace(",", " ").splitlines(), ndmin=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    root, out = Path(args.root), Path(args.out)
    for seq in sorted(p for p in root.iterdir() if (p / "groundtruth_rect.txt").is_file()):
        frames = sorted((seq / "img").glob("*.jpg"))
        anno = load_boxes(seq / "groundtruth_rect.txt")
        for name, maker in MAKERS.items():
            make = getattr(cv2, maker, None) or getattr(cv2.legacy, maker)
            tracker = make()
            images = [cv2.imread(str(f)) for f in frames]
            boxes = np.zeros((len(images), 4))
            boxes[0] = anno[0]
            tracker.init(images[0], tuple(int(round(v)) for v in anno[0]))
            t0 = time.perf_counter()
            for i in range(1, len(images)):
                ok, box = tracker.update(images[i])
                boxes[i] = box if ok else boxes[i - 1]
            fps = (len(images) - 1) / (time.perf_counter() - t0)
            folder = out / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{seq.name}.txt").write_text("\n".join(",".join(f"{v:.3f}" for v in b) for b in boxes) + "\n")
            (folder / f"{seq.name}_meta.json").write_text(json.dumps({"fps": fps}))
            print(f"{name:12s} {seq.name:12s} {fps:7.1f} fps")


if __name__ == "__main__":
    main()
