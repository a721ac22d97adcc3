"""Our metrics against the got10k toolkit's own functions on the same boxes."""

from __future__ import annotations

import types

import numpy as np
import pytest

from tanet_jax.evaluation import metrics

toolkit_metrics = pytest.importorskip("got10k.utils.metrics")
from got10k.experiments.got10k import ExperimentGOT10k  # noqa: E402
from got10k.experiments.otb import ExperimentOTB  # noqa: E402


def random_boxes(rng, n, w=320, h=240):
    anno = np.stack([rng.uniform(-20, w, n), rng.uniform(-20, h, n), rng.uniform(1, 80, n), rng.uniform(1, 80, n)], 1)
    boxes = anno + rng.normal(0, 15, anno.shape)
    boxes[:, 2:] = np.abs(boxes[:, 2:]) + 0.5
    boxes[::7] = anno[::7]  # exact hits
    boxes[3::11] += 500  # misses
    return boxes, anno


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_iou_center_error_and_curves_equal_the_toolkit(seed):
    rng = np.random.default_rng(seed)
    boxes, anno = random_boxes(rng, 300)
    ious = metrics.rect_iou(boxes, anno)
    np.testing.assert_allclose(ious, toolkit_metrics.rect_iou(boxes.copy(), anno.copy()), rtol=0, atol=1e-12)
    np.testing.assert_allclose(metrics.center_error(boxes, anno), toolkit_metrics.center_error(boxes, anno), atol=1e-12)
    otb = types.SimpleNamespace(nbins_iou=21, nbins_ce=51)
    succ, prec = ExperimentOTB._calc_curves(otb, ious, metrics.center_error(boxes, anno))
    np.testing.assert_array_equal(metrics.success_curve(ious), succ)
    np.testing.assert_array_equal(metrics.precision_curve(metrics.center_error(boxes, anno)), prec)
    scores = metrics.sequence_metrics(boxes, anno)
    assert scores["success_auc"] == pytest.approx(float(np.mean(succ)), abs=1e-12)
    assert scores["precision"] == pytest.approx(float(prec[20]), abs=1e-12)


def test_got10k_ao_and_sr_equal_the_toolkit():
    rng = np.random.default_rng(5)
    boxes, anno = random_boxes(rng, 120)
    cover = rng.integers(0, 9, 120)
    bound = (320, 240)
    ious = toolkit_metrics.rect_iou(boxes[1:].copy(), anno[1:].copy(), bound=bound)[cover[1:] > 0]
    g = types.SimpleNamespace(nbins_iou=101)
    ao, sr, _, _ = ExperimentGOT10k._evaluate(g, ious, np.ones(10))
    ours = metrics.sequence_metrics(boxes, anno, valid=cover > 0, image_size=(240, 320), skip_first=True)
    assert ours["ao"] == pytest.approx(float(ao), abs=1e-12)
    assert ours["sr50"] == pytest.approx(float(sr), abs=1e-12)
    assert ours["sr75"] == pytest.approx(float(np.mean(ious > 0.75)), abs=1e-12)
    assert ours["frames"] == int((cover[1:] > 0).sum())


def test_normalized_precision_by_hand():
    anno = np.array([[10.0, 10.0, 20.0, 10.0]] * 4)
    boxes = anno.copy()
    boxes[1, 0] += 2.0  # 0.1 of the width: inside 0.2
    boxes[2, 0] += 6.0  # 0.3 of the width: outside
    boxes[3, 1] += 3.0  # 0.3 of the height: outside
    assert metrics.sequence_metrics(boxes, anno)["norm_precision"] == pytest.approx(0.5)


def test_unannotated_frames_are_skipped():
    anno = np.array([[0, 0, 10, 10], [np.nan] * 4, [0, 0, 10, 10]], float)
    boxes = np.array([[0, 0, 10, 10], [50, 50, 5, 5], [0, 0, 10, 10]], float)
    scores = metrics.sequence_metrics(boxes, anno)
    assert scores["frames"] == 2 and scores["success_auc"] == pytest.approx(20 / 21)
