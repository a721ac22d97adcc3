"""tanet_jax.geometry: the one implementation of box centres, masks, crops and overlaps."""

from __future__ import annotations

import numpy as np
import pytest

from tanet_jax import geometry


def test_center_and_box_from_center_are_inverse_and_differ_from_the_toolkit_centre():
    box = np.array([10.0, 20.0, 30.0, 40.0])
    np.testing.assert_allclose(geometry.box_center(box), [25.0, 40.0])
    np.testing.assert_allclose(geometry.box_from_center(geometry.box_center(box), box[2:]), box)
    np.testing.assert_allclose(geometry.toolkit_centers(box[None]), [[24.5, 39.5]])  # x + (w - 1) / 2


def test_mask_and_crop_share_the_release_integer_extent():
    image = np.arange(10 * 12 * 3, dtype=np.uint8).reshape(10, 12, 3)
    box = [3.7, 2.2, 4.9, 3.1]  # int(3.7)=3 .. int(8.6)=8, int(2.2)=2 .. int(5.3)=5
    mask = geometry.box_mask(np.array(box), 10, 12)
    assert mask.sum() == 5 * 3 and mask[2:5, 3:8].all()
    np.testing.assert_array_equal(geometry.crop_box(image, box), image[2:5, 3:8])
    assert geometry.box_mask(np.array([-5.0, 8.0, 10.0, 10.0]), 10, 12).sum() == 5 * 2  # clipped
    assert geometry.box_mask(np.full(4, np.nan), 10, 12).sum() == 0
    with pytest.raises(ValueError, match="outside"):
        geometry.crop_box(image, [50, 50, 5, 5])
    with pytest.raises(ValueError, match="zero or negative"):
        geometry.crop_box(image, [1, 1, 0, 5])


def test_iou_bound_and_centre_errors():
    a = np.array([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
    b = np.array([[5.0, 0.0, 10.0, 10.0], [-10.0, 0.0, 20.0, 10.0]])
    np.testing.assert_allclose(geometry.rect_iou(a, b), [50 / 150, 100 / 200])
    # clipped to a 10-pixel-wide image, the second box is the first
    np.testing.assert_allclose(geometry.rect_iou(a, b, bound=(10, 10))[1], 1.0)
    np.testing.assert_allclose(geometry.center_error(a, b), [5.0, 5.0])
    np.testing.assert_allclose(geometry.normalized_center_error(a, b), [0.5, 0.25])  # by the ground-truth size


def test_region_inside_marks_exactly_the_pixels_resample_region_takes_from_the_frame():
    """A horizontal ramp (value = x + 10): inside pixels carry their own x, border-replicated ones the edge's."""
    w, h, out = 200, 100, 60
    frame = np.repeat(np.repeat((np.arange(w) + 10).astype(np.uint8)[None, :, None], h, 0), 3, 2)
    for centre in (np.array([10.3, 50.0]), np.array([190.6, 50.0])):  # half out on the left, then the right
        size = np.array([60.0, 60.0])
        patch = geometry.resample_region(frame, centre, size, out)[..., 0] * 255
        inside = geometry.region_inside(centre, size, out, (w, h))
        xs = centre[0] + (np.arange(out) / out - 0.5) * size[0]  # where each patch column samples
        own = np.abs(patch - (xs + 10)[None, :]) < 0.5  # the pixel carries its own x: not replicated
        assert inside.shape == (out, out) and 0 < inside.sum() < out * out
        np.testing.assert_array_equal(inside.astype(bool), own)
