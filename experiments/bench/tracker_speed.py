"""Tracking speed on 1280x720 frames: the local tracker, joint search with `correlation` attention
(its map checked every k frames, joint.every, and global search when the confidence falls), the
correlation map alone, and OpenCV's CSRT.

Frames: the sequences of --root whose frames are 1280x720 (--size), e.g. the UAV123@10fps ones of
../shared/data/dev, cut to --frames each; without such a sequence, one synthetic 1280x720 video
(tanet_jax.data.synthetic, the held-out seeds export_synthetic_otb.py writes). Every frame is decoded
before timing. Per tracker and sequence, one warm-up run (JIT compilation) is timed and reported
apart; then --runs timed runs, each with a fresh tracker. fps = tracked frames / time in
tracker.track (initialisation reported apart), over all sequences; the median over runs is
reported, with the spread.

CSRT comes from opencv-contrib-python-headless (requirements.txt), in this same process, on the
same frames, in the same run, so the ratio to it compares like with like:

    python experiments/bench/tracker_speed.py --root ../shared/data/dev --out /tmp/speed

Results: OUT/tracker_speed.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from tanet_jax.evaluation.bench import (HELD_OUT, BenchError, command_line, md_table, override_flags, parse_args,
                                        preload, read_roots, run_main, track_frames, tracker_config, write_report)
from tanet_jax.tracking.blackbox import opencv_factory
from tanet_jax.tracking.config import add_config_arguments

TRACKERS = ("local", "joint-correlation", "csrt")


def csrt_maker() -> Callable[[], Any]:
    """OpenCV's CSRT constructor; a BenchError naming the package to install when this OpenCV lacks it."""
    try:
        return opencv_factory("csrt")
    except ValueError as e:
        raise BenchError(f"--trackers csrt: {e}") from None


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise BenchError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 1280x720") from None
    if w < 32 or h < 32:
        raise BenchError(f"--size {text}: frames must be at least 32x32")
    return w, h


def frame_sources(root: str | None, size: tuple[int, int], frames: int) -> tuple[str, list[dict[str, Any]]]:
    """(description, [{name, frames, box}]): the --root sequences of this size, else a synthetic video."""
    w, h = size
    if root is not None:
        videos = [v for vids in read_roots([root], frames).values() for v in vids.values() if v.image_size == (h, w)]
        if videos:
            return (f"{len(videos)} sequences of {root} with {w}x{h} frames (first {frames} frames each)",
                    [{"name": v.name, "frames": preload(v), "box": np.asarray(v.boxes[0], np.float64)}
                     for v in tqdm(videos, desc="reading frames", unit="seq")])
        print(f"no {w}x{h} sequence in {root}: timing a synthetic {w}x{h} video", file=sys.stderr)
    from tanet_jax.data.synthetic import SyntheticSpec, make_video

    v = make_video(SyntheticSpec(num_videos=1, num_frames=frames, height=h, width=w), HELD_OUT)
    return (f"one synthetic {w}x{h} video of {frames} frames (synthetic_tracking seed {HELD_OUT})",
            [{"name": "synthetic", "frames": list(v["frames"]), "box": v["boxes"][0].astype(np.float64)}])


def _ours(kind: str, config: Any) -> tuple[Callable[[], Any], Callable[[Any, Sequence[np.ndarray], np.ndarray], dict]]:
    """(make a fresh tracker, run it over frames) for 'local' or 'joint-correlation'."""
    from tanet_jax.tracking.build import make_tracker
    from tanet_jax.tracking.run import run_sequence

    attention = "none" if kind == "local" else "correlation"

    def run(tracker: Any, frames: Sequence[np.ndarray], box: np.ndarray) -> dict[str, Any]:
        r = run_sequence(tracker, frames, box)
        return {"init": float(r.times[0]), "times": r.times[1:], "global_searches": int(r.global_search.sum())}

    return (lambda: make_tracker(config, attention)), run


def _csrt() -> tuple[Callable[[], Any], Callable[[Any, Sequence[np.ndarray], np.ndarray], dict]]:
    """(make, run) for OpenCV's CSRT, timed as our trackers are (bench.track_frames, opencv_trackers.py's loop)."""

    def run(tracker: Any, frames: Sequence[np.ndarray], box: np.ndarray) -> dict[str, Any]:
        times = track_frames(lambda: tracker, frames, box)[2]
        return {"init": float(times[0]), "times": times[1:], "global_searches": 0}

    return csrt_maker(), run


def time_tracker(make: Callable[[], Any], run: Callable[[Any, Sequence[np.ndarray], np.ndarray], dict],
                 sources: Sequence[Mapping[str, Any]], runs: int, warmup_frames: int, label: str) -> dict[str, Any]:
    """Warm-up (compilation) timed apart, then `runs` timed runs over every source: fps per run."""
    warmup = {}
    for s in sources:
        t0 = time.perf_counter()
        run(make(), s["frames"][: max(2, min(warmup_frames, len(s["frames"])))], s["box"])
        warmup[s["name"]] = time.perf_counter() - t0
    per_run, inits, latencies, searches = [], [], [], []
    for _ in tqdm(range(runs), desc=label, unit="run"):
        total_time, total_frames, n_search = 0.0, 0, 0
        for s in sources:
            r = run(make(), s["frames"], s["box"])
            total_time += float(np.sum(r["times"]))
            total_frames += len(r["times"])
            inits.append(r["init"])
            latencies.extend(r["times"])
            n_search += r["global_searches"]
        per_run.append(total_frames / max(total_time, 1e-9))
        searches.append(n_search)
    lat = np.asarray(latencies) * 1e3
    return {"fps": float(np.median(per_run)), "fps_runs": per_run, "ms_per_frame_median": float(np.median(lat)),
            "ms_per_frame_p90": float(np.percentile(lat, 90)), "init_ms_median": float(np.median(inits) * 1e3),
            "warmup_s": warmup, "global_searches_per_run": int(np.median(searches)),
            "frames_per_run": int(sum(len(s["frames"]) - 1 for s in sources))}


def time_attention_map(config: Any, sources: Sequence[Mapping[str, Any]], maps: int = 20) -> dict[str, Any]:
    """Milliseconds per correlation attention map (one whole-frame search), after one warm-up map."""
    from tanet_jax.tracking.build import make_tracker

    times, per = [], {}
    for s in sources:
        provider = make_tracker(config, "correlation").attention
        frames = s["frames"]
        provider.start(frames[0], s["box"])
        provider(1, frames[1], frames[0])  # compiles for this frame and grid size
        mine = []
        for i in range(1, min(maps + 1, len(frames))):
            t0 = time.perf_counter()
            provider(i, frames[i], frames[i - 1])
            mine.append(time.perf_counter() - t0)
        times += mine
        per[s["name"]] = {"ms_median": float(np.median(mine) * 1e3), "grid_cells": list(getattr(provider, "grid", ())),
                          "target": [float(v) for v in s["box"][2:]]}
    ms = np.asarray(times) * 1e3
    return {"ms_median": float(np.median(ms)), "ms_p90": float(np.percentile(ms, 90)), "maps": len(ms),
            "per_sequence": per}


def speed(out: Path, *, root: str | None = None, size: tuple[int, int] = (1280, 720), frames: int = 150,
          runs: int = 5, every: int | None = None, trackers: Sequence[str] = TRACKERS, config_file: str | None = None,
          overrides: Sequence[tuple[str, str]] = (), command: str = "") -> dict[str, Any]:
    """Time the trackers and write OUT/tracker_speed.{json,md}."""
    if runs < 1 or frames < 2 or (every is not None and every < 1):
        raise BenchError(f"--runs {runs}, --frames {frames}, --every {every}: need runs >= 1, frames >= 2, every >= 1")
    unknown = sorted(set(trackers) - set(TRACKERS))
    if unknown:
        raise BenchError(f"--trackers: unknown {unknown}; choose from {', '.join(TRACKERS)}")
    csrt = _csrt() if "csrt" in trackers else None  # (make, run), first: fails fast without opencv-contrib
    description, sources = frame_sources(root, size, frames)
    results: dict[str, Any] = {}
    ours = [t for t in trackers if t != "csrt"]
    config = tracker_config(config_file, list(overrides)) if ours else None
    joint_config = None
    if "joint-correlation" in ours:
        joint_config = tracker_config(config_file, [*overrides,
                                                    *([("joint.every", str(every))] if every else [])])
        every = int(joint_config.joint.every)
    for kind in ours:
        make, run = _ours(kind, config if kind == "local" else joint_config)
        results[kind] = time_tracker(make, run, sources, runs, max(10, (every or 0) + 2), kind)
    if "joint-correlation" in ours:
        results["joint-correlation"]["every"] = every
        results["correlation-map"] = time_attention_map(joint_config, sources)
    if csrt is not None:
        results["csrt"] = {**time_tracker(*csrt, sources, runs, 10, "csrt"), "opencv": cv2.__version__}
        for kind in ours:
            results[kind]["fps_ratio_to_csrt"] = results[kind]["fps"] / results["csrt"]["fps"]
    report = {"frames_source": description, "sequences": [s["name"] for s in sources],
              "frame_size": list(size), "runs": runs, "config_file": config_file, "overrides": override_flags(overrides),
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.machine(),
                          "python": platform.python_version(), "opencv": cv2.__version__,
                          **({"jax_backend": _jax_backend()} if ours else {})},
              "trackers": results}
    write_report(out, "tracker_speed", report, _markdown(report), command)
    return report


def _jax_backend() -> str:
    import jax

    return f"{jax.default_backend()} ({jax.devices()[0].device_kind})"


def _markdown(r: Mapping[str, Any]) -> str:
    """The report as a markdown table."""
    m = r["machine"]
    lines = ["# Tracker speed\n",
             f"Frames: {r['frames_source']}, decoded before timing. Machine: {m['cpus']} CPUs, {m['platform']}, "
             f"OpenCV {m['opencv']}" + (f", JAX {m['jax_backend']}" if "jax_backend" in m else "") + ".",
             f"fps = tracked frames / time in track(), median of {r['runs']} runs (fresh tracker each); "
             "initialisation and the warm-up run (JIT compilation) are reported apart.\n"]
    rows = []
    for kind, t in r["trackers"].items():
        if kind == "correlation-map":
            continue
        ratio = f"{t['fps_ratio_to_csrt']:.2f}" if "fps_ratio_to_csrt" in t else "-"
        name = f"{kind} (map checked every {t['every']} frames)" if t.get("every") else kind
        rows.append([name, f"{t['fps']:.1f}", f"{min(t['fps_runs']):.1f} - {max(t['fps_runs']):.1f}",
                     f"{t['ms_per_frame_median']:.1f}", f"{t['ms_per_frame_p90']:.1f}", f"{t['init_ms_median']:.1f}",
                     f"{sum(t['warmup_s'].values()):.1f}" if t.get("warmup_s") else "-", t["global_searches_per_run"],
                     ratio])
    lines.append(md_table(["tracker", "fps (median)", "fps range", "ms/frame median", "ms/frame p90", "init ms",
                           "warm-up s (all sequences)", "global searches / run", "fps / CSRT fps"], rows))
    if "correlation-map" in r["trackers"]:
        c = r["trackers"]["correlation-map"]
        lines.append(f"\nCorrelation attention map (whole-frame search) alone: {c['ms_median']:.1f} ms median, "
                     f"{c['ms_p90']:.1f} ms p90 over {c['maps']} maps. Per sequence (the search grid grows as the "
                     "target shrinks):\n")
        lines.append(md_table(["sequence", "target w x h", "grid (cells)", "ms per map (median)"],
                              [[name, "x".join(f"{v:g}" for v in p["target"]), "x".join(map(str, p["grid_cells"])),
                                f"{p['ms_median']:.1f}"] for name, p in c["per_sequence"].items()]))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", help="an OTB-layout folder; its sequences with --size frames are timed "
                   "(default: none, a synthetic video)")
    p.add_argument("--out", required=True, type=Path, help="folder for tracker_speed.{json,md}")
    p.add_argument("--size", default="1280x720", help="frame size WIDTHxHEIGHT (default: 1280x720)")
    p.add_argument("--frames", type=int, default=150, help="frames per sequence (default: 150)")
    p.add_argument("--runs", type=int, default=5, help="timed runs; the median is reported (default: 5)")
    p.add_argument("--every", type=int, default=None,
                   help="joint-correlation computes its map every k frames (joint.every; default: the config's)")
    p.add_argument("--trackers", default=",".join(TRACKERS),
                   help=f"comma-separated, from {', '.join(TRACKERS)} (default: all)")
    add_config_arguments(p)
    return p


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, time, print the table."""
    args, overrides = parse_args(build_parser(), argv)
    report = speed(args.out, root=args.root, size=parse_size(args.size), frames=args.frames, runs=args.runs,
                   every=args.every, trackers=[t.strip() for t in args.trackers.split(",") if t.strip()],
                   config_file=args.config, overrides=overrides, command=command_line(argv, __file__))
    print((args.out / "tracker_speed.md").read_text())
    return report


if __name__ == "__main__":
    run_main(main)
