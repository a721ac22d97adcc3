"""Readers of the benchmarks' raw folders (GOT-10k, LaSOT, TNL2K, OTB, UAV123, UAV123@10fps,
DTB70) into one Video record.

They check what they read: a missing, truncated or undecodable frame, an unparsable box line, a
box outside the image or of zero size, or a box count that does not match the frame count is an
error naming the file and line. Where the dataset itself marks a frame (GOT-10k absence, LaSOT
full occlusion / out of view, the LaSOT and TNL2K toolkits' `absent/NAME.txt`), an unusable box
is a counted warning and the frame is kept as absent; LaSOT and TNL2K folders without those flag
files fall back to taking an all-zero box as the absence marker (a counted warning says so).
Frames are listed in natural order (frame_2 before frame_10), and every image is read through
`read_image` / `decode_image`, which refuse a file cut short. The dataset builders, the
tracker, the predictor and the evaluation all read through here.

By default a bad sequence stops the read (the dataset builders want that); a `Warnings` made
with `skip_failed=True` records it in `failed` and goes on (the evaluation wants that).
Sequences a benchmark lists but the folder lacks are recorded in `missing`, never an error.
"""

from __future__ import annotations

import collections
import configparser
import dataclasses
import json
import logging
import re
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import cv2
import numpy as np

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
TABLES = Path(__file__).parent / "tables"

# Benchmarks a user can name, and the split each one's published results use.
BENCHMARKS = ("otb", "got10k", "lasot", "tnl2k", "uav123", "uav123_10fps", "dtb70")
DEFAULT_SPLITS = {"otb": "all", "got10k": "val", "lasot": "test", "tnl2k": "test", "uav123": "all",
                  "uav123_10fps": "all", "dtb70": "all"}
# Attribute labels as the benchmarks ship them: one line of 0/1 flags per sequence, in this order
# (UAV123: anno/UAV123[_10fps]/att/NAME.txt; LaSOT: the evaluation toolkit's annos/att/NAME.txt,
# copied to ROOT/att/NAME.txt).
ATTRIBUTES = {
    "uav": ("SV", "ARC", "LR", "FM", "FOC", "POC", "OV", "BC", "IV", "VC", "CM", "SOB"),
    "lasot": ("IV", "POC", "DEF", "MB", "CM", "ROT", "BC", "VC", "SV", "FOC", "FM", "OV", "LR", "ARC"),
}
SPLITS = {"otb": ("all",), "got10k": ("train", "val", "test"), "lasot": ("train", "test", "all"),
          "tnl2k": ("train", "test", "all"), "uav123": ("all",), "uav123_10fps": ("all",), "dtb70": ("all",)}

# OTB sequences whose image folder holds more frames than the benchmark uses (the benchmark's
# own configuration; the got10k toolkit applies the same ranges): name -> (first, last), 1-based.
OTB_FRAME_RANGES = {
    "david": (300, 770),
    "football1": (1, 74),
    "freeman3": (1, 460),
    "freeman4": (1, 283),
    "diving": (1, 215),
}


class DatasetError(ValueError):
    """Raw benchmark data that cannot be read faithfully; the message names file and line."""


# --------------------------------------------------------------------------- images

JPEG_SOI, JPEG_EOI, JPEG_SOS = b"\xff\xd8", b"\xff\xd9", 0xDA
PNG_SIGNATURE, PNG_IEND = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"


def _jpeg_complete(data: bytes) -> bool:
    """Whether a JPEG holds its end-of-image marker after the main image's first scan.

    The common case is the marker at the very end (after any zero padding). Otherwise the header
    segments are walked by their lengths (so an EXIF thumbnail's own marker is skipped) to the
    first start-of-scan; entropy-coded data never holds FF D9, so the marker after it is the
    image's own end, and bytes after it are a trailer some cameras append.
    """
    if data.rstrip(b"\0").endswith(JPEG_EOI):
        return True
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
        elif 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            pos += 2
        elif marker == JPEG_SOS:
            return data.find(JPEG_EOI, pos + 2) != -1
        else:
            pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return False


def incomplete_image(data: bytes) -> str | None:
    """Why an encoded image's bytes are cut short, or None: OpenCV decodes a truncated JPEG or
    PNG into a partly grey image with only a libjpeg warning, so the ends are checked first."""
    if data.startswith(JPEG_SOI):
        return None if _jpeg_complete(data) else "truncated JPEG (the file ends before its end-of-image marker FFD9)"
    if data.startswith(PNG_SIGNATURE):
        return None if data.rfind(PNG_IEND) > 8 else "truncated PNG (no IEND chunk at its end)"
    if data.startswith(b"BM") and len(data) >= 6:
        size = int.from_bytes(data[2:6], "little")
        if len(data) < size:
            return f"truncated BMP ({len(data)} of the {size} bytes its header gives)"
    return None


def decode_image(data: bytes, what: str | Path, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """Decode encoded image bytes (uint8 BGR by default), refusing bytes cut short or that OpenCV
    cannot decode with a DatasetError naming `what` (the file, or the record holding the bytes)."""
    if not data:
        raise DatasetError(f"{what}: empty image file")
    problem = incomplete_image(data)
    if problem:
        raise DatasetError(f"{what}: {problem}")
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        raise DatasetError(f"{what}: unreadable image (not a JPEG, PNG or other format OpenCV decodes)")
    return image


def read_file(path: Path) -> bytes:
    """A file's bytes, or a DatasetError naming it."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing frame (no such file)") from None
    except OSError as e:
        raise DatasetError(f"{path}: unreadable ({e.strerror or e})") from None


def read_image(path: Path, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """Every image file the package reads: one read of the bytes, checked complete, decoded."""
    return decode_image(read_file(path), path, flags)


@dataclasses.dataclass
class Video:
    """One annotated video: frame files, [x, y, w, h] boxes (NaN where not annotated), absence."""

    name: str
    frames: list[Path]
    boxes: np.ndarray
    absent: np.ndarray
    image_size: tuple[int, int]  # (height, width) of the frames
    description: str = ""
    annotation_file: Path | None = None
    zero_box_means_absent: bool = False  # LaSOT and TNL2K mark a missing target with 0,0,0,0
    # frames the dataset's own flags mark absent (GOT-10k, LaSOT, TNL2K; for LaSOT and TNL2K
    # without flag files, the frames whose box is 0,0,0,0)
    marked: np.ndarray | None = None
    attributes: tuple[str, ...] = ()  # the benchmark's attribute labels of this sequence (UAV123, LaSOT)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def annotated(self) -> np.ndarray:
        """Frames with a box (GOT-10k test annotates only the first)."""
        return ~np.isnan(self.boxes).any(axis=1)


class Warnings:
    """Counts the warnings of one read, logging each kind once and summing the rest; with
    `skip_failed`, also collects the sequences that could not be read instead of raising."""

    def __init__(self, skip_failed: bool = False) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.skip_failed = skip_failed
        self.failed: dict[str, str] = {}
        self.missing: list[str] = []

    def warn(self, kind: str, message: str) -> None:
        if self.counts[kind] == 0:
            log.warning("%s (further '%s' warnings are counted)", message, kind)
        self.counts[kind] += 1

    def summary(self) -> str:
        return ", ".join(f"{n} x {k}" for k, n in sorted(self.counts.items())) or "none"


_SPLIT = re.compile(r"[,\s]+")


def parse_boxes(path: Path, allow_empty_lines: bool = False) -> np.ndarray:
    """Boxes from a text file, comma or whitespace separated, one [x, y, w, h] per line."""
    if not path.is_file():
        raise DatasetError(f"{path}: annotation file not found")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text:
            if allow_empty_lines:
                continue
            raise DatasetError(f"{path}:{number}: empty line")
        parts = [p for p in _SPLIT.split(text) if p]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise DatasetError(f"{path}:{number}: cannot parse box {text!r}") from None
        if len(values) != 4:
            raise DatasetError(f"{path}:{number}: expected 4 numbers (x, y, w, h), got {len(values)}: {text!r}")
        rows.append(values)
    if not rows:
        raise DatasetError(f"{path}: no boxes")
    return np.asarray(rows, np.float64)


def parse_flags(path: Path, count: int) -> np.ndarray:
    """0/1 per-frame flags, one per line or comma separated on one line (LaSOT)."""
    if not path.is_file():
        raise DatasetError(f"{path}: flag file not found")
    tokens = [t for t in _SPLIT.split(path.read_text().strip()) if t]
    try:
        flags = np.asarray([int(float(t)) for t in tokens], np.int64)
    except ValueError:
        raise DatasetError(f"{path}: flags must be integers") from None
    if len(flags) != count:
        raise DatasetError(f"{path}: {len(flags)} flags for {count} frames")
    return flags


def read_absence(video: Video, candidates: Sequence[Sequence[Path]], warnings: Warnings) -> np.ndarray:
    """The frames a benchmark's absence flag files mark: the union of the first group of
    `candidates` with a file present; without any, the frames whose box is 0,0,0,0 (the marker
    those files go with), counted in a warning that says the absence was inferred."""
    for group in candidates:
        present = [f for f in group if f.is_file()]
        if present:
            marked = np.zeros(len(video), bool)
            for f in present:
                marked |= parse_flags(f, len(video)).astype(bool)
            return marked
    marked = (video.boxes == 0).all(axis=1)
    if marked.any():
        names = " or ".join(str(f) for group in candidates for f in group)
        warnings.warn("absence inferred from 0,0,0,0 boxes",
                      f"{video.annotation_file}: no absence flags ({names}); its frames with a 0,0,0,0 box "
                      "are taken as absent")
    return marked


def read_attributes(path: Path, names: tuple[str, ...]) -> tuple[str, ...]:
    """The attribute names whose flag is 1 in a one-line 0/1 attribute file (empty if no file)."""
    if not path.is_file():
        return ()
    flags = parse_flags(path, len(names))
    return tuple(n for n, f in zip(names, flags) if f)


_NUMBER = re.compile(r"([0-9]+)")


def natural_key(path: Path) -> tuple:
    """Sort key reading the numbers in a name as numbers (frame_2 before frame_10, 2.jpg before
    10.jpg); the name itself breaks ties (1.jpg, 01.jpg)."""
    parts = _NUMBER.split(path.name)  # text, number, text, ...: the same kind at each position
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), path.name


def list_frames(folder: Path) -> list[Path]:
    """Image files of a folder in natural order; numbered names must have no gap."""
    if not folder.is_dir():
        raise DatasetError(f"{folder}: frame folder not found")
    frames = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=natural_key)
    if not frames:
        raise DatasetError(f"{folder}: no frames")
    if all(p.stem.isdigit() for p in frames):
        numbers = [int(p.stem) for p in frames]
        expected = range(numbers[0], numbers[0] + len(numbers))
        for i, (got, want) in enumerate(zip(numbers, expected)):
            if i and got == numbers[i - 1]:
                raise DatasetError(f"{frames[i - 1]} and {frames[i].name}: two frames numbered {got}")
            if got != want:
                width = len(frames[0].stem)
                raise DatasetError(f"{folder / (str(want).zfill(width) + frames[0].suffix)}: missing frame")
    return frames


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) of an image file, or an error naming it."""
    image = read_image(path, cv2.IMREAD_UNCHANGED)
    return int(image.shape[0]), int(image.shape[1])


def refuse_one_sequence(root: Path, marker: str, benchmark: str, levels: int = 1) -> None:
    """A --root that is itself one sequence (it holds `marker`) is an error saying which folder
    to pass instead: its parent, or for layouts nested deeper the folder `levels` up."""
    held = sorted(Path(root).glob(marker))
    if not held:
        return
    found = held[0].name
    if levels == 1:
        raise DatasetError(f"{root} is one sequence (it holds {found}); pass its parent folder")
    top = Path(root).absolute().parents[levels - 1]
    raise DatasetError(f"{root} is one sequence (it holds {found}); pass the {benchmark} root, "
                       f"{levels} folders up: {top}")


def check_video(video: Video, marked: np.ndarray | None, warnings: Warnings) -> Video:
    """Validate boxes against frames and image size, and set `absent`.

    `marked` flags frames the dataset itself marks (absence, occlusion, out of view); an
    unusable box there is a counted warning and the frame is absent. Where the dataset uses
    0,0,0,0 as its absence marker, such a box on a frame the flags leave unmarked is a counted
    warning too: its box becomes NaN and the frame stays in the scores (as the toolkits score a
    box that is not all positive: a miss). Any other unusable box is an error.
    """
    n = len(video.frames)
    if len(video.boxes) != n:
        raise DatasetError(
            f"{video.annotation_file}: {len(video.boxes)} boxes for {n} frames in {video.frames[0].parent}"
        )
    marked = np.zeros(n, bool) if marked is None else marked.astype(bool)
    height, width = video.image_size
    absent = marked.copy()
    for i, box in enumerate(video.boxes):
        if np.isnan(box).any():
            continue
        x, y, w, h = box
        if not (w > 0 and h > 0):
            problem = "zero-size box"
        elif x >= width or y >= height or x + w <= 0 or y + h <= 0:
            problem = f"box outside the {width}x{height} image"
        else:
            continue
        if marked[i]:
            warnings.warn(
                "unusable box on a frame marked absent",
                f"{video.annotation_file}:{i + 1}: {problem} {box.tolist()} on a frame the dataset marks absent",
            )
            absent[i] = True
            video.boxes[i] = np.nan
        elif video.zero_box_means_absent and not box.any():
            warnings.warn(
                "0,0,0,0 box on a frame the flags do not mark absent",
                f"{video.annotation_file}:{i + 1}: 0,0,0,0 box on a frame the absence flags do not mark; "
                "kept as a frame without a box",
            )
            video.boxes[i] = np.nan
        else:
            raise DatasetError(f"{video.annotation_file}:{i + 1}: {problem} {box.tolist()}")
    video.absent = absent
    video.marked = marked
    return video


def _each(names: Iterable[str], load: Callable[[str], Iterator[Video]], warnings: Warnings) -> Iterator[Video]:
    """Videos of every name; a name that fails to load raises, or is recorded when skipping."""
    for name in names:
        try:
            videos = list(load(name))
        except DatasetError as e:
            if not warnings.skip_failed:
                raise
            warnings.failed[name] = str(e)
            continue
        yield from videos


def _new_video(
    name: str, frames: list[Path], boxes: np.ndarray, annotation_file: Path,
    description: str = "", zero_box_means_absent: bool = False,
) -> Video:
    return Video(name, frames, boxes, np.zeros(len(frames), bool), image_size(frames[0]),
                 description, annotation_file, zero_box_means_absent)


# --------------------------------------------------------------------------- OTB

def read_otb(root: Path, warnings: Warnings | None = None) -> Iterator[Video]:
    """Any subset of OTB sequences: `NAME/img/*.jpg` with `groundtruth_rect[.k].txt`."""
    warnings = warnings or Warnings()
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: OTB root not found")
    seqs = [p for p in sorted(root.iterdir()) if p.is_dir() and any(p.glob("groundtruth_rect*.txt"))]
    if not seqs:
        refuse_one_sequence(root, "groundtruth_rect*.txt", "OTB")
        raise DatasetError(f"{root}: no OTB sequences (NAME/img/ and NAME/groundtruth_rect.txt) found")
    labels = otb_attributes()
    yield from _each([p.name for p in seqs], lambda n: read_otb_sequence(root / n, warnings, attributes=labels),
                     warnings)


def otb_attributes() -> dict[str, tuple[str, ...]]:
    """OTB's attribute labels per sequence (lower-case name -> labels), shipped in tables/."""
    table = json.loads((TABLES / "otb_attributes.json").read_text())["otb"]
    return {name.lower(): tuple(labels) for name, labels in table.items()}


def read_otb_sequence(seq_dir: Path, warnings: Warnings | None = None,
                      frame_ranges: dict[str, tuple[int, int]] | None = None,
                      attributes: dict[str, tuple[str, ...]] | None = None) -> Iterator[Video]:
    """One OTB-layout folder (`img/` + `groundtruth_rect[.k].txt`), cut to the benchmark's frame
    range where it has one (David: frames 300-770); one Video per annotation file, labelled
    from `attributes` (lower-case name -> labels) where given."""
    warnings = warnings or Warnings()
    ranges = OTB_FRAME_RANGES if frame_ranges is None else frame_ranges
    annos = sorted(seq_dir.glob("groundtruth_rect*.txt"))
    annos = [a for a in annos if a.read_text().strip()]  # Human4's empty .1 file
    if not annos:
        raise DatasetError(f"{seq_dir}: no groundtruth_rect.txt")
    frames = list_frames(seq_dir / "img")
    first, last = ranges.get(seq_dir.name.lower(), (1, len(frames)))
    frames = frames[first - 1 : last]
    for anno in annos:
        suffix = anno.name[len("groundtruth_rect"):-len(".txt")]  # "" or ".2"
        name = seq_dir.name + (suffix if len(annos) > 1 or suffix else "")
        video = _new_video(name, frames, parse_boxes(anno), anno)
        video.attributes = (attributes or {}).get(name.lower(), ())
        yield check_video(video, None, warnings)


def read_dtb70(root: Path, warnings: Warnings | None = None) -> Iterator[Video]:
    """DTB70 `NAME/img/*.jpg` with `NAME/groundtruth_rect.txt` (every frame used)."""
    warnings = warnings or Warnings()
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: DTB70 root not found")
    seqs = sorted(p.name for p in root.iterdir() if (p / "groundtruth_rect.txt").is_file())
    if not seqs:
        refuse_one_sequence(root, "groundtruth_rect.txt", "DTB70")
        raise DatasetError(f"{root}: no DTB70 sequences (NAME/img/ and NAME/groundtruth_rect.txt) found")
    yield from _each(seqs, lambda n: read_otb_sequence(root / n, warnings, frame_ranges={}), warnings)


# --------------------------------------------------------------------------- UAV123

def uav123_frame_ranges(version: str) -> dict[str, tuple[str, int, int]]:
    """The benchmark's configSeqs table: sequence -> (frame folder, first, last), 1-based."""
    table = json.loads((TABLES / "uav123_frame_ranges.json").read_text())[version]
    return {name: (folder, int(first), int(last)) for name, (folder, first, last) in table.items()}


def read_uav123(root: Path, version: str = "uav123", warnings: Warnings | None = None) -> Iterator[Video]:
    """UAV123 or UAV123@10fps under `root`: `data_seq/UAV123[_10fps]/FOLDER/%06d.jpg` and
    `anno/UAV123[_10fps]/NAME.txt`, each sequence cut to the published frame range (group2_2 at
    10 fps: frames 303-591 of group2). NaN lines mark a fully occluded or out-of-view target
    (absent). Sequences of the table without an annotation file are listed in `missing`."""
    warnings = warnings or Warnings()
    folder = {"uav123": "UAV123", "uav123_10fps": "UAV123_10fps"}[version]
    anno_dir, data_dir = Path(root) / "anno" / folder, Path(root) / "data_seq" / folder
    if not anno_dir.is_dir():
        raise DatasetError(f"{anno_dir}: UAV123 annotation folder not found (--root holds anno/ and data_seq/)")
    table = uav123_frame_ranges(version)
    present = [n for n in table if (anno_dir / f"{n}.txt").is_file()]
    warnings.missing.extend(n for n in table if n not in present)
    if not present:
        raise DatasetError(f"{anno_dir}: none of the {len(table)} {folder} annotation files found")

    def load(name: str) -> Iterator[Video]:
        sub, first, last = table[name]
        frames = [data_dir / sub / f"{i:06d}.jpg" for i in range(first, last + 1)]
        for f in (frames[0], frames[-1]):
            if not f.is_file():
                raise DatasetError(f"{f}: missing frame ({name} is frames {first}-{last} of {sub})")
        anno = anno_dir / f"{name}.txt"
        video = _new_video(name, frames, parse_boxes(anno), anno)
        marked = np.isnan(video.boxes).any(axis=1)
        video.attributes = read_attributes(anno_dir / "att" / f"{name}.txt", ATTRIBUTES["uav"])
        yield check_video(video, marked, warnings)

    yield from _each(present, load, warnings)


# --------------------------------------------------------------------------- GOT-10k

def read_got10k(root: Path, split: str, warnings: Warnings | None = None) -> Iterator[Video]:
    """GOT-10k `SPLIT/NAME/{%08d.jpg, groundtruth.txt, absence.label, ...}`; test has only the
    first box, the rest are NaN (not annotated)."""
    warnings = warnings or Warnings()
    split_dir = Path(root) / split
    if not split_dir.is_dir():
        refuse_one_sequence(root, "groundtruth.txt", "GOT-10k", levels=2)
        if Path(root).name in SPLITS["got10k"] and any(p.is_dir() for p in Path(root).iterdir()):
            raise DatasetError(f"{root} is the GOT-10k {Path(root).name!r} split folder; pass its parent "
                               f"folder ({Path(root).absolute().parent}) with --split {Path(root).name}")
        raise DatasetError(f"{split_dir}: GOT-10k split folder not found")
    list_file = split_dir / "list.txt"
    if list_file.is_file():
        names = [n.strip() for n in list_file.read_text().splitlines() if n.strip()]
    else:
        names = sorted(p.name for p in split_dir.iterdir() if (p / "groundtruth.txt").is_file())
    if not names:
        raise DatasetError(f"{split_dir}: no GOT-10k videos found")

    def load(name: str) -> Iterator[Video]:
        seq = split_dir / name
        frames = list_frames(seq)
        boxes = parse_boxes(seq / "groundtruth.txt")
        if split == "test":
            if len(boxes) != 1:
                raise DatasetError(f"{seq / 'groundtruth.txt'}: GOT-10k test has one box, got {len(boxes)}")
            boxes = np.concatenate([boxes, np.full((len(frames) - 1, 4), np.nan)])
        absence = None
        if (seq / "absence.label").is_file():
            absence = parse_flags(seq / "absence.label", len(frames)).astype(bool)
        if (seq / "cover.label").is_file():  # the toolkit scores frames with cover > 0
            cover_zero = parse_flags(seq / "cover.label", len(frames)) == 0
            absence = cover_zero if absence is None else absence | cover_zero
        meta = _read_meta_info(seq / "meta_info.ini")
        description = meta.get("object_class", "")
        video = _new_video(name, frames, boxes, seq / "groundtruth.txt", description)
        yield check_video(video, absence, warnings)

    yield from _each(names, load, warnings)


def _read_meta_info(path: Path) -> dict[str, str]:
    """GOT-10k meta_info.ini as a flat dict (object_class, motion_class, ...)."""
    if not path.is_file():
        return {}
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text())
    except configparser.Error as e:
        raise DatasetError(f"{path}: cannot parse ({e})") from None
    return {k: v for section in parser.sections() for k, v in parser[section].items()}


# --------------------------------------------------------------------------- LaSOT

def read_lasot(root: Path, split: str, warnings: Warnings | None = None) -> Iterator[Video]:
    """LaSOT `CATEGORY/CATEGORY-N/{img/%08d.jpg, groundtruth.txt, full_occlusion.txt,
    out_of_view.txt, nlp.txt}`; `split` is 'train' or 'test' (from testing_set.txt in the root)
    or 'all'. Absent frames are those full_occlusion.txt or out_of_view.txt flag, else those the
    evaluation toolkit's `annos/absent/NAME.txt` flags (copied to ROOT/absent/NAME.txt), else
    (neither present) those whose box is 0,0,0,0. The test split is the 280 videos of the benchmark's protocol II (testing_set.txt in
    the root if present, else the list shipped in tanet_jax/data/tables); test videos the folder
    lacks are listed in `missing`."""
    warnings = warnings or Warnings()
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: LaSOT root not found")
    names = sorted(
        seq.name for cat in root.iterdir() if cat.is_dir() for seq in cat.iterdir()
        if (seq / "groundtruth.txt").is_file()
    )
    if not names:
        refuse_one_sequence(root, "groundtruth.txt", "LaSOT", levels=2)
        if any((p / "groundtruth.txt").is_file() for p in root.iterdir()):
            raise DatasetError(f"{root} is one LaSOT category (its folders hold groundtruth.txt); pass its "
                               "parent folder")
        raise DatasetError(f"{root}: no LaSOT videos (CATEGORY/CATEGORY-N/groundtruth.txt) found")
    if split != "all":
        test_file = root / "testing_set.txt"
        if not test_file.is_file():
            test_file = TABLES / "lasot_testing_set.txt"
        test_list = [n.strip() for n in test_file.read_text().splitlines() if n.strip()]
        test = set(test_list)
        if split == "test":
            warnings.missing.extend(n for n in test_list if n not in set(names))
        names = [n for n in names if (n in test) == (split == "test")]

    def load(name: str) -> Iterator[Video]:
        seq = root / name.rsplit("-", 1)[0] / name
        frames = list_frames(seq / "img")
        boxes = parse_boxes(seq / "groundtruth.txt")
        nlp = seq / "nlp.txt"
        description = nlp.read_text().strip() if nlp.is_file() else ""
        video = _new_video(name, frames, boxes, seq / "groundtruth.txt", description, zero_box_means_absent=True)
        marked = read_absence(video, [[seq / "full_occlusion.txt", seq / "out_of_view.txt"],
                                      [root / "absent" / f"{name}.txt"]], warnings)
        video.attributes = read_attributes(root / "att" / f"{name}.txt", ATTRIBUTES["lasot"])
        yield check_video(video, marked, warnings)

    yield from _each(names, load, warnings)


# --------------------------------------------------------------------------- TNL2K

def read_tnl2k(root: Path, warnings: Warnings | None = None, split: str = "all") -> Iterator[Video]:
    """TNL2K `NAME/{imgs/*, groundtruth.txt, language.txt}`: `root` is one subset's folder, or
    holds the subset as `root/SPLIT/` (e.g. `test/`), which is then used. Absent frames are those
    the evaluation toolkit's `annos/absent/NAME.txt` flags (copied to `absent/NAME.txt` beside
    the videos, or in `root`), else (no such file) those whose box is 0,0,0,0."""
    warnings = warnings or Warnings()
    given = root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: TNL2K root not found")
    if split != "all" and (root / split).is_dir():
        root = root / split
    seqs = sorted(p for p in root.iterdir() if (p / "groundtruth.txt").is_file())
    if not seqs:
        refuse_one_sequence(root, "groundtruth.txt", "TNL2K")
        raise DatasetError(f"{root}: no TNL2K videos (NAME/imgs/ and NAME/groundtruth.txt) found")

    def load(name: str) -> Iterator[Video]:
        seq = root / name
        frames = list_frames(seq / "imgs")
        boxes = parse_boxes(seq / "groundtruth.txt")
        language = seq / "language.txt"
        description = language.read_text().strip() if language.is_file() else ""
        video = _new_video(seq.name, frames, boxes, seq / "groundtruth.txt", description, zero_box_means_absent=True)
        flag_files = dict.fromkeys([root / "absent" / f"{name}.txt", given / "absent" / f"{name}.txt"])
        yield check_video(video, read_absence(video, [[f] for f in flag_files], warnings), warnings)

    yield from _each([p.name for p in seqs], load, warnings)


def read_benchmark(name: str, root: Path, split: str | None = None,
                   warnings: Warnings | None = None) -> Iterator[Video]:
    """Dispatch by benchmark name (BENCHMARKS); `split` None is the split papers report
    (DEFAULT_SPLITS: GOT-10k val, LaSOT's 280 test videos, TNL2K test)."""
    name = name.lower()
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
    split = DEFAULT_SPLITS[name] if split is None else split
    if split not in SPLITS[name]:
        raise ValueError(f"{name} has no split {split!r}; choose from {', '.join(SPLITS[name])}")
    if name == "otb":
        return read_otb(root, warnings)
    if name == "got10k":
        return read_got10k(root, split, warnings)
    if name == "lasot":
        return read_lasot(root, split, warnings)
    if name == "tnl2k":
        return read_tnl2k(root, warnings, split)
    if name == "dtb70":
        return read_dtb70(root, warnings)
    return read_uav123(root, name, warnings)
