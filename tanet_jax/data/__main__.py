"""Dataset CLI: build TFDS datasets from raw benchmark folders, and print their statistics.

  python -m tanet_jax.data build synthetic_tracking --data-dir DIR [--config tiny|small|medium]
  python -m tanet_jax.data build got10k --source GOT10K_ROOT --data-dir DIR [--config r300|original]
  python -m tanet_jax.data stats NAME --data-dir DIR [--config C] [--json]

Datasets: got10k, lasot, tnl2k, otb (read from --source), synthetic_tracking (generated).
A missing, truncated or undecodable frame, or a bad annotation, stops the build with one line
naming the file (exit status 2). Ctrl-C stops it between two frames (exit status 130): the
partial build is removed, so it is never taken for a finished one, and a rerun builds again.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from tanet_jax.cli import exit_on_interrupt, prog
from tanet_jax.data.benchmarks import DatasetError
from tanet_jax.data.builders import BUILDERS, build, get_builder, stats


@exit_on_interrupt("the dataset command")
def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog=prog("tanet_jax.data"), description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a dataset (array_record files, no TensorFlow)")
    b.add_argument("name", choices=sorted(BUILDERS))
    b.add_argument("--source", help="the benchmark's downloaded root folder (not for synthetic_tracking)")
    b.add_argument("--data-dir", required=True, help="where built datasets live")
    b.add_argument("--config", help="r300 (default) or original; for synthetic: tiny (default), small, medium")
    s = sub.add_parser("stats", help="videos, frames and absent frames of a built dataset")
    s.add_argument("name", choices=sorted(BUILDERS))
    s.add_argument("--data-dir", required=True)
    s.add_argument("--config")
    s.add_argument("--json", action="store_true", help="print JSON (keys: videos, frames, absent_frames, splits)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        if args.command == "build":
            if args.name == "synthetic_tracking" and args.source:
                parser.error("synthetic_tracking is generated; it takes no --source")
            builder = get_builder(args.name, args.data_dir, args.config)
            if not (Path(builder.data_dir) / "dataset_info.json").is_file():  # is_prepared() without its warning
                print(f"building {args.name}/{builder.builder_config.name} in {builder.data_dir} "
                      "(Ctrl-C stops it and keeps nothing)", flush=True)
            builder = build(args.name, args.data_dir, args.source, args.config)
        else:
            builder = get_builder(args.name, args.data_dir, args.config)
            if not builder.is_prepared():
                raise FileNotFoundError(f"{args.name}/{builder.builder_config.name} is not built under {args.data_dir}")
    except (DatasetError, FileNotFoundError, KeyError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    result = stats(builder)
    if getattr(args, "json", False):
        print(json.dumps(result))
    else:
        print(f"{args.name}/{builder.builder_config.name} at {builder.data_dir}")
        for split, st in result["splits"].items():
            print(f"  {split:6s} {st['videos']:6d} videos {st['frames']:9d} frames {st['absent_frames']:8d} absent")
        print(f"  total  {result['videos']:6d} videos {result['frames']:9d} frames {result['absent_frames']:8d} absent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
