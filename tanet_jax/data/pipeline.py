"""Training input pipeline: Grain over the TFDS array_record sources, resumable, sharded.

A training sample is the window of frames t-1 .. t+2 of one video (uint8, at the model's input
size), their ground-truth masks, the video's first-frame target patch, boxes and absence flags.
`tanet_jax.data.views.training_views` turns a batch of windows into exactly the release's inputs
(frame t, its mask, the target, the clip (t-1, t, t+1), and for the motion discriminator frames
t..t+2 with their masks and 2-frame clips) on the device, without copying frames on the host.

Order is a pure function of (seed, epoch, position): `shuffle` permutes all samples each epoch;
`release` permutes videos and keeps frames in order, as the release trained (batch 1, one video at
a time): with a global batch of B, each slot of the batch is its own stream of videos (the
shuffled videos dealt to the B streams, balanced by length), frames in order, so a batch holds B
different videos. Process p of P takes, at every step, its slice p of the global batch, so any
number of processes sees the same global batches. The Grain iterator's state (one position) is
all a checkpoint needs to resume every stream at its next sample.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator, Sequence

import cv2
import grain
import numpy as np

from tanet_jax.data.benchmarks import decode_image
from tanet_jax.geometry import box_mask

WINDOW = 4  # frames t-1, t, t+1, t+2


@dataclasses.dataclass(frozen=True)
class Augment:
    """Optional augmentations (off by default): horizontal flip, brightness/contrast jitter."""

    flip: bool = False
    color_jitter: float = 0.0


def decode_jpeg(data: bytes, size: int, what: str) -> np.ndarray:
    """JPEG bytes -> uint8 BGR at size x size (cv2.resize, bilinear, as the release); truncated or
    undecodable bytes are a DatasetError (a ValueError) naming `what`."""
    image = decode_image(data, f"{what} (stored in the dataset)")
    if image.shape[:2] != (size, size):
        image = cv2.resize(image, (size, size))
    return image


class VideoTable:
    """Where each video's records are, and which frames can centre a training window."""

    def __init__(self, num_frames: Sequence[int], names: Sequence[str] = ()) -> None:
        self.num_frames = np.asarray(num_frames, np.int64)
        self.names = list(names)
        self.starts = np.concatenate([[0], np.cumsum(self.num_frames)[:-1]]).astype(np.int64)
        counts = np.maximum(self.num_frames - (WINDOW - 1), 0)  # t = 1 .. n-3
        self.sample_counts = counts
        self.sample_starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.sample_video = np.repeat(np.arange(len(counts)), counts)
        self.sample_t = np.concatenate([np.arange(1, 1 + c) for c in counts]) if counts.sum() else np.zeros(0, np.int64)

    @classmethod
    def from_metadata(cls, table: dict[str, Any]) -> "VideoTable":
        """The table a builder stored for one split."""
        return cls(table["num_frames"], table["videos"])

    def __len__(self) -> int:
        return int(len(self.sample_video))


def release_streams(table: VideoTable, seed: int, epoch: int, batch: int) -> list[list[int]]:
    """The release's order for a batch of `batch` streams: videos shuffled (seeded by epoch),
    each dealt to the stream with the fewest windows so far; every stream keeps its videos'
    frames in order."""
    rng = np.random.default_rng([seed, epoch])
    videos = rng.permutation(len(table.sample_counts))
    if batch == 1:
        return [[int(v) for v in videos]]
    videos = [int(v) for v in videos if table.sample_counts[v] > 0]
    if len(videos) < batch:
        raise ValueError(f"order 'release' with a global batch of {batch} needs at least {batch} videos "
                         f"(one stream each); this split has {len(videos)}")
    streams: list[list[int]] = [[] for _ in range(batch)]
    loads = np.zeros(batch, np.int64)
    for v in videos:
        b = int(np.argmin(loads))
        streams[b].append(v)
        loads[b] += table.sample_counts[v]
    return streams


def _stream_samples(table: VideoTable, videos: list[int]) -> np.ndarray:
    if not videos:
        return np.zeros(0, np.int64)
    return np.concatenate(
        [np.arange(table.sample_starts[v], table.sample_starts[v] + table.sample_counts[v]) for v in videos]
    ).astype(np.int64)


def epoch_order(table: VideoTable, order: str, seed: int, epoch: int, batch: int = 1,
                steps: int | None = None) -> np.ndarray:
    """Sample indices of one epoch, position `step * batch + slot`: a permutation of all
    samples, or the release's order (slot b follows stream b, see `release_streams`), cut to
    `steps` batches when given (release: else the shortest stream's length)."""
    if order == "shuffle":
        return np.random.default_rng([seed, epoch]).permutation(len(table))
    if order == "release":
        streams = [_stream_samples(table, videos) for videos in release_streams(table, seed, epoch, batch)]
        n = min(len(x) for x in streams) if steps is None else steps
        return np.stack([x[:n] for x in streams], axis=1).reshape(-1)
    if order == "sequential":
        return np.arange(len(table))
    raise ValueError(f"order must be 'shuffle', 'release' or 'sequential', got {order!r}")


def release_steps(table: VideoTable, seed: int, num_epochs: int, batch: int) -> int:
    """Batches per epoch in the release's order: the shortest stream over all epochs (streams
    differ in length by less than one video, the rest of the longer ones is left out that epoch)."""
    return min(
        min(int(sum(table.sample_counts[v] for v in videos)) for videos in release_streams(table, seed, e, batch))
        for e in range(max(num_epochs, 1))
    )


def eval_samples(table: VideoTable, n: int, seed: int = 0) -> np.ndarray:
    """`n` windows spread over all videos (seeded, the same each time): videos in a seeded order,
    taken in turn, each giving its next window from a seeded permutation of its own."""
    rng = np.random.default_rng([seed, 1234])
    videos = [int(v) for v in rng.permutation(len(table.sample_counts)) if table.sample_counts[v] > 0]
    if not videos:
        return np.zeros(0, np.int64)
    perms = {v: table.sample_starts[v] + rng.permutation(int(table.sample_counts[v])) for v in videos}
    n = min(n, len(table))
    out, rounds = [], 0
    while len(out) < n:
        for v in videos:
            if rounds < len(perms[v]) and len(out) < n:
                out.append(int(perms[v][rounds]))
        rounds += 1
    return np.asarray(out, np.int64)


class TrainingWindows:
    """Random access to this process's samples, in global-batch order, over `num_epochs`."""

    def __init__(
        self,
        records: Sequence[dict[str, Any]],
        table: VideoTable,
        input_size: int,
        global_batch: int,
        *,
        order: str = "shuffle",
        seed: int = 0,
        num_epochs: int = 1,
        process_index: int = 0,
        process_count: int = 1,
        augment: Augment = Augment(),
    ) -> None:
        if global_batch % process_count:
            raise ValueError(f"global batch {global_batch} is not divisible by {process_count} processes")
        if len(table) < global_batch:
            raise ValueError(f"{len(table)} training windows cannot fill one global batch of {global_batch}")
        self.records, self.table, self.size = records, table, input_size
        self.global_batch, self.local_batch = global_batch, global_batch // process_count
        self.order, self.seed, self.num_epochs = order, seed, num_epochs
        self.process_index, self.augment = process_index, augment
        epoch_order(table, order, seed, 0, 1)  # validate the order name early
        if order == "release":
            self.steps_per_epoch = release_steps(table, seed, num_epochs, global_batch)
        else:
            self.steps_per_epoch = len(table) // global_batch
        self._cached: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return self.num_epochs * self.steps_per_epoch * self.local_batch

    def global_position(self, index: int) -> tuple[int, int]:
        """(epoch, position within that epoch's order) of this process's `index`-th sample."""
        step, r = divmod(index, self.local_batch)
        epoch, step_in_epoch = divmod(step, self.steps_per_epoch)
        return epoch, step_in_epoch * self.global_batch + self.process_index * self.local_batch + r

    def sample_index(self, index: int) -> int:
        """Which training window the `index`-th sample of this process is."""
        epoch, position = self.global_position(index)
        if self._cached is None or self._cached[0] != epoch:
            self._cached = (epoch, epoch_order(self.table, self.order, self.seed, epoch, self.global_batch,
                                               self.steps_per_epoch))
        return int(self._cached[1][position])

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        epoch, position = self.global_position(index)
        sample = self.window(self.sample_index(index))
        if self.augment.flip or self.augment.color_jitter:
            _augment(sample, self.augment, np.random.default_rng([self.seed, epoch, position, 7]))
        return sample

    def window(self, sample: int) -> dict[str, np.ndarray]:
        """Frames t-1..t+2 of the sample's video, masks, target patch, boxes and flags."""
        video = int(self.table.sample_video[sample])
        t = int(self.table.sample_t[sample])
        start = int(self.table.starts[video])
        s = self.size
        frames = np.empty((WINDOW, s, s, 3), np.uint8)
        masks = np.empty((WINDOW, s, s), np.uint8)
        boxes = np.empty((WINDOW, 4), np.float32)
        absent = np.empty(WINDOW, bool)
        for k in range(WINDOW):
            rec = self.records[start + t - 1 + k]
            what = f"{_text(rec['video'])} frame {int(rec['frame_index']) + 1}"
            frames[k] = decode_jpeg(rec["image"], s, what)
            sh, sw = (int(v) for v in rec["stored_size"])
            box = rec["box_stored"] * np.array([s / sw, s / sh, s / sw, s / sh], np.float32)
            absent[k] = bool(rec["absent"]) or bool(np.isnan(box).any())
            boxes[k] = np.nan if absent[k] else box
            masks[k] = box_mask(boxes[k], s, s)
        first = self.records[start]
        target = decode_jpeg(first["target"], s, f"{_text(first['video'])} target")
        return {
            "frames": frames,
            "masks": masks,
            "target": target,
            "boxes": boxes,
            "absent": absent,
            "video_index": np.int32(video),
            "frame_index": np.int32(t),
        }


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _augment(sample: dict[str, np.ndarray], augment: Augment, rng: np.random.Generator) -> None:
    """In place: the same flip and colour change for every frame and the target."""
    if augment.flip and rng.random() < 0.5:
        s = sample["frames"].shape[2]
        sample["frames"] = np.ascontiguousarray(sample["frames"][:, :, ::-1])
        sample["masks"] = np.ascontiguousarray(sample["masks"][:, :, ::-1])
        sample["target"] = np.ascontiguousarray(sample["target"][:, ::-1])
        b = sample["boxes"]
        b[:, 0] = s - b[:, 0] - b[:, 2]
    if augment.color_jitter:
        j = augment.color_jitter
        brightness, contrast = rng.uniform(1 - j, 1 + j, 2)
        for key in ("frames", "target"):
            x = sample[key].astype(np.float32)
            x = (x - x.mean()) * contrast + x.mean() * brightness
            sample[key] = np.clip(np.rint(x), 0, 255).astype(np.uint8)


class WindowBatches:
    """Index k -> this process's k-th batch, stacked (devices, B / devices, ...) for data-parallel
    steps. Batching inside the source makes a batch's content independent of the worker count."""

    def __init__(self, windows: TrainingWindows, local_devices: int = 1) -> None:
        if windows.local_batch % local_devices:
            raise ValueError(f"per-process batch {windows.local_batch} is not divisible by {local_devices} devices")
        self.windows, self.devices = windows, local_devices

    def __len__(self) -> int:
        return len(self.windows) // self.windows.local_batch

    def __repr__(self) -> str:
        """Grain compares this on restore: a state only resumes the stream it came from."""
        w = self.windows
        return (f"WindowBatches(windows={len(w.table)}, videos={len(w.table.num_frames)}, size={w.size}, "
                f"global_batch={w.global_batch}, process={w.process_index}/{w.global_batch // w.local_batch}, "
                f"devices={self.devices}, order={w.order}, seed={w.seed}, epochs={w.num_epochs}, "
                f"augment={w.augment})")

    def __getitem__(self, step: int) -> dict[str, np.ndarray]:
        b = self.windows.local_batch
        samples = [self.windows[step * b + i] for i in range(b)]
        return {
            k: np.stack([s[k] for s in samples]).reshape(self.devices, b // self.devices, *np.shape(samples[0][k]))
            for k in samples[0]
        }


def make_loader(
    windows: TrainingWindows, local_devices: int = 1, worker_count: int = 0, threads: int = 2,
    prefetch: int = 4,
) -> grain.DataLoader:
    """Batches of this process's slice of each global batch, with a leading device axis.

    `threads` decode batches in parallel in this process (OpenCV releases the GIL);
    `worker_count` > 0 uses Grain's worker processes instead. Either way the stream of batches
    is the same, and so is the iterator state that resumes it.
    """
    batches = WindowBatches(windows, local_devices)
    if worker_count:
        _absl_flags_ready()
    return grain.DataLoader(
        data_source=batches,
        sampler=grain.samplers.SequentialSampler(len(batches)),
        worker_count=worker_count,
        read_options=grain.ReadOptions(num_threads=max(threads, 1), prefetch_buffer_size=prefetch),
    )


def _absl_flags_ready() -> None:
    """Grain's worker processes read absl flags; outside an absl app they were never parsed."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


def open_split(name: str, data_dir: str, split: str, config: str | None = None) -> tuple[Sequence[dict[str, Any]], VideoTable]:
    """The records and video table of a built dataset split (clear error if not built)."""
    from tanet_jax.data.builders import get_builder

    builder = get_builder(name, data_dir, config)
    if not builder.is_prepared():
        raise FileNotFoundError(
            f"{name}/{builder.builder_config.name} is not built under {data_dir}: "
            f"run python -m tanet_jax.data build {name} --data-dir {data_dir}"
        )
    if split not in builder.info.metadata:
        raise KeyError(f"{name} has no split {split!r}; it has {sorted(builder.info.metadata)}")
    return builder.as_data_source(split), VideoTable.from_metadata(builder.info.metadata[split])


def iterate_batches(loader: grain.DataLoader, state: bytes | None = None) -> Iterator[dict[str, np.ndarray]]:
    """An iterator over the loader, restored to `state` when given."""
    iterator = iter(loader)
    if state is not None:
        iterator.set_state(state)
    return iterator
