"""Score result folders (OUT/<tracker>/<seq>.txt, toolkit layout) against OTB-layout ground truth
with tanet_jax's toolkit-equal metrics, and print one table (markdown).

    python experiments/bench/score_results.py --root ../shared/data/sequences --out results/otb
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from tanet_jax.data.benchmarks import read_otb
from tanet_jax.evaluation.metrics import sequence_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    videos = {v.name: v for v in read_otb(Path(args.root))}
    out = Path(args.out)
    print("| tracker | success AUC | precision@20 | norm. precision | fps | " + " | ".join(f"{n} AUC" for n in videos) + " |")
    print("| --- | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in videos) + " |")
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and any(p.glob("*.txt"))):
        scores, fps = {}, []
        for name, video in videos.items():
            record = folder / f"{name}.txt"
            if not record.is_file():
                continue
            boxes = np.loadtxt(record, delimiter=",", ndmin=2)
            scores[name] = sequence_metrics(boxes, video.boxes, valid=~video.absent)
            fps.append(json.loads((folder / f"{name}_meta.json").read_text())["fps"])
        if not scores:
            continue
        mean = lambda k: np.mean([s[k] for s in scores.values()])
        per = " | ".join(f"{scores[n]['success_auc']:.3f}" if n in scores else "-" for n in videos)
        print(f"| {folder.name} | {mean('success_auc'):.3f} | {mean('precision'):.3f} | {mean('norm_precision'):.3f} "
              f"| {np.mean(fps):.1f} | {per} |")


if __name__ == "__main__":
    main()
