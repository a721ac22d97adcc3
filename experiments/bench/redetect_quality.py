"""How good is the correlation attention as a re-detector, apart from the tracker that uses it?

The whole-frame detector (tanet_jax/tracking/redetect.py, settings from the tracker config's
`redetect` section) starts on each sequence's first ground-truth box and learns, at its own
schedule, from the ground-truth box of every later frame where the target is present (as if
tracking were perfect). Every `--every` frames its map is scored against the ground truth:
- peak in box: the centre of the map's strongest cell falls inside the target's box (where global
  search looks first: `attention.map_peak`);
- target at half peak: the map at the box centre is at least half its peak (what the joint
  tracker's check counts as agreement, besides specificity: `joint.half_peak`);
- area at half peak: the map's area at half its peak, in box areas (the check's `agree_spread`);
- ms per map: the time of one map (resize, features, FFT correlation), median.
Per sequence and the mean over sequences. Results: OUT/redetect_quality.{json,md}.

    python experiments/bench/redetect_quality.py --root ../shared/data/dev --out /tmp/redetect
    python experiments/bench/redetect_quality.py --root ../shared/data/dev --config.redetect.max_cells=12288 --out /tmp/r0
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from tqdm import tqdm

from tanet_jax.evaluation.bench import (BenchError, add_data_flags, all_videos, command_line, md_table,
                                        override_flags, parse_args, preload, read_roots, run_main, tracker_config,
                                        write_report)


def score_map(attention: np.ndarray, box: np.ndarray, frame_size: tuple[int, int]) -> dict[str, float]:
    """Peak in box, target at half peak, and area at half peak (box areas) of one map, measured as the
    joint tracker does: where global search looks first, and what a check tests."""
    from tanet_jax.tracking.attention import map_peak  # imports JAX (via the package)
    from tanet_jax.tracking.joint import half_peak

    m = np.asarray(attention, np.float32)
    if float(m.max()) <= 0:
        return {"peak_in_box": 0.0, "target_at_half_peak": 0.0, "area_at_half_peak": float("nan")}
    x, y, bw, bh = box
    px, py = map_peak(m, frame_size)
    at, area = half_peak(m, box, frame_size)
    return {"peak_in_box": float(x <= px <= x + bw and y <= py <= y + bh), "target_at_half_peak": float(at),
            "area_at_half_peak": area}


def sequence_quality(video: Any, params: Any, every: int, color: bool, orientations: int) -> dict[str, float]:
    """The detector's scores on one sequence, learning from the ground truth as it goes."""
    from tanet_jax.tracking.redetect import CorrelationAttention  # imports JAX

    frames = preload(video)
    detector = CorrelationAttention(params, orientations=orientations, color=color)
    detector.start(frames[0], video.boxes[0])
    h, w = frames[0].shape[:2]
    scores, times = [], []
    for i in range(1, len(frames)):
        box = video.boxes[i]
        if video.absent[i] or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
            continue
        if i % every == 0:
            t0 = time.perf_counter()
            m = detector(i, frames[i], frames[i - 1])
            times.append(time.perf_counter() - t0)
            scores.append(score_map(m, box, (w, h)))
        detector.learn(frames[i], box)
    if not scores:
        return {"maps": 0}
    out = {k: float(np.nanmedian([s[k] for s in scores])) if k == "area_at_half_peak"
           else float(np.mean([s[k] for s in scores])) for k in scores[0]}
    return {**out, "maps": len(scores), "ms_per_map": 1e3 * float(np.median(times)), "grid": list(detector.grid)}


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, type=Path, help="folder for redetect_quality.{json,md}")
    add_data_flags(p)
    p.add_argument("--every", type=int, default=5, help="score one frame in this many (default: 5)")
    return p


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Score the detector on every sequence, write the report, print the means."""
    from tanet_jax.tracking.build import local_params, redetect_params

    args, overrides = parse_args(build_parser(), argv)
    if args.every < 1:
        raise BenchError(f"--every {args.every}: must be at least 1")
    config = tracker_config(args.config, overrides)
    params, local = redetect_params(config), local_params(config)
    videos = all_videos(read_roots(args.root, args.max_frames, args.sequences))
    per = {name: sequence_quality(v, params, args.every, local.color, local.orientations)
           for name, v in tqdm(videos.items(), desc="sequences", unit="seq")}
    scored = [r for r in per.values() if r["maps"]]
    keys = ("peak_in_box", "target_at_half_peak", "area_at_half_peak", "ms_per_map")
    mean = {k: float(np.mean([r[k] for r in scored])) for k in keys}
    rows = [[n, r["maps"], *(r.get(k, float("nan")) for k in keys)] for n, r in per.items()]
    rows.append(["mean over sequences", sum(r["maps"] for r in scored), *(mean[k] for k in keys)])
    markdown = (f"Detector: {params}\n\n"
                + md_table(["sequence", "maps", "peak in box", "target at half peak", "area at half peak (box areas, median)",
                            "ms per map (median)"], rows))
    write_report(args.out, "redetect_quality", {"params": dataclasses.asdict(params), "per_sequence": per,
                                                "mean": mean}, markdown, command_line(argv, __file__))
    print(f"peak in box {mean['peak_in_box']:.3f}, target at half peak {mean['target_at_half_peak']:.3f}, "
          f"area at half peak {mean['area_at_half_peak']:.1f} box areas, {mean['ms_per_map']:.1f} ms per map")
    print(f"report: {args.out / 'redetect_quality.md'}")
    return {"per_sequence": per, "mean": mean}


if __name__ == "__main__":
    run_main(main)
