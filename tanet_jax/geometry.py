"""Box geometry in one place: centres, boxes from centres, the release's integer pixel extent,
box masks, crops (exact and resampled), boxes at the frame's edge, IoU and centre errors.
Boxes are [x, y, w, h] in pixels."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np


def box_center(box: Sequence[float]) -> np.ndarray:
    """(cx, cy) of an [x, y, w, h] box: x + w / 2 (the continuous centre the trackers use)."""
    x, y, w, h = box
    return np.array([x + w / 2.0, y + h / 2.0])


def box_from_center(center: Sequence[float], size: Sequence[float]) -> np.ndarray:
    """[x, y, w, h] from a centre (x, y) and a size (w, h); inverse of `box_center`."""
    return np.array([center[0] - size[0] / 2.0, center[1] - size[1] / 2.0, size[0], size[1]], np.float64)


def resample_region(frame: np.ndarray, center: Sequence[float], size: Sequence[float], out: int) -> np.ndarray:
    """The region (centre, size) resized to out x out (bilinear, border replicated), float [0, 1]."""
    sx, sy = out / max(size[0], 1e-3), out / max(size[1], 1e-3)
    m = np.array([[sx, 0, out / 2 - sx * center[0]], [0, sy, out / 2 - sy * center[1]]], np.float64)
    patch = cv2.warpAffine(frame, m, (out, out), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return patch.astype(np.float32) / 255.0


def region_inside(center: Sequence[float], size: Sequence[float], out: int, frame_size: tuple[int, int]) -> np.ndarray:
    """(out, out) mask of `resample_region`'s pixels that sample inside the frame, so a model never
    learns border-replicated pixels as the target (its output pixel u samples x = cx + (u/out - 1/2) w)."""
    r = np.arange(out) / out - 0.5
    xs = center[0] + r * size[0]
    ys = center[1] + r * size[1]
    inside_x = (xs >= 0) & (xs <= frame_size[0] - 1)
    inside_y = (ys >= 0) & (ys <= frame_size[1] - 1)
    return np.outer(inside_y, inside_x).astype(np.float32)


def jitter_box(box: Sequence[float], seed: int, amount: float) -> np.ndarray:
    """Seed 0: the box; seed j > 0: its centre and size moved by up to `amount` of its size, so a
    tracker can be scored from several nearby starts (one start of a chaotic tracker is noisy)."""
    box = np.asarray(box, np.float64)
    if seed == 0:
        return box
    u = np.random.default_rng(seed).uniform(-amount, amount, 4)
    size = box[2:] * (1 + u[2:])
    center = box[:2] + box[2:] / 2 + u[:2] * box[2:]
    return np.concatenate([center - size / 2, size])


def keep_inside(box: np.ndarray, width: int, height: int) -> np.ndarray:
    """The box moved so that its centre lies inside the frame (its size kept)."""
    c = np.clip(box_center(box), [0.0, 0.0], [float(width), float(height)])
    return np.array([c[0] - box[2] / 2, c[1] - box[3] / 2, box[2], box[3]])


def outside_fraction(box: np.ndarray, width: int, height: int) -> float:
    """The fraction of the box's area that lies outside the frame."""
    x0, y0 = max(box[0], 0.0), max(box[1], 0.0)
    x1, y1 = min(box[0] + box[2], float(width)), min(box[1] + box[3], float(height))
    inside = max(x1 - x0, 0.0) * max(y1 - y0, 0.0)
    return 1.0 - inside / max(box[2] * box[3], 1e-9)


def toolkit_centers(boxes: np.ndarray) -> np.ndarray:
    """The benchmark toolkits' centre of each row: x + (w - 1) / 2, y + (h - 1) / 2 (1-pixel convention)."""
    boxes = np.asarray(boxes, np.float64)
    return boxes[..., :2] + (boxes[..., 2:] - 1) / 2


def pixel_extent(box: Sequence[float], height: int, width: int) -> tuple[int, int, int, int] | None:
    """The release's integer-truncated box extent (y0, y1, x0, x1) clipped to the image; None if empty."""
    x, y, w, h = (float(v) for v in box)
    y0, y1 = max(int(y), 0), min(int(y + h), height)
    x0, x1 = max(int(x), 0), min(int(x + w), width)
    return (y0, y1, x0, x1) if y1 > y0 and x1 > x0 else None


def box_mask(box: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 mask, 1 inside the box's pixel extent (clipped); all zeros for a NaN or empty box."""
    mask = np.zeros((height, width), np.uint8)
    if np.isnan(np.asarray(box, np.float64)).any():
        return mask
    extent = pixel_extent(box, height, width)
    if extent is not None:
        y0, y1, x0, x1 = extent
        mask[y0:y1, x0:x1] = 1
    return mask


def crop_box(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """The release's target crop `img[int(y):int(y+h), int(x):int(x+w)]`, clipped to the image."""
    if len(box) != 4:
        raise ValueError(f"box must be [x, y, w, h], got {list(box)}")
    x, y, w, h = (float(v) for v in box)
    if not (w > 0 and h > 0) or not all(np.isfinite([x, y, w, h])):
        raise ValueError(f"box {list(box)} has zero or negative size (or is not finite)")
    height, width = image.shape[:2]
    extent = pixel_extent(box, height, width)
    if extent is None:
        raise ValueError(f"box {list(box)} lies outside the {width}x{height} image")
    y0, y1, x0, x1 = extent
    return image[y0:y1, x0:x1]


def rect_iou(boxes: np.ndarray, anno: np.ndarray, bound: tuple[float, float] | None = None) -> np.ndarray:
    """IoU per row of two (N, 4) arrays, as the got10k toolkit computes it; `bound` = (width,
    height) clips both boxes to the image first (GOT-10k's rule)."""
    a = np.array(boxes, np.float64, copy=True)
    b = np.array(anno, np.float64, copy=True)
    if a.shape != b.shape:
        raise ValueError(f"{a.shape} boxes against {b.shape} annotations")
    if bound is not None:
        for r in (a, b):
            r[:, 0] = np.clip(r[:, 0], 0, bound[0])
            r[:, 1] = np.clip(r[:, 1], 0, bound[1])
            r[:, 2] = np.clip(r[:, 2], 0, bound[0] - r[:, 0])
            r[:, 3] = np.clip(r[:, 3], 0, bound[1] - r[:, 1])
    x1 = np.maximum(a[:, 0], b[:, 0])
    y1 = np.maximum(a[:, 1], b[:, 1])
    x2 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y2 = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)


def center_error(boxes: np.ndarray, anno: np.ndarray) -> np.ndarray:
    """Euclidean distance between the toolkit centres, in pixels."""
    return np.sqrt(np.sum((toolkit_centers(boxes) - toolkit_centers(anno)) ** 2, axis=-1))


def normalized_center_error(boxes: np.ndarray, anno: np.ndarray) -> np.ndarray:
    """Centre offset in units of the ground-truth width and height (LaSOT's normalised error)."""
    anno = np.asarray(anno, np.float64)
    d = (toolkit_centers(boxes) - toolkit_centers(anno)) / np.maximum(anno[:, 2:], np.finfo(float).eps)
    return np.sqrt(np.sum(d**2, axis=-1))
