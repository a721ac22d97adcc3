"""The converter: kinds, prefixes, file formats, safety, and every error case."""

from __future__ import annotations

import collections
import pickle
import re
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tanet_jax import torch_reference as R  # noqa: E402
from tanet_jax.torch_reference import nchw, ncthw  # noqa: E402
from tanet_jax import convert  # noqa: E402
from tanet_jax.weights import load_model, read_meta  # noqa: E402
from tanet_jax.models.model_config import get_preset  # noqa: E402
from tanet_jax.convert import ConversionError, convert_state_dict  # noqa: E402
from tanet_jax.inference import AttentionPredictor  # noqa: E402

TINY = get_preset("tiny")


@pytest.fixture(scope="module")
def generator_sd():
    return R.randomize_(R.TANetGenerator(TINY), 0).state_dict()


def test_detects_every_kind(generator_sd):
    assert convert.detect_kind(generator_sd) == "generator"
    assert convert.detect_kind(R.ResNet18(TINY).state_dict()) == "resnet18"
    c3d = {k.split(".", 1)[1]: v for k, v in generator_sd.items() if k.startswith("motionModel.")}
    assert convert.detect_kind(c3d) == "c3d"
    assert convert.detect_kind(R.AppearanceD(TINY).state_dict()) == "appearance_discriminator"
    assert convert.detect_kind(R.MotionD(TINY).state_dict()) == "motion_discriminator"
    with pytest.raises(ConversionError, match="pass --kind"):
        convert.detect_kind({"foo.weight": 1})


def test_resnet18_and_c3d_initialisations_land_in_generator_layout(generator_sd):
    resnet = {k[len("encoder."):]: v for k, v in generator_sd.items() if k.startswith("encoder.")}
    res = convert_state_dict(resnet, TINY)
    assert set(res.variables["params"]) == {"encoder"} and set(res.variables["batch_stats"]) == {"encoder"}
    assert set(res.skipped) >= {"fc.weight", "fc.bias"}
    np.testing.assert_array_equal(
        res.variables["params"]["encoder"]["conv1"]["kernel"],
        resnet["conv1.weight"].numpy().transpose(2, 3, 1, 0),
    )
    c3d = {k[len("motionModel."):]: v for k, v in generator_sd.items() if k.startswith("motionModel.")}
    res = convert_state_dict(c3d, TINY)
    assert set(res.variables) == {"params"} and set(res.variables["params"]) == {"motion"}
    assert {"fc6.weight", "fc7.bias", "fc8.weight"} <= set(res.skipped)
    np.testing.assert_array_equal(
        res.variables["params"]["motion"]["conv3a"]["kernel"],
        c3d["conv3a.weight"].numpy().transpose(2, 3, 4, 1, 0),
    )


def test_dead_fc_layers_are_reported_as_skipped(generator_sd):
    res = convert_state_dict(generator_sd, TINY)
    report = res.report()
    assert "motionModel.fc6.weight" in res.skipped and "encoder.fc.bias" in res.skipped
    assert "C3D fc layers, unused by the release" in report
    assert len(res.converted) + len(res.skipped) == len(generator_sd)


def test_all_problems_reported_in_one_error(generator_sd):
    sd = collections.OrderedDict(generator_sd)
    del sd["decoder.0.weight"]
    del sd["encoder.layer3.1.bn2.running_var"]
    sd["decoder.99.weight"] = torch.zeros(3)
    sd["mymodules.0.weight"] = torch.zeros(2, 1, 1, 1)
    with pytest.raises(ConversionError) as info:
        convert_state_dict(sd, TINY)
    msg = str(info.value)
    assert "2 missing, 1 unexpected, 1 mis-shaped" in msg
    for key in ("decoder.0.weight", "encoder.layer3.1.bn2.running_var", "decoder.99.weight", "mymodules.0.weight"):
        assert key in msg


def test_allow_partial_converts_what_matches(generator_sd):
    sd = dict(generator_sd)
    del sd["decoder.0.weight"]
    res = convert_state_dict(sd, TINY, allow_partial=True)
    assert res.missing and res.missing[0].startswith("decoder.0.weight")
    assert "kernel" not in res.variables["params"]["decoder"]["layers_0"]
    assert "bias" in res.variables["params"]["decoder"]["layers_0"]


def test_wrong_preset_is_a_shape_error(generator_sd):
    with pytest.raises(ConversionError, match="mis-shaped"):
        convert_state_dict(generator_sd, get_preset("small"))


def test_dataparallel_prefix_and_legacy_format_through_the_cli(tmp_path, generator_sd, rng):
    path = tmp_path / "TANet_model.pkl"
    torch.save({f"module.{k}": v for k, v in generator_sd.items()}, path, _use_new_zipfile_serialization=False)
    out = tmp_path / "converted"
    assert convert.main(["--torch-checkpoint", str(path), "--output", str(out), "--preset", "tiny"]) == 0
    meta = read_meta(out)
    assert meta["kind"] == "generator" and meta["source"] == "TANet_model.pkl" and not meta["partial"]
    assert "motionModel.fc6.weight" in meta["skipped"]
    variables, config, _ = load_model(out)
    assert config == TINY
    # The written checkpoint predicts what the torch model predicts.
    ref = R.TANetGenerator(TINY).eval()
    ref.load_state_dict(generator_sd)
    s = TINY.input_size
    frames, targets = rng.random((2, 1, s, s, 3), dtype=np.float32)
    clips = rng.random((1, 3, s, s, 3), dtype=np.float32)
    with torch.no_grad():
        expected = ref(nchw(frames), nchw(targets), ncthw(clips)).numpy()
    predictor = AttentionPredictor.from_checkpoint(out)
    np.testing.assert_allclose(np.asarray(predictor(frames, targets, clips)), expected, atol=1e-4)
    # An existing output is never clobbered silently.
    assert convert.main(["--torch-checkpoint", str(path), "--output", str(out), "--preset", "tiny"]) == 2


def test_wrapped_state_dict_is_unwrapped(tmp_path, generator_sd):
    path = tmp_path / "wrapped.pth"
    torch.save({"state_dict": generator_sd, "epoch": 3}, path)
    assert convert.load_torch_state_dict(path).keys() == generator_sd.keys()


class Payload:
    """Anything that is not a tensor: weights_only loading refuses it."""

    def __init__(self) -> None:
        self.value = 1


def test_untrusted_pickle_is_refused_unless_trusted(tmp_path, generator_sd):
    path = tmp_path / "needs_pickle.pkl"
    torch.save({"model": generator_sd, "extra": Payload()}, path)
    with pytest.raises(ConversionError, match="--trust-checkpoint"):
        convert.load_torch_state_dict(path)
    sd = convert.load_torch_state_dict(path, trust_checkpoint=True)
    assert sd.keys() == generator_sd.keys()


def test_cli_errors_are_messages_not_tracebacks(tmp_path, capsys):
    missing = tmp_path / "nope.pkl"
    assert convert.main(["--torch-checkpoint", str(missing), "--output", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"this is not a checkpoint")
    assert convert.main(["--torch-checkpoint", str(garbage), "--output", str(tmp_path / "o")]) == 2
    assert "garbage.pkl" in capsys.readouterr().err
    notdict = tmp_path / "tensor.pkl"
    torch.save(torch.zeros(3), notdict)
    assert convert.main(["--torch-checkpoint", str(notdict), "--output", str(tmp_path / "o")]) == 2
    assert "expected a state_dict" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()



@pytest.mark.parametrize("trust", [False, True])
@pytest.mark.parametrize("content", ["text", "plain_pickle", "zip", "empty"])
def test_a_file_that_is_not_a_checkpoint_is_named_so(tmp_path, capsys, content, trust):
    """Not torch.save's layout: one line saying so, never a suggestion to trust it, nothing written."""
    path = tmp_path / f"{content}.pkl"
    if content == "text":
        path.write_text("hello world\n")
    elif content == "plain_pickle":
        path.write_bytes(pickle.dumps({"conv1.weight": np.zeros(3)}))
    elif content == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "not a model")
    else:
        path.write_bytes(b"")
    out = tmp_path / "o"
    argv = ["--torch-checkpoint", str(path), "--output", str(out)] + (["--trust-checkpoint"] if trust else [])
    assert convert.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert f"{path}: not a PyTorch checkpoint" in err
    assert "--trust-checkpoint" not in err
    assert not out.exists()


def test_trusted_file_that_fails_to_unpickle_is_one_line(tmp_path, capsys):
    """A torch.save file whose class is gone: with --trust-checkpoint, a message, not a traceback."""
    path = tmp_path / "gone.pkl"
    torch.save({"w": torch.zeros(2), "extra": Payload()}, path)
    data = path.read_bytes().replace(b"Payload", b"Nowhere")  # the class it names no longer exists
    path.write_bytes(data)
    out = tmp_path / "o"
    assert convert.main(["--torch-checkpoint", str(path), "--output", str(out)]) == 2
    assert "--trust-checkpoint" in capsys.readouterr().err  # a real checkpoint: trusting it is the way on
    assert convert.main(["--torch-checkpoint", str(path), "--output", str(out), "--trust-checkpoint"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a readable torch.save file, even fully unpickled" in err
    assert not out.exists()


def test_help_lists_every_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        convert.main(["--help"])
    assert exit_info.value.code == 0
    options = capsys.readouterr().out.split("options:", 1)[1]
    entries = [e for e in re.split(r"\n  (?=-)", options) if e.strip().startswith("--")]  # one per option
    helps = {e.split()[0]: " ".join(e.split()) for e in entries}
    for flag in ("--kind", "--preset", "--input-size", "--allow-partial", "--trust-checkpoint", "--overwrite"):
        assert "default" in helps[flag], flag
    assert "(default: official)" in helps["--preset"]

def test_partial_checkpoint_is_refused_for_inference(tmp_path, generator_sd):
    sd = dict(generator_sd)
    del sd["mymodules.0.bias"]
    path = tmp_path / "partial.pkl"
    torch.save(sd, path)
    out = tmp_path / "partial"
    assert convert.main(["--torch-checkpoint", str(path), "--output", str(out), "--preset", "tiny",
                         "--allow-partial"]) == 0
    assert read_meta(out)["partial"] is True
    with pytest.raises(ValueError, match="mymodules.0.bias"):
        AttentionPredictor.from_checkpoint(out)
