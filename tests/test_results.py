"""tanet_jax.evaluation.results: the one place result files are written, read and packaged."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from tanet_jax.evaluation import results


def test_boxes_round_trip_and_a_bad_line_names_the_file(tmp_path):
    boxes = np.array([[1.0, 2.5, 30.25, 40.0], [0.1234, -5.0, 7.0, 8.0]])
    results.write_boxes(tmp_path / "a.txt", boxes)
    np.testing.assert_allclose(results.read_boxes(tmp_path / "a.txt"), np.round(boxes, 3))
    (tmp_path / "b.txt").write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(ValueError, match="b.txt:2"):
        results.read_boxes(tmp_path / "b.txt")
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporary file


def test_a_tracker_folder_holds_one_configuration(tmp_path):
    folder = results.TrackerFolder(tmp_path, "local", {"config": {"joint": {"threshold": 0.3}}}, "abc123")
    assert folder.path.name == "local-abc123"
    folder.save("Seq", np.ones((3, 4)), np.ones(3), np.zeros(3, bool), 50.0, np.full(3, 0.02),
                init=np.array([1.0, 2.0, 3.0, 4.0]) / 3)
    loaded = folder.load("Seq")
    assert folder.has("Seq") and loaded["fps"] == 50.0
    assert loaded["init"] == (np.array([1.0, 2.0, 3.0, 4.0]) / 3).tolist()  # exact: tells starts apart
    assert json.loads((folder.path / "tracker.json").read_text())["config"]["joint"]["threshold"] == 0.3
    other = results.TrackerFolder(tmp_path, "local", {"config": {"joint": {"threshold": 0.5}}}, "def456")
    assert not other.has("Seq")  # another configuration never sees these results
    (folder.path / "tracker.json").write_text(json.dumps({"digest": "zzz"}))
    with pytest.raises(ValueError, match="another configuration"):
        results.TrackerFolder(tmp_path, "local", {}, "abc123")
    results.remove_results(folder, "Seq")
    assert not folder.has("Seq")


def test_got10k_package_layout(tmp_path):
    pkg = {"GOT-10k_Test_000001": (np.ones((4, 4)), np.full(4, 0.01)), "GOT-10k_Test_000002": (np.ones((2, 4)), np.full(2, 0.5))}
    path = results.write_got10k_package(tmp_path / "pkg", pkg, tmp_path / "ours.zip")
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == sorted(f"{n}/{n}_{s}.txt" for n in pkg for s in ("001", "time"))
        assert z.read("GOT-10k_Test_000002/GOT-10k_Test_000002_time.txt").decode().split() == ["0.50000000"] * 2
