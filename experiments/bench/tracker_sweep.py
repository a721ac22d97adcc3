"""Sweep tracker settings over OTB-layout roots and report what a user should expect on NEW video.

Every combination of the --grid values (plus the default config) tracks every sequence of every
--root (local tracker by default; --attention for joint search); success AUC by got10k's OTB
rule (tanet_jax.evaluation.metrics). The report gives:

  (a) the mean AUC per setting: the best of these is CHOSEN ON THESE SEQUENCES (optimistic);
  (b) leave-one-sequence-out cross-validation: for each held-out sequence, the setting with the
      best mean AUC on the others and its AUC on the held-out one; the mean of those is the
      cross-validated figure (choose on some sequences, report on the others);
  (c) the default config's (and the chosen setting's) AUC per sequence;
  (d) sensitivity: the mean AUC when each parameter moves one grid step from the chosen setting.

Each (setting, sequence) run is cached under OUT/runs/, keyed by the config and the tracker code
(the tanet_jax package's source): a rerun (or a wider grid) resumes; results of older code are not reused.
Results: OUT/tracker_sweep.json and OUT/tracker_sweep.md (with this command).

    python experiments/bench/export_synthetic_otb.py --preset small --videos 12 --out /tmp/synthetic_otb
    python experiments/bench/tracker_sweep.py --root ../shared/data/dev --root /tmp/synthetic_otb \\
        --grid 'local.learning_rate=0.01,0.015,0.025' --grid 'local.padding=1.5,2.0,2.5' --out /tmp/sweep
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from tqdm import tqdm

from tanet_jax.evaluation.bench import (BenchError, all_videos, cache_folder, check_tracker, command_line, md_table,
                                        memo, override_flags, parse_args, parse_assignment, preload, read_roots,
                                        run_main, success_aucs, track_cached, tracker_config, write_report)
from tanet_jax.evaluation.starts import JITTER, START_MARK, mean_over_starts, run_name, start_box  # noqa: F401 (START_MARK re-exported)
from tanet_jax.tracking.config import add_config_arguments

DEFAULT = "default"


def split_values(text: str) -> list[str]:
    """Comma-separated values, commas inside (), [] or quotes kept: '(1,2),(3,)' -> ['(1,2)', '(3,)']."""
    values, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            values.append(text[start:i].strip())
            start = i + 1
    values.append(text[start:].strip())
    return values


def parse_grid(items: Sequence[str], config_file: str | None = None) -> list[tuple[str, list[str]]]:
    """--grid 'section.key=v1,v2' items -> [(key, [value texts])], each value checked on the config."""
    grid: list[tuple[str, list[str]]] = []
    for item in items:
        key, text = parse_assignment(item, "--grid")
        values = split_values(text)
        if any(not v for v in values):
            raise BenchError(f"--grid {item!r}: an empty value")
        if len(set(values)) != len(values):
            raise BenchError(f"--grid {item!r}: a value is repeated")
        if key in dict(grid):
            raise BenchError(f"--grid: {key} is given twice")
        for v in values:
            tracker_config(config_file, [(key, v)])  # an unknown key or a bad value fails here
        grid.append((key, values))
    return grid


def settings_of(grid: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, str]]:
    """Every combination of the grid's values, in grid order (the first key varies slowest)."""
    keys = [k for k, _ in grid]
    return [dict(zip(keys, combo)) for combo in itertools.product(*[v for _, v in grid])]


def describe(setting: Mapping[str, str]) -> str:
    """'key=value key=value' (or 'default' for no override)."""
    return " ".join(f"{k}={v}" for k, v in setting.items()) or DEFAULT


def criterion(aucs: Mapping[str, float], sequences: Sequence[str], root_of: Mapping[str, str],
              weigh_roots: bool) -> float:
    """Mean AUC over `sequences` (or, weighing roots, the mean over roots of their means)."""
    if not sequences:
        return float("nan")
    if not weigh_roots:
        return float(np.mean([aucs[s] for s in sequences]))
    roots = sorted({root_of[s] for s in sequences})
    return float(np.mean([np.mean([aucs[s] for s in sequences if root_of[s] == r]) for r in roots]))


def best_setting(table: Mapping[str, Mapping[str, float]], sequences: Sequence[str], root_of: Mapping[str, str],
                 weigh_roots: bool) -> str:
    """The setting with the best criterion on `sequences` (the first in order on a tie)."""
    scores = {sid: criterion(aucs, sequences, root_of, weigh_roots) for sid, aucs in table.items()}
    best = max(scores.values())
    return next(sid for sid, s in scores.items() if s == best)


def leave_one_out(table: Mapping[str, Mapping[str, float]], root_of: Mapping[str, str],
                  weigh_roots: bool = False) -> list[dict[str, Any]]:
    """Per held-out sequence: the setting best on all the others and its AUC on the held-out one."""
    sequences = list(root_of)
    if len(sequences) < 2:
        raise BenchError("cross-validation needs at least 2 sequences")
    rows = []
    for held in sequences:
        others = [s for s in sequences if s != held]
        sid = best_setting(table, others, root_of, weigh_roots)
        rows.append({"held_out": held, "root": root_of[held], "setting": sid, "auc": table[sid][held],
                     "train_auc": criterion(table[sid], others, root_of, weigh_roots)})
    return rows


def sensitivity(grid: Sequence[tuple[str, Sequence[str]]], setting_ids: Mapping[tuple[int, ...], str],
                means: Mapping[str, float], chosen: tuple[int, ...]) -> list[dict[str, Any]]:
    """Mean AUC when each parameter moves one grid step (down, up) from the chosen setting."""
    rows = []
    for p, (key, values) in enumerate(grid):
        for step in (-1, 1):
            j = chosen[p] + step
            if not 0 <= j < len(values):
                continue
            moved = chosen[:p] + (j,) + chosen[p + 1 :]
            sid = setting_ids[moved]
            rows.append({"parameter": key, "from": values[chosen[p]], "to": values[j], "setting": sid,
                         "mean_auc": means[sid], "change": means[sid] - means[setting_ids[chosen]]})
    return rows


def sweep(roots: Sequence[str], grid_items: Sequence[str], out: Path, *, attention: str = "none",
          config_file: str | None = None, overrides: Sequence[tuple[str, str]] = (), checkpoint: str | None = None,
          max_frames: int | None = None, sequences: Sequence[str] | None = None, weigh_roots: bool = False,
          starts: int = 1, jitter: float = JITTER, command: str = "") -> dict[str, Any]:
    """Run the grid (cached), then rank, cross-validate and write OUT/tracker_sweep.{json,md}."""
    from tanet_jax.evaluation.experiment import load_predictor  # JAX imports only when tracking
    from tanet_jax.evaluation.tracker_spec import TrackerSpec
    from tanet_jax.tracking.build import make_tracker

    base = list(overrides)
    grid = parse_grid(grid_items, config_file)
    if not grid:
        raise BenchError("give at least one --grid SECTION.KEY=V1,V2,...")
    if attention == "groundtruth":
        print("note: groundtruth attention reads the annotations: an upper bound, not a tracker")
    combos = settings_of(grid)
    index_of = {tuple(vals.index(s[k]) for k, vals in grid): f"s{i:03d}" for i, s in enumerate(combos)}
    setting_by_id = {f"s{i:03d}": s for i, s in enumerate(combos)}
    setting_by_id[DEFAULT] = {}
    specs = {}
    for sid, setting in setting_by_id.items():
        config = tracker_config(config_file, [*base, *setting.items()])
        check_tracker(config, f"setting {describe(setting)}")
        try:
            specs[sid] = TrackerSpec.create(config, attention, checkpoint)
        except ValueError as e:
            raise BenchError(str(e)) from None
    by_root = read_roots(roots, max_frames, sequences)
    videos = all_videos(by_root)
    root_of = {key: label for label, vids in by_root.items() for key in vids}
    if len(videos) < 2:
        raise BenchError("cross-validation needs at least 2 sequences over all --root folders")
    folders = {sid: cache_folder(out, f"sweep-{attention}", {**spec.record(), "max_frames": max_frames,
                                                                **({"jitter": jitter} if starts > 1 else {})})
               for sid, spec in specs.items()}
    predictor = load_predictor(specs[DEFAULT], ["joint"])

    boxes: dict[str, dict[str, np.ndarray]] = {sid: {} for sid in setting_by_id}
    fps: dict[str, list[float]] = {sid: [] for sid in setting_by_id}
    if starts < 1:
        raise BenchError(f"--starts {starts}: give at least 1")
    runs = {run_name(key, j): (video, j) for key, video in videos.items() for j in range(starts)}
    bar = tqdm(total=len(runs) * len(setting_by_id), desc="sweep", unit="run")
    for run_key, (video, j) in runs.items():
        frames = memo(lambda video=video: preload(video))
        init = start_box(video.boxes[0], j, jitter)
        for sid, spec in specs.items():
            bar.set_postfix_str(f"{run_key} {sid}")
            make = lambda spec=spec, video=video: make_tracker(spec.config, spec.attention, boxes=video.boxes,  # noqa: E731
                                                               absent=video.absent, predictor=predictor)
            result = track_cached(folders[sid], dataclasses.replace(video, name=run_key), frames, make, init=init)
            boxes[sid][run_key] = np.asarray(result["boxes"])
            fps[sid].append(float(result["fps"]))
            bar.update()
    bar.close()

    run_videos = {k: v for k, (v, _) in runs.items()}
    table = {sid: mean_over_starts(success_aucs(boxes[sid], run_videos)) for sid in setting_by_id}
    grid_table = {sid: table[sid] for sid in setting_by_id if sid != DEFAULT}
    seqs = list(videos)
    means = {sid: criterion(table[sid], seqs, root_of, weigh_roots) for sid in table}
    per_root = {sid: {r: float(np.mean([table[sid][k] for k in by_root[r]])) for r in by_root} for sid in table}
    chosen = best_setting(grid_table, seqs, root_of, weigh_roots)
    cv = leave_one_out(grid_table, root_of, weigh_roots)
    cv_by_seq = {row["held_out"]: row for row in cv}
    cv_mean = criterion({r["held_out"]: r["auc"] for r in cv}, seqs, root_of, weigh_roots)
    cv_per_root = {r: float(np.mean([cv_by_seq[k]["auc"] for k in by_root[r]])) for r in by_root}
    chosen_index = next(ix for ix, sid in index_of.items() if sid == chosen)
    sens = sensitivity(grid, index_of, means, chosen_index)

    report = {
        "attention": attention, "roots": {label: str(r) for label, r in zip(by_root, roots)},
        "sequences": {r: list(v) for r, v in by_root.items()}, "frames": {k: len(v) for k, v in videos.items()},
        "max_frames": max_frames, "starts": starts, "jitter": jitter, "config_file": config_file, "overrides": override_flags(overrides),
        "grid": [{"key": k, "values": v} for k, v in grid],
        "criterion": "mean over roots of per-root mean AUC" if weigh_roots else "mean AUC over sequences",
        "rule": "otb (got10k ExperimentOTB: success AUC, every frame counts)",
        "settings": {sid: {"overrides": s, "mean_auc": means[sid], "per_root": per_root[sid],
                           "per_sequence": table[sid], "fps": float(np.mean(fps[sid]))}
                     for sid, s in setting_by_id.items()},
        "chosen_on_all": {"setting": chosen, "overrides": setting_by_id[chosen], "mean_auc": means[chosen],
                          "note": "chosen on these sequences: optimistic for new video"},
        "cross_validation": {"mean_auc": cv_mean, "per_root": cv_per_root, "folds": cv},
        "default": {"mean_auc": means[DEFAULT], "per_root": per_root[DEFAULT], "per_sequence": table[DEFAULT]},
        "sensitivity": sens,
    }
    write_report(out, "tracker_sweep", report, _markdown(report, setting_by_id, by_root), command)
    return report


def _markdown(r: Mapping[str, Any], setting_by_id: Mapping[str, Mapping[str, str]],
              by_root: Mapping[str, Mapping[str, Any]]) -> str:
    """The report as markdown tables."""
    roots = list(by_root)
    chosen = r["chosen_on_all"]["setting"]
    kind = "local tracker (attention none)" if r["attention"] == "none" else f"joint, attention {r['attention']}"
    data = ", ".join(f"{label} ({len(v)} sequences, {sum(r['frames'][k] for k in v)} frames, from {r['roots'][label]})"
                     for label, v in by_root.items())
    lines = [f"# Tracker sweep: {kind}\n",
             f"Data: {data}" + (f"; each cut to {r['max_frames']} frames" if r["max_frames"] else "") + "."
             + (f" Each sequence tracked from {r['starts']} starts (the first box, then boxes jittered by up to "
                f"{r['jitter']:.0%} of its size, seeded); its AUC is their mean." if r["starts"] > 1 else ""),
             f"Scores: success AUC, {r['rule']}. Selection: {r['criterion']}.",
             f"Base config: {r['config_file'] or 'build.default_config()'}"
             + (f" with {' '.join(r['overrides'])}" if r["overrides"] else "") + ".\n",
             "## (a) Mean AUC per setting: CHOSEN ON THESE SEQUENCES (optimistic for new video)\n"]
    rows = []
    for sid in sorted(setting_by_id, key=lambda s: -r["settings"][s]["mean_auc"]):
        s = r["settings"][sid]
        mark = " (chosen)" if sid == chosen else ""
        name = "default config" if sid == DEFAULT else f"{sid}{mark}: {describe(setting_by_id[sid])}"
        rows.append([name, s["mean_auc"],
                     *[s["per_root"][x] for x in roots], f"{s['fps']:.1f}"])
    lines.append(md_table(["setting", "mean AUC", *[f"{x} mean" for x in roots], "fps"], rows))
    cv = r["cross_validation"]
    lines += ["## (b) Leave-one-sequence-out cross-validation (what to expect on new video)\n",
              f"**Cross-validated mean AUC: {cv['mean_auc']:.3f}** "
              + "(" + ", ".join(f"{x}: {cv['per_root'][x]:.3f}" for x in roots) + "); "
              f"default config: {r['default']['mean_auc']:.3f}; best setting chosen on all sequences: "
              f"{r['chosen_on_all']['mean_auc']:.3f} (chosen on these sequences).\n"]
    lines.append(md_table(["held-out sequence", "setting chosen on the others", "its mean AUC on the others",
                           "its AUC on the held-out sequence", "default's AUC there"],
                          [[f["held_out"], f"{f['setting']}: {describe(setting_by_id[f['setting']])}", f["train_auc"],
                            f["auc"], r["default"]["per_sequence"][f["held_out"]]] for f in cv["folds"]]))
    lines += ["## (c) Per sequence: default config, the setting chosen on all, cross-validated\n"]
    folds = {f["held_out"]: f for f in cv["folds"]}
    lines.append(md_table(["sequence", "default", f"chosen on all ({chosen})", "cross-validated"],
                          [[k, r["default"]["per_sequence"][k], r["settings"][chosen]["per_sequence"][k],
                            folds[k]["auc"]] for k in r["frames"]]))
    lines += ["## (d) Sensitivity: one grid step from the chosen setting\n",
              f"Chosen: {chosen}: {describe(setting_by_id[chosen])} (mean AUC {r['chosen_on_all']['mean_auc']:.3f}).\n"]
    if r["sensitivity"]:
        lines.append(md_table(["parameter", "from", "to", "mean AUC", "change"],
                              [[s["parameter"], s["from"], s["to"], s["mean_auc"], f"{s['change']:+.3f}"]
                               for s in r["sensitivity"]]))
    else:
        lines.append("No parameter has a second grid value.\n")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", action="append", required=True,
                   help="an OTB-layout folder (NAME/img/*.jpg + NAME/groundtruth_rect.txt); repeat for several")
    p.add_argument("--grid", action="append", default=[], metavar="SECTION.KEY=V1,V2,...",
                   help="values of one config field to sweep (repeat per field; all combinations run), "
                        "e.g. 'local.learning_rate=0.01,0.015' or 'local.scales=(0.97,1.0,1.03),(0.95,1.0,1.05)'")
    p.add_argument("--out", required=True, type=Path, help="folder for the report and the run cache")
    p.add_argument("--attention", default="none",
                   help="none (default: the local tracker), correlation, groundtruth (an upper bound) or tanet")
    p.add_argument("--checkpoint", help="TANet checkpoint for --attention tanet")
    add_config_arguments(p)  # the base config of every setting; --config.SECTION.KEY=VALUE overrides it
    p.add_argument("--starts", type=int, default=1,
                   help="track each sequence from this many starts (the first box plus seeded jitters) and average "
                        "their AUC: correlation-filter trackers are chaotic, one start is noisy (default 1)")
    p.add_argument("--jitter", type=float, default=JITTER,
                   help=f"largest jitter of a start, as a fraction of the box size (default {JITTER})")
    p.add_argument("--max-frames", type=int, help="cut each sequence to its first N frames (for quick checks)")
    p.add_argument("--sequences", nargs="+", help="only these sequence names (default: all)")
    p.add_argument("--weigh-roots", action="store_true",
                   help="choose by the mean over roots of each root's mean AUC (default: mean over sequences)")
    return p


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, run the sweep, print where the report is."""
    args, overrides = parse_args(build_parser(), argv)
    report = sweep(args.root, args.grid, args.out, attention=args.attention, config_file=args.config,
                   overrides=overrides, checkpoint=args.checkpoint, max_frames=args.max_frames,
                   sequences=args.sequences, weigh_roots=args.weigh_roots,
                   starts=args.starts, jitter=args.jitter, command=command_line(argv, __file__))
    cv = report["cross_validation"]["mean_auc"]
    print(f"chosen on all: {report['chosen_on_all']['setting']} mean AUC {report['chosen_on_all']['mean_auc']:.3f} "
          f"(optimistic); cross-validated {cv:.3f}; default {report['default']['mean_auc']:.3f}")
    print(f"report: {args.out / 'tracker_sweep.md'}")
    return report


if __name__ == "__main__":
    run_main(main)
