"""Track a benchmark with the local and/or joint tracker and score it as the benchmark's own
toolkit does (python -m tanet_jax.evaluate).

  python -m tanet_jax.evaluate --dataset otb --root ../shared/data/sequences --out results/otb
  python -m tanet_jax.evaluate --dataset uav123_10fps --root /data/UAV123_10fps --trackers local,joint \\
      --attention tanet --checkpoint checkpoints/tanet_official --out results/uav10
  python -m tanet_jax.evaluate --dataset got10k --split test --root /data/GOT-10k --out results/got10k_test

Benchmarks (--dataset) and their default split, the one papers report: otb (any subset of
OTB-100 in --root), dtb70, uav123, uav123_10fps (--root holds data_seq/ and anno/), got10k (val),
lasot (the 280 test videos), tnl2k (test). Scores follow each toolkit's rule (see
tanet_jax/evaluation/metrics.py): success AUC, precision at 20 px and normalised precision for
OTB, DTB70, UAV123, LaSOT and TNL2K (LaSOT/TNL2K: the official MATLAB toolkit's rule by default,
`--rule pytracking` for pytracking's); pooled AO, SR0.50 and SR0.75 for GOT-10k. GOT-10k's test
split has no public boxes: it is tracked and written as the evaluation server's package
(OUT/<tracker>_got10k_test.zip), and nothing is scored.

Writes OUT/<tracker>-<config digest>/<sequence>.txt (one x,y,w,h line per frame, the toolkits'
layout) with tracker.json (the full tracker configuration), OUT/report.json (scores, per
sequence scores, success AUC per attribute label where the benchmark has them (OTB: the
benchmark toolkit's labels, shipped; UAV123: anno/.../att/; LaSOT: the toolkit's att/ files
copied to ROOT/att/; plotted in attributes_plot.png), the attention source and checkpoint SHA-256, the configuration, the package
version, date and machine, failed and missing sequences), success/precision plots and per-sequence
IoU/confidence timelines (OUT/timelines/). Results of the same configuration are reused; another
configuration (any --config field, --threshold, --every, attention or checkpoint) gets its own
folder and is tracked afresh; --force always tracks again. A sequence that cannot be read or
tracked is reported and skipped, the others are scored, and the exit status is 1; bad arguments
exit with status 2. Attention is `none` unless you name another: `groundtruth` reads the
annotations (an upper bound, labelled so), `tanet` needs --checkpoint.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tanet_jax.data.benchmarks import BENCHMARKS, DEFAULT_SPLITS, DatasetError
from tanet_jax.evaluation.experiment import KINDS, evaluate
from tanet_jax.evaluation.metrics import OTHER_RULES, RULES
from tanet_jax.evaluation.tracker_spec import CONFIG_HELP, add_tracker_arguments, specs_from_args, split_overrides
from tanet_jax.weights import CheckpointError

__all__ = ["evaluate", "main"]


def summary_line(label: str, entry: dict[str, Any]) -> str:
    """One printed line of scores (the benchmark's own numbers)."""
    bound = " (upper bound)" if entry["upper_bound"] else ""
    fps = f"{entry['fps']:.1f} fps" if entry.get("fps") is not None else ""
    if "package" in entry:
        return f"{label:24s} server package {entry['package']}  {fps}"
    if "ao" in entry and "success_auc" not in entry:
        return f"{label:24s} AO {entry['ao']:.3f}  SR0.50 {entry['sr50']:.3f}  SR0.75 {entry['sr75']:.3f}  {fps}{bound}"
    if "success_auc" in entry:
        return (f"{label:24s} AUC {entry['success_auc']:.3f}  P@20 {entry['precision']:.3f}  "
                f"nP {entry['norm_precision']:.3f}  {fps}{bound}")
    return f"{label:24s} nothing scored"


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="python -m tanet_jax.evaluate", description=__doc__, epilog=CONFIG_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, choices=BENCHMARKS, help="which benchmark --root holds")
    parser.add_argument("--root", required=True, help="the benchmark's folder")
    parser.add_argument("--split", default=None, help="default: the split papers report "
                        + ", ".join(f"{k} {v}" for k, v in DEFAULT_SPLITS.items() if v != "all")
                        + "; got10k test writes the server's package")
    parser.add_argument("--rule", default=None, help="scoring rule (default: the benchmark's own toolkit); lasot and "
                        "tnl2k also take 'pytracking' (pytracking's analysis, as many recent papers use)")
    parser.add_argument("--trackers", default="local,joint", help="comma-separated: local, joint (default: both)")
    add_tracker_arguments(parser, several=True)
    parser.add_argument("--out", required=True, help="output folder (results, report.json, plots)")
    parser.add_argument("--force", action="store_true", help="track again even where results of the same "
                        "configuration are on disk")
    parser.add_argument("--no-timelines", action="store_true", help="skip the per-sequence timeline plots")
    try:
        rest, overrides = split_overrides(sys.argv[1:] if argv is None else argv)
    except ValueError as e:
        parser.error(str(e))
    args = parser.parse_args(rest)
    kinds = [k.strip() for k in args.trackers.split(",") if k.strip()]
    if not kinds or any(k not in KINDS for k in kinds):
        parser.error(f"--trackers takes local and/or joint, got {args.trackers!r}")
    allowed = (RULES[args.dataset],) + OTHER_RULES.get(args.dataset, ())
    if args.rule is not None and args.rule not in allowed:
        parser.error(f"--rule for {args.dataset}: one of {', '.join(allowed)}, got {args.rule!r}")
    try:
        specs = specs_from_args(args, overrides)
        report = evaluate(args.dataset, Path(args.root), args.split, kinds, specs, Path(args.out), args.force,
                          not args.no_timelines, args.rule)
    except (CheckpointError, DatasetError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{report['benchmark']} {report['split']}: {report['sequences']} sequences, rule '{report['rule']}'")
    for label, entry in report["trackers"].items():
        print(summary_line(label, entry))
        print(f"{'':24s} attention: {entry['attention_source']}")
    if report["missing"]:
        print(f"not in {args.root}: {len(report['missing'])} sequences of the benchmark (listed in report.json)")
    for where, message in report["failed"].items():
        print(f"failed: {where}: {message}", file=sys.stderr)
    print(f"report: {Path(args.out) / 'report.json'}")
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
