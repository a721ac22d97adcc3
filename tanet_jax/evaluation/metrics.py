"""One-pass evaluation metrics with exactly the got10k toolkit's definitions.

- IoU of [x, y, w, h] boxes (optionally both bounded to the image first, as GOT-10k does).
- Centre error with the toolkit's centre convention, x + (w - 1) / 2.
- Success curve: fraction of frames with IoU > t for 21 thresholds t in [0, 1]; its mean is the
  success AUC. Precision curve: fraction with centre error <= t px, t = 0..50; the score is at 20 px.
- Normalised precision: centre error divided by the ground-truth box size, thresholds
  0..0.5 in 51 steps, score at 0.2 (LaSOT's definition).
- GOT-10k: AO (mean IoU) and SR at 0.5 and 0.75, over frames after the first where the target
  is visible.
"""

from __future__ import annotations

import numpy as np

NBINS_IOU = 21
NBINS_CE = 51
NBINS_NORM = 51


def rect_iou(boxes: np.ndarray, anno: np.ndarray, bound: tuple[float, float] | None = None) -> np.ndarray:
    """IoU per row of two (N, 4) [x, y, w, h] arrays; `bound` = (width, height) clips both."""
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


def centers(boxes: np.ndarray) -> np.ndarray:
    """The toolkit's box centre: x + (w - 1) / 2, y + (h - 1) / 2."""
    boxes = np.asarray(boxes, np.float64)
    return boxes[:, :2] + (boxes[:, 2:] - 1) / 2


def center_error(boxes: np.ndarray, anno: np.ndarray) -> np.ndarray:
    """Euclidean distance between centres, in pixels."""
    return np.sqrt(np.sum((centers(boxes) - centers(anno)) ** 2, axis=-1))


def normalized_center_error(boxes: np.ndarray, anno: np.ndarray) -> np.ndarray:
    """Centre offset divided by the ground-truth width and height."""
    anno = np.asarray(anno, np.float64)
    d = (centers(boxes) - centers(anno)) / np.maximum(anno[:, 2:], np.finfo(float).eps)
    return np.sqrt(np.sum(d**2, axis=-1))


def success_curve(ious: np.ndarray) -> np.ndarray:
    """Fraction of frames with IoU above each of 21 thresholds in [0, 1]."""
    thr = np.linspace(0, 1, NBINS_IOU)[None, :]
    return np.mean(np.asarray(ious, float)[:, None] > thr, axis=0)


def precision_curve(errors: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """Fraction of frames with centre error at most each threshold (default 0..50 px)."""
    thr = np.arange(0, NBINS_CE) if thresholds is None else thresholds
    return np.mean(np.asarray(errors, float)[:, None] <= thr[None, :], axis=0)


def sequence_metrics(boxes: np.ndarray, anno: np.ndarray, valid: np.ndarray | None = None,
                     image_size: tuple[int, int] | None = None, skip_first: bool = False) -> dict[str, float]:
    """All scores of one sequence. `valid` masks frames to score (visible, annotated);
    `image_size` (h, w) bounds boxes for AO/SR as GOT-10k does; `skip_first` drops the
    initialisation frame (GOT-10k)."""
    boxes = np.asarray(boxes, np.float64)
    anno = np.asarray(anno, np.float64)
    keep = np.ones(len(anno), bool) if valid is None else np.asarray(valid, bool).copy()
    keep &= ~np.isnan(anno).any(axis=1)
    if skip_first:
        keep[0] = False
    b, a = boxes[keep], anno[keep]
    if len(a) == 0:
        raise ValueError("no frame to score")
    ious = rect_iou(b, a)
    ce = center_error(b, a)
    norm = normalized_center_error(b, a)
    bound = None if image_size is None else (image_size[1], image_size[0])
    bounded = rect_iou(b, a, bound=bound)
    succ = success_curve(ious)
    return {
        "success_auc": float(np.mean(succ)),
        "precision": float(precision_curve(ce)[20]),
        "norm_precision": float(precision_curve(norm, np.linspace(0, 0.5, NBINS_NORM))[20]),
        "ao": float(np.mean(bounded)),
        "sr50": float(np.mean(bounded > 0.5)),
        "sr75": float(np.mean(bounded > 0.75)),
        "frames": int(len(a)),
    }
