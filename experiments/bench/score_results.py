"""Score every result folder under --out (OUT/<tracker>[-<digest>]/<seq>.txt, the toolkits'
layout, as written by `python -m tanet_jax.evaluate` and `opencv_trackers.py`) with the
benchmark's own rule (tanet_jax.evaluation.metrics), and print one markdown table. Only the
sequences every listed folder has are scored, so the rows compare the same sequences.

    python experiments/bench/score_results.py --dataset otb --root ../shared/data/sequences --out results/otb
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from tanet_jax.data.benchmarks import BENCHMARKS, Warnings, read_benchmark
from tanet_jax.evaluation.metrics import score_benchmark
from tanet_jax.evaluation.results import read_result_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="otb", choices=BENCHMARKS, help="layout of --root (default: otb)")
    parser.add_argument("--root", required=True, help="the benchmark's folder")
    parser.add_argument("--split", default=None, help="default: the split papers report")
    parser.add_argument("--out", required=True, help="folder holding one sub-folder of results per tracker")
    parser.add_argument("--rule", default=None, help="scoring rule (default: the benchmark's toolkit; lasot/tnl2k "
                        "also 'pytracking')")
    args = parser.parse_args()
    videos = {v.name: v for v in read_benchmark(args.dataset, Path(args.root), args.split, Warnings(skip_failed=True))}
    folders = sorted(p for p in Path(args.out).iterdir() if p.is_dir() and any(p.glob("*.txt")))
    results = {f: read_result_folder(f, list(videos)) for f in folders}
    common = [n for n in videos if all(n in boxes for boxes, _ in results.values())]
    if not common:
        raise SystemExit(f"no sequence of {args.root} has results in every folder of {args.out}")
    print(f"{args.dataset}: {len(common)} sequences ({', '.join(common)})\n")
    print("| tracker | success AUC | precision@20 | norm. precision | AO | fps | " + " | ".join(f"{n} AUC" for n in common) + " |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in common) + " |")
    for folder, (boxes, fps) in results.items():
        s = score_benchmark(args.dataset, {n: boxes[n] for n in common}, videos, args.rule)
        label = json.loads((folder / "tracker.json").read_text()).get("label", folder.name) if (folder / "tracker.json").is_file() else folder.name
        get = lambda k: f"{s[k]:.3f}" if k in s else "-"
        per = " | ".join(f"{s['per_sequence'][n]['success_auc']:.3f}" if "success_auc" in s["per_sequence"][n]
                         else f"{s['per_sequence'][n]['ao']:.3f}" for n in common)
        mean_fps = np.mean([fps[n] for n in common if n in fps]) if fps else float("nan")
        print(f"| {label} ({folder.name}) | {get('success_auc')} | {get('precision')} | {get('norm_precision')} | {get('ao')} "
              f"| {mean_fps:.1f} | {per} |")


if __name__ == "__main__":
    main()
