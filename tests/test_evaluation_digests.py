"""What keys cached results: a checkpoint's digest covers its content (arrays and model config),
not orbax's files, and the source digest covers the whole package, so a model-code change
gives tanet results (and every other tracker's) a new folder that is tracked afresh."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import otb_root

from tanet_jax import evaluate as evaluate_cli
from tanet_jax.evaluation import tracker_spec
from tanet_jax.evaluation.tracker_spec import TrackerSpec, checkpoint_sha256, load_config
from tanet_jax.models.model_config import get_preset
from tanet_jax.weights import CheckpointError, save_model

TINY = get_preset("tiny")


def variables(scale: float = 1.0) -> dict:
    """Small stand-in variables: the digest reads arrays, it never builds the model."""
    return {"params": {"conv": {"kernel": scale * np.arange(12, dtype=np.float32).reshape(3, 4),
                                "bias": np.zeros(4, np.float32)}},
            "batch_stats": {"bn": {"mean": np.ones(3, np.float32)}}}


def test_two_saves_of_the_same_weights_have_one_digest_and_a_changed_weight_another(tmp_path):
    save_model(tmp_path / "a", variables(), kind="generator", config=TINY, extra={"source": "first.pth"})
    save_model(tmp_path / "b", variables(), kind="generator", config=TINY, extra={"source": "second.pth", "step": 7})
    assert checkpoint_sha256(tmp_path / "a") == checkpoint_sha256(tmp_path / "b")  # orbax's timestamps aside
    changed = variables()
    changed["params"]["conv"]["bias"][2] = 1e-6
    save_model(tmp_path / "c", changed, kind="generator", config=TINY)
    assert checkpoint_sha256(tmp_path / "c") != checkpoint_sha256(tmp_path / "a")
    save_model(tmp_path / "d", variables(), kind="generator", config=get_preset("small"))
    assert checkpoint_sha256(tmp_path / "d") != checkpoint_sha256(tmp_path / "a")  # the model config counts
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        checkpoint_sha256(tmp_path / "none")
    spec = TrackerSpec.create(load_config(None), "tanet", str(tmp_path / "a"))
    again = TrackerSpec.create(load_config(None), "tanet", str(tmp_path / "b"))
    assert spec.digest() == again.digest()  # same content elsewhere: its results are reused


@pytest.fixture
def package_copy(tmp_path, monkeypatch) -> Path:
    """The source digest pointed at a copy of the package, to edit without touching the real one."""
    copy = tmp_path / "pkg" / "tanet_jax"
    shutil.copytree(tracker_spec.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(tracker_spec, "PACKAGE", copy)
    return copy


def test_a_model_code_change_changes_the_tanet_key(tmp_path, package_copy):
    save_model(tmp_path / "ckpt", variables(), kind="generator", config=TINY)
    def key() -> str:
        return TrackerSpec.create(load_config(None), "tanet", str(tmp_path / "ckpt")).digest()

    before = key()
    assert key() == before
    model = next(package_copy.glob("models/*.py"))
    model.write_text(model.read_text() + "\n# another model\n")
    after_model = key()
    assert after_model != before
    spec = TrackerSpec.create(load_config(None), "tanet", str(tmp_path / "ckpt"))
    assert spec.record()["tracker_code_sha256"] == tracker_spec.tracker_code_digest()
    made = spec.digest()
    table = package_copy / "data" / "tables" / "otb_attributes.json"
    table.write_text(table.read_text() + "\n")
    assert key() != after_model  # the data tables the readers use count too
    assert spec.digest() == made  # taken once, when the spec is made: every tracker of one run shares it


def test_a_code_change_tracks_again_into_a_new_folder(tmp_path, package_copy, capsys):
    root, out = otb_root(tmp_path / "otb", ("Alpha",), (10,)), tmp_path / "res"
    args = ["--dataset", "otb", "--root", str(root), "--attention", "groundtruth", "--out", str(out), "--no-timelines"]
    assert evaluate_cli.main(args + ["--trackers", "local,joint"]) == 0
    first = json.loads((out / "report.json").read_text())["trackers"]["joint-groundtruth"]
    (Path(first["results"]) / "Alpha.txt").write_text("1,1,1,1\n" * 10)  # would be read if it were reused
    preprocess = package_copy / "preprocess.py"
    preprocess.write_text(preprocess.read_text() + "\n# another preprocessing\n")
    assert evaluate_cli.main(args + ["--trackers", "joint"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert list(report["trackers"]) == ["joint-groundtruth"]  # local's entry came from the other code
    assert "local left out: tracked by other code" in capsys.readouterr().err
    second = report["trackers"]["joint-groundtruth"]
    assert second["results"] != first["results"] and second["per_sequence"] == {
        k: v | {"fps": second["per_sequence"][k]["fps"]} for k, v in first["per_sequence"].items()}
