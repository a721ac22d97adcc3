"""How much the joint tracker depends on its attention's quality: joint tracking with ground-truth
attention corrupted in controlled, seeded steps, beside the local tracker (attention none), clean
ground truth (an upper bound), `correlation` attention, and TANet (with --checkpoint).

Corruptions (each an AttentionProvider wrapping tanet_jax.tracking.attention.GroundTruthAttention):

  shift       the box mask moved by k target sizes in a random direction drawn per frame (the offset
              is k * (w * dx, h * dy) with max(|dx|, |dy|) = 1, so at k = 1 the mask lies just
              beside the target and overlaps it nowhere); k = 0.5, 1, 2
  distractor  an extra box-shaped blob of the target's size and the given amplitude (0.5, 1.0),
              placed once per sequence at a random place at least 1.5 target sizes from the
              target's first position (a look-alike that stays put); the map is max(gt, blob)
  missing     no map (None) with probability p = 0.25, 0.5, 0.75 per call
  noise       the map mixed with uniform noise (drawn per coarse cell of --noise-cell pixels):
              (1 - a) * gt + a * noise for a = 0.25, 0.5, and pure noise at a = 1

Level 0 of every kind is clean ground truth. Randomness is drawn per (seed, sequence, kind,
frame), so a run is reproducible and a frame's corruption does not depend on when global search
fired. Success AUC by got10k's OTB rule. Runs are cached under OUT/runs/, keyed by the config and
the tracker code (tanet_jax/tracking/*.py): reruns resume, results of older code are never reused.
Results: OUT/attention_corruption.{json,md} and OUT/attention_corruption.png (mean AUC against
corruption level per kind, with local, clean ground truth, correlation and TANet as lines).

    python experiments/bench/attention_corruption.py --root ../shared/data/dev --root /tmp/synthetic_otb --out /tmp/corruption
"""

from __future__ import annotations

import argparse
import os
import zlib
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from tqdm import tqdm

from tanet_jax.geometry import box_mask
from tanet_jax.evaluation.bench import (BenchError, add_data_flags, all_videos, cache_folder, check_tracker,
                                        command_line, md_table, memo, override_flags, parse_args, preload, read_roots,
                                        run_main, success_aucs, track_cached, tracker_config, write_report)

LEVELS: dict[str, tuple[float, ...]] = {"shift": (0.5, 1.0, 2.0), "distractor": (0.5, 1.0),
                                        "missing": (0.25, 0.5, 0.75), "noise": (0.25, 0.5, 1.0)}
UNITS = {"shift": "target sizes", "distractor": "blob amplitude", "missing": "probability of no map",
         "noise": "noise weight (1 = pure noise)"}
KIND_CODE = {"shift": 1, "distractor": 2, "missing": 3, "noise": 4}


class CorruptedAttention:
    """Ground-truth attention corrupted in one controlled, seeded way (see the module docstring)."""

    outlines = True  # it claims to outline the target, as the clean maps (and TANet's) do: the joint
    # tracker takes box sizes from it when trusted, so corruption is measured on that use too

    def __init__(self, clean: Any, kind: str, level: float, seed: int = 0, sequence: str = "",
                 noise_cell: int = 16) -> None:
        if kind not in LEVELS:
            raise BenchError(f"unknown corruption {kind!r}; choose one of {', '.join(LEVELS)}")
        if level < 0 or (kind != "shift" and level > 1):
            raise BenchError(f"{kind} level {level}: must be in [0, 1]" if kind != "shift" else
                             f"shift level {level}: must be >= 0")
        if noise_cell < 1:
            raise BenchError(f"--noise-cell {noise_cell}: must be >= 1")
        self.clean, self.kind, self.level, self.seed = clean, kind, float(level), int(seed)
        self.sequence_code = zlib.crc32(sequence.encode())
        self.noise_cell = noise_cell
        self.name = f"groundtruth, {kind} {level:g}"
        self.distractor: np.ndarray | None = None  # its centre (x, y)
        self.first_size = np.ones(2)

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.sequence_code, KIND_CODE[self.kind], index])

    def _box(self, index: int) -> np.ndarray | None:
        """The ground-truth box of frame `index`, None where absent or not annotated."""
        boxes, absent = self.clean.boxes, self.clean.absent
        if index >= len(boxes) or absent[index] or np.isnan(boxes[index]).any():
            return None
        return boxes[index]

    def start(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Start the clean provider; place the distractor once per sequence."""
        self.clean.start(frame, box)
        h, w = frame.shape[:2]
        self.first_size = np.maximum(np.asarray(box[2:], np.float64), 1.0)
        if self.kind != "distractor":
            return
        rng = np.random.default_rng([self.seed, self.sequence_code, KIND_CODE["distractor"], 2**31])
        target = np.array([box[0] + box[2] / 2, box[1] + box[3] / 2])
        far = 1.5 * float(np.hypot(*self.first_size))
        for _ in range(100):
            centre = rng.uniform([0, 0], [w, h])
            if np.linalg.norm(centre - target) >= far:
                break
        self.distractor = centre  # the last draw when no place is far enough (a small frame)

    def __call__(self, index: int, frame: np.ndarray, previous: np.ndarray) -> np.ndarray | None:
        rng = self._rng(index)
        h, w = frame.shape[:2]
        if self.kind == "missing":
            return None if rng.random() < self.level else self.clean(index, frame, previous)
        clean = np.asarray(self.clean(index, frame, previous), np.float32)
        box = self._box(index)
        if self.kind == "shift":
            if box is None or self.level == 0:
                return clean
            angle = rng.uniform(0, 2 * np.pi)
            d = np.array([np.cos(angle), np.sin(angle)])
            d /= np.abs(d).max()  # on the unit square: at k = 1 the mask lies just beside the target
            moved = np.array([box[0] + self.level * box[2] * d[0], box[1] + self.level * box[3] * d[1], box[2], box[3]])
            return box_mask(moved, h, w).astype(np.float32)
        if self.kind == "distractor":
            size = self.first_size if box is None else np.asarray(box[2:], np.float64)
            blob = np.array([*(self.distractor - size / 2), *size])
            return np.maximum(clean, self.level * box_mask(blob, h, w).astype(np.float32))
        c = self.noise_cell
        noise = rng.random((-(-h // c), -(-w // c))).astype(np.float32)
        noise = np.repeat(np.repeat(noise, c, 0), c, 1)[:h, :w]
        return ((1 - self.level) * clean + self.level * noise).astype(np.float32)


def parse_levels(text: str | None, kind: str) -> tuple[float, ...]:
    """'0.5,1,2' -> (0.5, 1.0, 2.0); None -> the default levels of `kind`."""
    if text is None:
        return LEVELS[kind]
    try:
        levels = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise BenchError(f"--{kind} {text!r}: expected comma-separated numbers") from None
    for level in levels:
        if level < 0 or (kind != "shift" and level > 1):
            raise BenchError(f"--{kind} {level:g}: must be in [0, 1]" if kind != "shift" else f"--shift {level:g}: must be >= 0")
    return levels


def variants(levels: Mapping[str, Sequence[float]], with_tanet: bool) -> list[dict[str, Any]]:
    """Every tracker run: local, clean ground truth, correlation, TANet, then each corruption."""
    out = [{"id": "local", "attention": "none"}, {"id": "groundtruth", "attention": "groundtruth"},
           {"id": "correlation", "attention": "correlation"}]
    if with_tanet:
        out.append({"id": "tanet", "attention": "tanet"})
    for kind, values in levels.items():
        for level in values:
            if level > 0:
                out.append({"id": f"{kind}-{level:g}", "attention": "groundtruth", "kind": kind, "level": float(level)})
    return out


def corruption(roots: Sequence[str], out: Path, *, levels: Mapping[str, Sequence[float]] | None = None,
               config_file: str | None = None, overrides: Sequence[tuple[str, str]] = (), checkpoint: str | None = None,
               seed: int = 0, noise_cell: int = 16, max_frames: int | None = None,
               sequences: Sequence[str] | None = None, command: str = "") -> dict[str, Any]:
    """Track with every variant (cached), score, and write the report and the plot."""
    from tanet_jax.evaluation.experiment import load_predictor  # JAX imports only when tracking
    from tanet_jax.evaluation.tracker_spec import TrackerSpec
    from tanet_jax.tracking.build import make_tracker

    levels = {k: v for k, v in (LEVELS if levels is None else levels).items() if any(lv > 0 for lv in v)}
    if not levels:
        raise BenchError("every corruption kind is skipped: give at least one level above 0")
    config = tracker_config(config_file, list(overrides))
    check_tracker(config, "tracker config")
    by_root = read_roots(roots, max_frames, sequences)
    videos = all_videos(by_root)
    runs = variants(levels, checkpoint is not None)
    specs, folders = {}, {}
    for v in runs:
        try:
            spec = TrackerSpec.create(config, v["attention"], checkpoint)
        except ValueError as e:
            raise BenchError(str(e)) from None
        corrupt = {k: v[k] for k in ("kind", "level") if k in v}
        if corrupt:
            corrupt.update(seed=seed, noise_cell=noise_cell)
        specs[v["id"]] = spec
        folders[v["id"]] = cache_folder(out, f"corruption-{v['id']}",
                                        {**spec.record(), "corruption": corrupt, "max_frames": max_frames}, __file__)
    predictor = load_predictor(specs["tanet"], ["joint"]) if "tanet" in specs else None

    def make(v: Mapping[str, Any], key: str, video: Any) -> Any:
        tracker = make_tracker(specs[v["id"]].config, v["attention"], boxes=video.boxes, absent=video.absent,
                               predictor=predictor if v["attention"] == "tanet" else None)
        if "kind" in v:
            tracker.attention = CorruptedAttention(tracker.attention, v["kind"], v["level"], seed, key, noise_cell)
        return tracker

    boxes: dict[str, dict[str, np.ndarray]] = {v["id"]: {} for v in runs}
    searches: dict[str, list[int]] = {v["id"]: [] for v in runs}
    bar = tqdm(total=len(videos) * len(runs), desc="corruption", unit="run")
    for key, video in videos.items():
        frames = memo(lambda video=video: preload(video))
        for v in runs:
            bar.set_postfix_str(f"{key} {v['id']}")
            result = track_cached(folders[v["id"]], video, frames, lambda v=v, key=key, video=video: make(v, key, video))
            boxes[v["id"]][key] = np.asarray(result["boxes"])
            searches[v["id"]].append(int(np.sum(result["global_search"])))
            bar.update()
    bar.close()

    table = {vid: success_aucs(b, videos) for vid, b in boxes.items()}
    mean = {vid: float(np.mean(list(a.values()))) for vid, a in table.items()}
    per_root = {vid: {r: float(np.mean([table[vid][k] for k in by_root[r]])) for r in by_root} for vid in table}
    curves = {kind: [{"level": 0.0, "run": "groundtruth", "mean_auc": mean["groundtruth"]}]
              + [{"level": float(lv), "run": f"{kind}-{lv:g}", "mean_auc": mean[f"{kind}-{lv:g}"]}
                 for lv in vals if lv > 0] for kind, vals in levels.items()}
    report = {
        "roots": {label: str(r) for label, r in zip(by_root, roots)},
        "sequences": {r: list(v) for r, v in by_root.items()}, "frames": {k: len(v) for k, v in videos.items()},
        "max_frames": max_frames, "config_file": config_file, "overrides": override_flags(overrides), "seed": seed,
        "noise_cell": noise_cell, "checkpoint": checkpoint,
        "rule": "otb (got10k ExperimentOTB: success AUC, every frame counts)",
        "runs": {v["id"]: {**v, "mean_auc": mean[v["id"]], "per_root": per_root[v["id"]],
                           "per_sequence": table[v["id"]], "global_searches": int(np.sum(searches[v["id"]]))}
                 for v in runs},
        "curves": curves,
    }
    plot_path = Path(out) / "attention_corruption.png"
    plot(plot_path, report)
    report["plot"] = str(plot_path)
    write_report(out, "attention_corruption", report, _markdown(report, by_root), command)
    return report


def plot(path: Path, report: Mapping[str, Any]) -> None:
    """Mean AUC against corruption level, one panel per kind, reference runs as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs, curves = report["runs"], report["curves"]
    refs = [("local", "local (attention none)", "0.4", "--"), ("groundtruth", "clean ground truth (upper bound)", "g", "-"),
            ("correlation", "correlation attention", "b", ":"), ("tanet", "TANet", "r", "-.")]
    fig, axes = plt.subplots(1, len(curves), figsize=(3.6 * len(curves), 3.6), sharey=True, squeeze=False)
    for ax, (kind, points) in zip(axes[0], curves.items()):
        for rid, label, colour, style in refs:
            if rid in runs:
                ax.axhline(runs[rid]["mean_auc"], color=colour, linestyle=style, linewidth=1.2, label=label)
        ax.plot([p["level"] for p in points], [p["mean_auc"] for p in points], "o-", color="k",
                label="joint, corrupted ground truth")
        ax.set_title(kind)
        ax.set_xlabel(UNITS[kind])
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean success AUC")
    handles, labels = axes[0][0].get_legend_handles_labels()
    n = sum(len(v) for v in report["sequences"].values())
    fig.suptitle(f"Joint tracking with corrupted ground-truth attention ({n} sequences: "
                 f"{', '.join(report['sequences'])}; seed {report['seed']})", fontsize=9)
    fig.legend(handles, labels, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    os.replace(tmp, path)


def _markdown(r: Mapping[str, Any], by_root: Mapping[str, Any]) -> str:
    """The report as markdown tables."""
    roots = list(by_root)
    data = ", ".join(f"{label} ({len(v)} sequences, {sum(r['frames'][k] for k in v)} frames, from {r['roots'][label]})"
                     for label, v in by_root.items())
    lines = ["# Joint tracking with corrupted ground-truth attention\n",
             f"Data: {data}" + (f"; each cut to {r['max_frames']} frames" if r["max_frames"] else "") + ".",
             f"Scores: success AUC, {r['rule']}. Seed {r['seed']}; noise cells {r['noise_cell']} px. Tracker config: "
             f"{r['config_file'] or 'build.default_config()'}" + (f" with {' '.join(r['overrides'])}" if r["overrides"] else "")
             + ". Ground truth reads the annotations: an upper bound, not a tracker.\n",
             f"Plot: `{Path(r['plot']).name}`.\n", "## Mean AUC per run\n"]
    rows = [[vid, run.get("kind", "-"), f"{run['level']:g}" if "level" in run else "-", run["mean_auc"],
             *[run["per_root"][x] for x in roots], run["global_searches"]] for vid, run in r["runs"].items()]
    lines.append(md_table(["run", "corruption", "level", "mean AUC", *[f"{x} mean" for x in roots], "global searches"],
                          rows))
    lines.append("## Mean AUC against corruption level (level 0 = clean ground truth)\n")
    for kind, points in r["curves"].items():
        lines.append(md_table([f"{kind}: {UNITS[kind]}", "mean AUC", "vs local"],
                              [[f"{p['level']:g}", p["mean_auc"], f"{p['mean_auc'] - r['runs']['local']['mean_auc']:+.3f}"]
                               for p in points]))
    refs = [x for x in ("local", "groundtruth", "correlation", "tanet") if x in r["runs"]]
    lines.append("## Per sequence\n")
    lines.append(md_table(["sequence", *refs], [[k, *[r["runs"][x]["per_sequence"][k] for x in refs]]
                                                for k in r["frames"]]))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, type=Path, help="folder for the report, the plot and the run cache")
    p.add_argument("--checkpoint", help="TANet checkpoint: also run joint with --attention tanet")
    add_data_flags(p)
    for kind in LEVELS:
        p.add_argument(f"--{kind}", metavar="L1,L2", help=f"{kind} levels ({UNITS[kind]}; default: "
                       f"{','.join(f'{v:g}' for v in LEVELS[kind])}; 'none' to skip)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default: 0)")
    p.add_argument("--noise-cell", type=int, default=16, help="noise map cell size in pixels (default: 16)")
    return p


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, run every variant, print where the report and plot are."""
    args, overrides = parse_args(build_parser(), argv)
    levels = {k: parse_levels(getattr(args, k), k) for k in LEVELS if getattr(args, k) != "none"}
    report = corruption(args.root, args.out, levels=levels, config_file=args.config, overrides=overrides,
                        checkpoint=args.checkpoint, seed=args.seed, noise_cell=args.noise_cell,
                        max_frames=args.max_frames, sequences=args.sequences, command=command_line(argv, __file__))
    for vid, run in report["runs"].items():
        print(f"{vid:16s} mean AUC {run['mean_auc']:.3f}")
    print(f"report: {args.out / 'attention_corruption.md'}; plot: {report['plot']}")
    return report


if __name__ == "__main__":
    run_main(main)
