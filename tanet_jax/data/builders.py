"""TFDS builders (array_record, no TensorFlow): one record per frame, frames as JPEG bytes.

Every record carries its video's name and index, its frame index, the frame (JPEG at the stored
resolution), the box in original pixels and in stored pixels, the original and stored image
sizes, absence and annotation flags. The record of a video's first frame also holds the target
patch (the release's integer-truncated crop of the original frame, resized like the frames).
Records are written in video order, frames in order, so a video is a contiguous index range;
the per-split video table (names, lengths, absent frames) is kept in the dataset's metadata.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np
import tensorflow_datasets as tfds

from tanet_jax.data import benchmarks, synthetic
from tanet_jax.preprocess import crop_box

VERSION = "1.0.0"
JPEG_QUALITY = 95
_STOP = threading.Event()  # set by Ctrl-C during build(); the example generator stops at the next frame


@contextlib.contextmanager
def _stop_between_frames() -> Iterator[None]:
    """Ctrl-C during a build becomes a KeyboardInterrupt raised between two frames, in this thread
    and never inside the writer's native code, so TFDS removes its temporary folder and nothing
    half-written remains (a second Ctrl-C stops at once). One arriving after the last frame still
    stops the command, with the dataset complete."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum: int, frame: Any) -> None:
        _STOP.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    _STOP.clear()
    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        yield
        if _STOP.is_set():
            raise KeyboardInterrupt
    finally:
        signal.signal(signal.SIGINT, previous)
        _STOP.clear()


@dataclasses.dataclass
class FrameSource:
    """A video as the writer needs it: frames to load lazily, boxes, flags, description."""

    name: str
    num_frames: int
    load: Callable[[int], np.ndarray | bytes | Path]
    boxes: np.ndarray
    absent: np.ndarray
    image_size: tuple[int, int]
    description: str = ""


class TrackingConfig(tfds.core.BuilderConfig):
    """Stored resolution (square side, or None for the original size) and JPEG quality."""

    def __init__(self, *, resolution: int | None, synthetic_preset: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resolution = resolution
        self.synthetic_preset = synthetic_preset


_RESOLUTION_CONFIGS = [
    TrackingConfig(name="r300", resolution=300, description="frames resized to 300x300 (training)"),
    TrackingConfig(name="original", resolution=None, description="frames at their original size (evaluation)"),
]


def features() -> tfds.features.FeaturesDict:
    """The record layout shared by every tracking dataset."""
    f = tfds.features
    return f.FeaturesDict({
        "video": f.Text(),
        "video_index": f.Scalar(dtype=np.int32),
        "frame_index": f.Scalar(dtype=np.int32),
        "num_frames": f.Scalar(dtype=np.int32),
        "image": f.Tensor(shape=(), dtype=np.object_),
        "target": f.Tensor(shape=(), dtype=np.object_),
        "box": f.Tensor(shape=(4,), dtype=np.float32),
        "box_stored": f.Tensor(shape=(4,), dtype=np.float32),
        "image_size": f.Tensor(shape=(2,), dtype=np.int32),
        "stored_size": f.Tensor(shape=(2,), dtype=np.int32),
        "absent": f.Scalar(dtype=np.bool_),
        "annotated": f.Scalar(dtype=np.bool_),
        "description": f.Text(),
    })


def _load(data: np.ndarray | bytes | Path, what: str) -> tuple[np.ndarray, bytes | None]:
    """A frame as an image and, when it came encoded (a file or bytes), those bytes; a missing,
    truncated or undecodable frame is a DatasetError naming the file (or `what` for bytes)."""
    if isinstance(data, np.ndarray):
        return data, None
    raw = benchmarks.read_file(data) if isinstance(data, Path) else data
    return benchmarks.decode_image(raw, data if isinstance(data, Path) else what), raw


def _encode(image: np.ndarray, what: str) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise benchmarks.DatasetError(f"{what}: could not encode")
    return data.tobytes()


def _store(image: np.ndarray, raw: bytes | None, resolution: int | None, what: str) -> tuple[bytes, tuple[int, int]]:
    """JPEG bytes at the stored resolution and that resolution (h, w). Original-size JPEG frames
    are stored byte for byte (`raw`, already checked complete and decoded into `image`)."""
    if resolution is None:
        if raw is not None and raw.startswith(benchmarks.JPEG_SOI):
            return raw, image.shape[:2]
        return _encode(image, what), image.shape[:2]
    return _encode(cv2.resize(image, (resolution, resolution)), what), (resolution, resolution)


class TrackingBuilder(tfds.core.GeneratorBasedBuilder):
    """Base of every tracking dataset builder; subclasses list splits and videos."""

    VERSION = tfds.core.Version(VERSION)
    BUILDER_CONFIGS = _RESOLUTION_CONFIGS

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.__doc__,
            features=features(),
            disable_shuffling=True,
            metadata=tfds.core.MetadataDict(),
        )

    def split_names(self, source: Path | None) -> list[str]:
        """Splits this dataset has (may depend on what the source folder holds)."""
        raise NotImplementedError

    def videos(self, source: Path | None, split: str, warnings: benchmarks.Warnings) -> Iterator[FrameSource]:
        """The videos of one split."""
        raise NotImplementedError

    def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict[str, Any]:
        source = None
        if self.MANUAL_DOWNLOAD_INSTRUCTIONS:
            source = Path(dl_manager.manual_dir)
            if not source.is_dir():
                raise benchmarks.DatasetError(f"{source}: source folder not found")
        return {split: self._generate_examples(source, split) for split in self.split_names(source)}

    def _generate_examples(self, source: Path | None, split: str) -> Iterator[tuple[int, dict[str, Any]]]:
        resolution = self.builder_config.resolution
        warnings = benchmarks.Warnings()
        key = 0
        table: dict[str, list] = {"videos": [], "num_frames": [], "absent_frames": []}
        for video in self.videos(source, split, warnings):
            if video.num_frames < 1 or np.isnan(video.boxes[0]).any() or video.absent[0]:
                warnings.warn("video without a visible first-frame target", f"{video.name}: no visible target in the first frame; skipped")
                continue
            video_index = len(table["videos"])
            height, width = video.image_size
            source = video.load(0)
            first, first_raw = _load(source, f"{video.name} frame 1")
            target_crop = crop_box(first, video.boxes[0])
            if resolution is not None:
                target_crop = cv2.resize(target_crop, (resolution, resolution))
            target = _encode(target_crop, f"{video.name} target")
            for i in range(video.num_frames):
                if _STOP.is_set():
                    raise KeyboardInterrupt
                source = source if i == 0 else video.load(i)
                what = str(source) if isinstance(source, Path) else f"{video.name} frame {i + 1}"
                frame, raw = (first, first_raw) if i == 0 else _load(source, what)
                image, stored = _store(frame, raw, resolution, what)
                if stored != (height, width) and resolution is None:
                    raise benchmarks.DatasetError(f"{what}: size {stored} differs from the video's {(height, width)}")
                box = video.boxes[i].astype(np.float32)
                scale = np.array([stored[1] / width, stored[0] / height] * 2, np.float32)
                yield key, {
                    "video": video.name,
                    "video_index": video_index,
                    "frame_index": i,
                    "num_frames": video.num_frames,
                    "image": image,
                    "target": target if i == 0 else b"",
                    "box": box,
                    "box_stored": box * scale,
                    "image_size": np.array([height, width], np.int32),
                    "stored_size": np.array(stored, np.int32),
                    "absent": bool(video.absent[i]),
                    "annotated": bool(not np.isnan(box).any()),
                    "description": video.description,
                }
                key += 1
            table["videos"].append(video.name)
            table["num_frames"].append(int(video.num_frames))
            table["absent_frames"].append(int(video.absent.sum()))
        if not table["videos"]:
            raise benchmarks.DatasetError(f"split {split!r}: no usable videos")
        table["warnings"] = dict(warnings.counts)
        self.info.metadata[split] = table


def _from_benchmark(video: benchmarks.Video) -> FrameSource:
    return FrameSource(video.name, len(video), lambda i: video.frames[i], video.boxes,
                       video.absent, video.image_size, video.description)


class Got10k(TrackingBuilder):
    """GOT-10k (train/val/test): absence.label marks absent frames; test annotates frame 1 only."""

    name = "got10k"
    MANUAL_DOWNLOAD_INSTRUCTIONS = "--source: the GOT-10k root holding train/, val/ and/or test/."

    def split_names(self, source: Path | None) -> list[str]:
        splits = [s for s in ("train", "val", "test") if (source / s).is_dir()]
        if not splits:
            raise benchmarks.DatasetError(f"{source}: no train/, val/ or test/ folder")
        return splits

    def videos(self, source, split, warnings):
        for video in benchmarks.read_got10k(source, split, warnings):
            yield _from_benchmark(video)


class Lasot(TrackingBuilder):
    """LaSOT: full_occlusion.txt and out_of_view.txt mark absent frames."""

    name = "lasot"
    MANUAL_DOWNLOAD_INSTRUCTIONS = "--source: the LaSOT root (CATEGORY/CATEGORY-N/...), with testing_set.txt for train/test."

    def split_names(self, source: Path | None) -> list[str]:
        return ["train", "test"] if (source / "testing_set.txt").is_file() else ["full"]

    def videos(self, source, split, warnings):
        for video in benchmarks.read_lasot(source, "all" if split == "full" else split, warnings):
            yield _from_benchmark(video)


class Tnl2k(TrackingBuilder):
    """TNL2K: imgs/, groundtruth.txt and language.txt (kept as the description)."""

    name = "tnl2k"
    MANUAL_DOWNLOAD_INSTRUCTIONS = "--source: a TNL2K subset folder (NAME/imgs/, NAME/groundtruth.txt)."

    def split_names(self, source: Path | None) -> list[str]:
        return ["full"]

    def videos(self, source, split, warnings):
        for video in benchmarks.read_tnl2k(source, warnings):
            yield _from_benchmark(video)


class Otb(TrackingBuilder):
    """OTB (any subset): two-target sequences become NAME.1 / NAME.2; benchmark frame ranges."""

    name = "otb"
    MANUAL_DOWNLOAD_INSTRUCTIONS = "--source: a folder of OTB sequences (NAME/img/, NAME/groundtruth_rect.txt)."

    def split_names(self, source: Path | None) -> list[str]:
        return ["test"]

    def videos(self, source, split, warnings):
        for video in benchmarks.read_otb(source, warnings):
            yield _from_benchmark(video)


class SyntheticTracking(TrackingBuilder):
    """Synthetic hard cases (occlusion, out of view, jumps, distractors, scale, illumination)."""

    name = "synthetic_tracking"
    MANUAL_DOWNLOAD_INSTRUCTIONS = None
    BUILDER_CONFIGS = [
        TrackingConfig(name=preset, resolution=None, synthetic_preset=preset,
                       description=f"{spec.num_videos} videos of {spec.num_frames} frames, {spec.width}x{spec.height}")
        for preset, spec in synthetic.SYNTHETIC_PRESETS.items()
    ]

    def split_names(self, source: Path | None) -> list[str]:
        return ["train", "val"]

    def videos(self, source, split, warnings):
        spec = synthetic.SYNTHETIC_PRESETS[self.builder_config.synthetic_preset]
        count = spec.num_videos if split == "train" else max(2, spec.num_videos // 8)
        offset = 0 if split == "train" else 1_000_000  # held-out videos: other seeds
        for i in range(count):
            video = synthetic.make_video(spec, offset + i)
            frames = video["frames"]
            yield FrameSource(f"synthetic_{offset + i:07d}", len(frames), lambda t, f=frames: f[t],
                              video["boxes"].astype(np.float64), video["absent"], frames.shape[1:3],
                              ",".join(video["events"]))


BUILDERS: dict[str, type[TrackingBuilder]] = {
    cls.name: cls for cls in (Got10k, Lasot, Tnl2k, Otb, SyntheticTracking)
}


def get_builder(name: str, data_dir: str | Path, config: str | None = None) -> TrackingBuilder:
    """A builder by dataset name; `config` defaults to its first (r300, or tiny for synthetic)."""
    if name not in BUILDERS:
        raise KeyError(f"unknown dataset {name!r}; choose from {sorted(BUILDERS)}")
    cls = BUILDERS[name]
    names = [c.name for c in cls.BUILDER_CONFIGS]
    config = config or names[0]
    if config not in names:
        raise KeyError(f"dataset {name!r} has no config {config!r}; choose from {names}")
    return cls(data_dir=str(data_dir), config=config, file_format="array_record")


def build(name: str, data_dir: str | Path, source: str | Path | None = None, config: str | None = None) -> TrackingBuilder:
    """Build (or reuse) a dataset; raw benchmarks read from `source`. TFDS writes into a
    temporary folder renamed on success and removed on any error or Ctrl-C, so an interrupted
    build is never taken for a finished one (is_prepared) and a rerun builds from scratch."""
    builder = get_builder(name, data_dir, config)
    if builder.MANUAL_DOWNLOAD_INSTRUCTIONS and source is None:
        raise ValueError(f"{name} needs --source: {builder.MANUAL_DOWNLOAD_INSTRUCTIONS}")
    download_config = tfds.download.DownloadConfig(manual_dir=str(source)) if source else None
    with _stop_between_frames():
        builder.download_and_prepare(download_config=download_config)
    return builder


def stats(builder: TrackingBuilder) -> dict[str, Any]:
    """videos, frames and absent frames per split and in total."""
    per_split = {}
    for split, table in builder.info.metadata.items():
        per_split[split] = {
            "videos": len(table["videos"]),
            "frames": int(sum(table["num_frames"])),
            "absent_frames": int(sum(table["absent_frames"])),
        }
    total = {k: sum(s[k] for s in per_split.values()) for k in ("videos", "frames", "absent_frames")}
    return {**total, "splits": per_split}
