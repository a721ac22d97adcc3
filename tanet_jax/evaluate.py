"""Track a benchmark with the local and/or joint tracker and score it as the benchmark's own
toolkit does (python -m tanet_jax.evaluate).

  python -m tanet_jax.evaluate --dataset otb --root ../shared/data/sequences --out results/otb
  python -m tanet_jax.evaluate --dataset uav123_10fps --root /data/UAV123_10fps --trackers local,joint \\
      --attention tanet --checkpoint checkpoints/tanet_official --out results/uav10
  python -m tanet_jax.evaluate --dataset otb --root ../shared/data/dev --attention correlation --starts 3 \\
      --out results/dev
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
layout; <sequence>~start<j>.txt for jittered starts) with tracker.json (the full tracker
configuration), OUT/report.json (scores, per sequence scores, success AUC per attribute label
where the benchmark has them (OTB: the benchmark toolkit's labels, shipped; UAV123:
anno/.../att/; LaSOT: the toolkit's att/ files copied to ROOT/att/; plotted in
attributes_plot.png), the attention source and checkpoint digest, the configuration, the
package version, date and machine, failed and missing sequences), success/precision plots and
per-sequence IoU/confidence timelines (OUT/timelines/). Results of the same configuration are
reused; another configuration (any --config field, --threshold, --every, attention or
checkpoint) gets its own folder and is tracked afresh; --force always tracks again. Attention is
`none` unless you name another: `groundtruth` reads the annotations (an upper bound, labelled
so), `tanet` needs --checkpoint.

How sure a score is: a tracker's decisions are knife-edge (tiny float differences between
machines flip them), so on a few sequences differences of a few points are noise. `--starts N`
tracks every sequence from N starts (the annotated first box, then N-1 seeded jitters of it
moving centre and size by up to 4%); the benchmark's own scores stay those of the annotated
start, and each tracker also gets its per-start scores, the mean over starts and a 95% bootstrap
interval over sequences (10,000 seeded resamples of sequences, on each sequence's mean over
starts). With two or more trackers, each gets its paired difference to the first (or
`--baseline LABEL`) with its paired bootstrap interval: an interval that holds 0 means the
sequences do not tell the two apart.

Results: scores are always those of the files on disk (a rerun reports the same numbers);
results are reused only when the configuration, the checkpoint's content (its arrays and model
config, not orbax's files) and the whole tanet_jax package's source are the same. report.json
keeps every tracker evaluated into the same --out with the same benchmark, split, root, rule,
--starts and code, merged by tracker label.

Exit status: 0 when every sequence was scored; 1 when report.json lists a failed sequence (a
frame or annotation that cannot be read: one `failed: TRACKER/SEQUENCE: FILE: reason` line each
on stderr, TRACKER `read` when the annotations failed; the run goes on without it); 2 for bad
arguments, an unreadable config or checkpoint; 130 when interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tanet_jax.cli import exit_on_interrupt, positive_int, prog
from tanet_jax.data.benchmarks import BENCHMARKS, DEFAULT_SPLITS, DatasetError
from tanet_jax.evaluation.experiment import HEADLINE, KINDS, evaluate
from tanet_jax.evaluation.metrics import OTHER_RULES, RULES
from tanet_jax.evaluation.tracker_spec import specs_from_args
from tanet_jax.tracking.config import CONFIG_HELP, add_tracker_arguments, split_overrides
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


def spread_line(entry: dict[str, Any], rule: str) -> str:
    """The headline score's mean over starts, its 95% interval over sequences, and per start."""
    key, name = HEADLINE.get(rule, ("success_auc", "AUC"))
    lo, hi = entry["interval"][key]
    starts = entry["per_start"]
    per = "  per start: " + " ".join(f"{s[key]:.3f}" for s in starts) if len(starts) > 1 else ""
    return (f"{'':24s} mean over {len(starts)} start{'s' if len(starts) > 1 else ''}: {name} "
            f"{entry['mean_over_starts'][key]:.3f}, 95% interval over sequences [{lo:.3f}, {hi:.3f}]{per}")


def difference_lines(report: dict[str, Any]) -> list[str]:
    """Each tracker's paired difference to the baseline, headline score, with its interval."""
    if not report["differences"]:
        return []
    key, name = HEADLINE.get(report["rule"], ("success_auc", "AUC"))
    lines = [f"paired difference to {report['baseline']} ({name}, mean over starts, same sequences, 95% interval):"]
    for label, d in report["differences"].items():
        lo, hi = d[key]["interval"]
        lines.append(f"  {label:22s} {d[key]['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}] over "
                     f"{d[key]['sequences']} sequences")
    return lines


@exit_on_interrupt("evaluation")
def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog=prog("tanet_jax.evaluate"), description=__doc__, epilog=CONFIG_HELP,
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
    parser.add_argument("--starts", type=positive_int, default=1,
                        help="track each sequence from this many starts: the annotated first box, then seeded "
                             "jitters of it (default 1: the benchmark's protocol alone)")
    parser.add_argument("--baseline", metavar="LABEL", help="the tracker the others are differenced against "
                        "(e.g. local, joint-correlation; default: the report's first)")
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
                          not args.no_timelines, args.rule, args.starts, args.baseline)
    except (CheckpointError, DatasetError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    starts = report["protocol"]["starts"]
    print(f"{report['benchmark']} {report['split']}: {report['sequences']} sequences, rule '{report['rule']}', "
          f"{starts} start{'s' if starts > 1 else ''}")
    for label, entry in report["trackers"].items():
        print(summary_line(label, entry))
        print(f"{'':24s} attention: {entry['attention_source']}")
        if "interval" in entry:
            print(spread_line(entry, report["rule"]))
    for line in difference_lines(report):
        print(line)
    if report["missing"]:
        print(f"not in {args.root}: {len(report['missing'])} sequences of the benchmark (listed in report.json)")
    for where, message in report["failed"].items():
        print(f"failed: {where}: {message}", file=sys.stderr)
    print(f"report: {Path(args.out) / 'report.json'}")
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
