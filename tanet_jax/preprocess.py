"""The release's preprocessing: BGR uint8 -> cv2.resize (bilinear) -> float32 in [0, 1]."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from tanet_jax import geometry


def check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """An HxWx3 uint8 BGR image, or a clear error naming what was wrong."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name} must be an HxWx3 BGR image, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8 (as cv2.imread gives), got {image.dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"{name} is empty: shape {image.shape}")
    return image


def preprocess_frame(image: np.ndarray, size: int = 300) -> np.ndarray:
    """`cv2.resize(img, (size, size))` then /255, channel order kept (BGR), as the release."""
    image = check_image(image)
    return cv2.resize(image, (size, size)).astype(np.float32) / np.float32(255.0)


def crop_box(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """The release's target crop `img[int(y):int(y+h), int(x):int(x+w)]`, clipped to the image."""
    return geometry.crop_box(check_image(image), box)


def preprocess_target(image: np.ndarray, box: Sequence[float], size: int = 300) -> np.ndarray:
    """Target patch of the first frame, resized to the network input as the release does."""
    return preprocess_frame(crop_box(image, box), size)
