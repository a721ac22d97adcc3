"""Result files in one place: per-sequence boxes in the toolkits' layout (one `x,y,w,h` line per
frame), their run record, the folder of one tracker configuration, reading them back, and the
GOT-10k evaluation server's package."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from tanet_jax.data.benchmarks import parse_boxes


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and os.replace, so a killed run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def format_boxes(boxes: np.ndarray) -> str:
    """One `x,y,w,h` line per box, 3 decimals (the got10k toolkit's format)."""
    return "".join(",".join(f"{v:.3f}" for v in b) + "\n" for b in np.asarray(boxes, np.float64))


def write_boxes(path: Path, boxes: np.ndarray) -> None:
    """A result file: one `x,y,w,h` line per frame."""
    write_text_atomic(Path(path), format_boxes(boxes))


def read_boxes(path: Path) -> np.ndarray:
    """A result file (comma, tab or space separated) as an (N, 4) array; errors name the file and line."""
    return parse_boxes(Path(path))


class TrackerFolder:
    """OUT/<label>-<digest>/: the results of ONE tracker configuration. tracker.json records the
    configuration; <seq>.txt holds boxes and <seq>_meta.json confidences, global-search flags
    and fps. Another configuration gets another folder, so results never go stale."""

    def __init__(self, out: Path, label: str, record: Mapping[str, Any], digest: str) -> None:
        self.label, self.record = label, dict(record)
        self.path = Path(out) / f"{label}-{digest}"
        self.path.mkdir(parents=True, exist_ok=True)
        meta = self.path / "tracker.json"
        if meta.is_file() and json.loads(meta.read_text()).get("digest") != digest:
            raise ValueError(f"{meta}: records another configuration than its folder name says; remove the folder")
        write_text_atomic(meta, json.dumps({"label": label, "digest": digest, **self.record}, indent=2))

    def boxes_file(self, name: str) -> Path:
        return self.path / f"{name}.txt"

    def has(self, name: str) -> bool:
        """Whether both files of a sequence are on disk."""
        return self.boxes_file(name).is_file() and (self.path / f"{name}_meta.json").is_file()

    def load(self, name: str) -> dict[str, Any]:
        """Boxes and run record of a sequence tracked earlier with this configuration."""
        data = json.loads((self.path / f"{name}_meta.json").read_text())
        return {"boxes": read_boxes(self.boxes_file(name)), **data}

    def save(self, name: str, boxes: np.ndarray, confidence: np.ndarray, global_search: np.ndarray,
             fps: float, times: np.ndarray | None = None, init: np.ndarray | None = None) -> None:
        """Boxes and run record of one sequence (record first: `has` needs both); `init`, the box
        tracking started from, lets a reader tell results of another start or annotation apart."""
        data = {"confidence": np.asarray(confidence).tolist(),
                "global_search": np.asarray(global_search, bool).tolist(), "fps": float(fps)}
        if times is not None:
            data["times"] = np.asarray(times).tolist()
        if init is not None:
            data["init"] = np.asarray(init, np.float64).tolist()
        write_text_atomic(self.path / f"{name}_meta.json", json.dumps(data))
        write_boxes(self.boxes_file(name), boxes)


def read_result_folder(folder: Path, names: list[str]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Boxes (and fps where a _meta.json has it) of the named sequences present in a folder."""
    boxes, fps = {}, {}
    for name in names:
        path = Path(folder) / f"{name}.txt"
        if not path.is_file():
            continue
        boxes[name] = read_boxes(path)
        meta = Path(folder) / f"{name}_meta.json"
        if meta.is_file():
            fps[name] = float(json.loads(meta.read_text()).get("fps", float("nan")))
    return boxes, fps


def write_got10k_package(folder: Path, results: Mapping[str, tuple[np.ndarray, np.ndarray]], zip_path: Path) -> Path:
    """The GOT-10k server's package: NAME/NAME_001.txt (boxes) and NAME/NAME_time.txt (seconds per
    frame) for every sequence, zipped (folders at the top of the archive)."""
    folder = Path(folder)
    for name, (boxes, times) in results.items():
        write_boxes(folder / name / f"{name}_001.txt", boxes)
        write_text_atomic(folder / name / f"{name}_time.txt", "".join(f"{t:.8f}\n" for t in np.asarray(times)))
    tmp = zip_path.with_name(f".{zip_path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(results):
            for f in (f"{name}_001.txt", f"{name}_time.txt"):
                z.write(folder / name / f, f"{name}/{f}")
    os.replace(tmp, zip_path)
    return zip_path


def remove_results(folder: TrackerFolder, name: str) -> None:
    """Forget one sequence's results (for --force)."""
    for p in (folder.boxes_file(name), folder.path / f"{name}_meta.json"):
        p.unlink(missing_ok=True)


__all__ = ["TrackerFolder", "format_boxes", "read_boxes", "read_result_folder", "remove_results",
           "write_boxes", "write_got10k_package", "write_text_atomic"]
