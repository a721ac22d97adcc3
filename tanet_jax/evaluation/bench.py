"""What the scripts in experiments/bench share, so they read, run, cache, time and report the same
way: OTB-layout roots read by the project's readers, frames preloaded, tracker configs from
`--config FILE` and `--config.SECTION.KEY=VALUE` (tanet_jax.tracking.config, as `track`,
`evaluate` and `train` take them), runs cached per (configuration, sequence) through
tanet_jax.evaluation.results and keyed by the package's source digest (tracker_spec), success AUC
by the project's metrics (got10k's OTB rule), best-of-N timing, OpenCV's tracking loop, and
reports written atomically as JSON + markdown with the command.

JAX is imported only by the functions that track, so scripts that time OpenCV alone stay light.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, NoReturn, Sequence

import numpy as np

from tanet_jax.data.benchmarks import DatasetError, Video, Warnings, read_benchmark
from tanet_jax.evaluation import metrics
from tanet_jax.evaluation.results import TrackerFolder, write_text_atomic
from tanet_jax.frames import LazyFrames

# the first seed of held-out synthetic videos, as tanet_jax.data.builders.SyntheticTracking's val split
HELD_OUT = 1_000_000


class BenchError(ValueError):
    """Bad input to a benchmark script: reported as one line, exit status 2."""


def fail(message: str) -> NoReturn:
    """Print a one-line error and exit 2 (bad input, as argparse does)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def run_main(main: Callable[[Sequence[str] | None], Any], argv: Sequence[str] | None = None) -> Any:
    """Run a script's main, turning bad input (BenchError, DatasetError) into a one-line exit 2."""
    try:
        return main(argv)
    except (BenchError, DatasetError) as e:
        fail(str(e))


def command_line(argv: Sequence[str] | None = None, script: str | None = None) -> str:
    """The command that produced a report, shell-quoted (argv defaults to this process's)."""
    args = list(sys.argv[1:] if argv is None else argv)
    script = script or sys.argv[0]
    try:
        script = os.path.relpath(script)
    except ValueError:  # another drive (Windows)
        pass
    return shlex.join(["python", script, *args])


def root_labels(roots: Sequence[str | Path]) -> list[str]:
    """A short distinct label per root (its folder name, numbered when two share a name)."""
    labels: list[str] = []
    for root in roots:
        base = Path(root).resolve().name or "root"
        label, k = base, 2
        while label in labels:
            label, k = f"{base}_{k}", k + 1
        labels.append(label)
    return labels


def add_data_flags(p: Any) -> None:
    """--root (repeatable), --config, --max-frames and --sequences: how every tracking bench script
    is told its sequences and its tracker config (an argparse parser; the `--config.SECTION.KEY=VALUE`
    overrides are split off by parse_args)."""
    from tanet_jax.tracking.config import add_config_arguments

    p.add_argument("--root", action="append", required=True,
                   help="an OTB-layout folder (NAME/img/*.jpg + NAME/groundtruth_rect.txt); repeat for several")
    add_config_arguments(p)
    p.add_argument("--max-frames", type=int, help="cut each sequence to its first N frames (for quick checks)")
    p.add_argument("--sequences", nargs="+", help="only these sequence names (default: all)")


def parse_args(parser: Any, argv: Sequence[str] | None = None) -> tuple[Any, list[tuple[str, str]]]:
    """(argparse namespace, `--config.SECTION.KEY=VALUE` overrides as (key, value text)) of a
    script's arguments; a malformed override is argparse's one-line error, exit 2."""
    from tanet_jax.tracking.config import split_overrides

    try:
        rest, overrides = split_overrides(sys.argv[1:] if argv is None else argv)
    except ValueError as e:
        parser.error(str(e))
    return parser.parse_args(rest), overrides


def override_flags(overrides: Iterable[tuple[str, str]]) -> list[str]:
    """The overrides as the flags that set them (`--config.KEY=VALUE`), for reports."""
    return [f"--config.{key}={value}" for key, value in overrides]


def truncate(video: Video, max_frames: int | None) -> Video:
    """The video's first `max_frames` frames (all when None), annotations cut to match."""
    if max_frames is None or len(video) <= max_frames:
        return video
    n = max_frames
    return dataclasses.replace(video, frames=video.frames[:n], boxes=video.boxes[:n], absent=video.absent[:n],
                               marked=None if video.marked is None else video.marked[:n])


def read_roots(roots: Sequence[str | Path], max_frames: int | None = None,
               sequences: Sequence[str] | None = None) -> dict[str, dict[str, Video]]:
    """{root label: {"label/name": Video}} of OTB-layout roots (NAME/img/*.jpg + groundtruth_rect.txt),
    optionally only the named sequences and cut to `max_frames`; unreadable sequences are skipped
    with a message, an empty selection is an error."""
    if not roots:
        raise BenchError("give at least one --root (an OTB-layout folder: NAME/img/*.jpg + NAME/groundtruth_rect.txt)")
    if max_frames is not None and max_frames < 2:
        raise BenchError(f"--max-frames {max_frames}: tracking needs at least 2 frames")
    wanted = set(sequences or ())
    out: dict[str, dict[str, Video]] = {}
    seen: set[str] = set()
    for label, root in zip(root_labels(roots), roots):
        if not Path(root).is_dir():
            raise BenchError(f"--root {root}: no such folder")
        warnings = Warnings(skip_failed=True)
        videos = {}
        for video in read_benchmark("otb", Path(root), None, warnings):
            if wanted and video.name not in wanted:
                continue
            seen.add(video.name)
            key = f"{label}/{video.name}"
            videos[key] = dataclasses.replace(truncate(video, max_frames), name=key)
        for name, message in warnings.failed.items():
            print(f"skipped {label}/{name}: {message}", file=sys.stderr)
        if videos:
            out[label] = videos
    missing = sorted(wanted - seen)
    if missing:
        raise BenchError(f"--sequences: {', '.join(missing)} not found in any --root")
    if not out:
        raise BenchError(f"no readable sequence in {', '.join(map(str, roots))}")
    return out


def all_videos(by_root: Mapping[str, Mapping[str, Video]]) -> dict[str, Video]:
    """The videos of every root in one dict (keys are 'label/name', distinct across roots)."""
    return {key: v for videos in by_root.values() for key, v in videos.items()}


def preload(video: Video) -> list[np.ndarray]:
    """Every frame decoded (cv2.imread) before tracking, so timings hold no file reading."""
    return list(LazyFrames(video.frames))


def memo(load: Callable[[], Any]) -> Callable[[], Any]:
    """`load` called at most once (frames are preloaded only when some run needs them)."""
    cache: list[Any] = []

    def get() -> Any:
        if not cache:
            cache.append(load())
        return cache[0]

    return get


def parse_assignment(text: str, flag: str) -> tuple[str, str]:
    """'section.key=value' -> (key, value text); a missing '=' is an error naming the flag."""
    key, eq, value = text.partition("=")
    if not eq or not key.strip() or not value.strip():
        raise BenchError(f"{flag} {text!r}: expected SECTION.KEY=VALUE (e.g. local.learning_rate=0.02)")
    return key.strip(), value.strip()


def tracker_config(config_file: str | None, overrides: Iterable[tuple[str, str]] = ()) -> Any:
    """The tracker config: a config file (or build.default_config()) with `section.key` overrides;
    an unknown key or a bad value is a BenchError naming it."""
    from tanet_jax.tracking import config as tracker  # imports JAX

    try:
        return tracker.tracker_config(config_file, list(overrides))
    except ValueError as e:
        raise BenchError(str(e)) from None


def check_tracker(config: Any, where: str) -> None:
    """Build a local tracker from `config` once, so a setting it rejects (e.g. a window that is no
    multiple of the cell) is a one-line error naming `where` before any run starts."""
    from tanet_jax.tracking.build import make_tracker

    try:
        make_tracker(config, "none")
    except (ValueError, TypeError) as e:
        raise BenchError(f"{where}: {e}") from None


def cache_folder(out: Path, label: str, record: Mapping[str, Any], *extra_code: str | Path) -> TrackerFolder:
    """OUT/runs/<label>-<digest>/: cached results of one configuration (see results.TrackerFolder),
    keyed also by the tracker's code (and `extra_code` files)."""
    from tanet_jax.evaluation.tracker_spec import record_digest, tracker_code_digest  # imports JAX

    record = {**record, "code_sha256": tracker_code_digest(*extra_code)}
    return TrackerFolder(Path(out) / "runs", label, record, record_digest(record))


def track_cached(folder: TrackerFolder, video: Video, frames: Callable[[], Sequence[np.ndarray]],
                 make: Callable[[], Any], init: np.ndarray | None = None) -> dict[str, Any]:
    """Boxes, confidences, global-search flags and fps of one sequence: read from the cache, or
    tracked (a fresh tracker from `make()` on `frames()`, started at `init` or the first
    ground-truth box) and saved."""
    from tanet_jax.tracking.run import run_sequence  # imports JAX

    if folder.has(video.name):
        return folder.load(video.name)
    result = run_sequence(make(), frames(), video.boxes[0] if init is None else init)
    folder.save(video.name, result.boxes, result.confidence, result.global_search, result.fps, result.times)
    return {"boxes": result.boxes, "confidence": result.confidence.tolist(),
            "global_search": result.global_search.tolist(), "fps": result.fps, "times": result.times.tolist()}


def success_aucs(boxes: Mapping[str, np.ndarray], videos: Mapping[str, Video]) -> dict[str, float]:
    """Success AUC per sequence under got10k's OTB rule (tanet_jax.evaluation.metrics)."""
    scores = metrics.score_benchmark("otb", {k: np.asarray(b) for k, b in boxes.items()}, videos)
    return {k: float(v["success_auc"]) for k, v in scores["per_sequence"].items()}


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> str:
    """A markdown table (floats with 3 decimals; first column left-aligned, the rest right)."""
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "-" if np.isnan(v) else f"{v:.3f}"
        return str(v)

    align = align or ("l" + "r" * (len(headers) - 1))
    lines = ["| " + " | ".join(headers) + " |",
             "| " + " | ".join("---" if a == "l" else "---:" for a in align) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def to_json(value: Any) -> Any:
    """numpy scalars and arrays as plain JSON values (NaN as null)."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def code_version() -> dict[str, Any]:
    """The git commit of the working tree (None outside git), whether the tracker's source differs
    from it, and the tracker source's digest: which code produced a report."""
    import subprocess

    from tanet_jax.evaluation.tracker_spec import tracker_code_digest  # imports JAX

    repo = Path(__file__).resolve().parents[2]  # the checkout holding the tanet_jax package

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    changed = git("status", "--porcelain", "--", "tanet_jax/tracking")
    return {"git_commit": git("rev-parse", "HEAD"), "tracking_code_uncommitted": bool(changed) if changed is not None else None,
            "tracking_code_sha256": tracker_code_digest()}


def write_report(out: Path, stem: str, data: Mapping[str, Any], markdown: str, command: str) -> tuple[Path, Path]:
    """OUT/<stem>.json and OUT/<stem>.md, written atomically; both record the command and the code."""
    out = Path(out)
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    code = code_version()
    write_text_atomic(json_path, json.dumps(to_json({"command": command, "code": code, **data}), indent=2) + "\n")
    dirty = " (tanet_jax/tracking has uncommitted changes)" if code["tracking_code_uncommitted"] else ""
    write_text_atomic(md_path, f"Command:\n\n```\n{command}\n```\n\nCode: commit {code['git_commit']}{dirty}; "
                               f"tracker source digest {code['tracking_code_sha256']}.\n\n{markdown}")
    return json_path, md_path


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Minimum wall time of `fn` over `repeats` calls, after one warm-up call (compilation excluded)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def track_frames(make: Callable[[], Any], frames: Sequence[np.ndarray],
                 init: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes, found, seconds) per frame of one fresh OpenCV tracker started on frames[0] at `init`
    (seconds[0]: its init); a frame it reports lost keeps the previous box, found False."""
    boxes = np.zeros((len(frames), 4))
    boxes[0] = init
    found = np.ones(len(frames), bool)
    times = np.zeros(len(frames))
    tracker = make()
    t0 = time.perf_counter()
    tracker.init(frames[0], tuple(int(round(v)) for v in init))
    times[0] = time.perf_counter() - t0
    for i in range(1, len(frames)):
        t0 = time.perf_counter()
        ok, box = tracker.update(frames[i])
        times[i] = time.perf_counter() - t0
        boxes[i], found[i] = (box, True) if ok else (boxes[i - 1], False)
    return boxes, found, times
