"""Training: losses and schedule by hand, PyTorch's Adagrad, the release's quirks (the
discriminators' trailing ReLU, the motion masks' layout), data-parallel equivalence, and the
loop's device transfers (whole runs, stopped and resumed: test_train_runs.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tanet_jax.models.model_config import get_preset
from tanet_jax.train import losses
from tanet_jax.train.optim import torch_adagrad
from tanet_jax.train.steps import Nets, attention_metrics, fake_motion_masks

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "experiments" / "configs" / "smoke.py"


def test_bce_from_logits_matches_the_formula():
    logits = jnp.array([-3.0, -0.5, 0.0, 2.0, 8.0])
    labels = jnp.array([0.0, 1.0, 1.0, 0.0, 1.0])
    p = 1 / (1 + np.exp(-np.asarray(logits)))
    expected = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    assert float(losses.bce_with_logits(logits, labels)) == pytest.approx(expected, rel=1e-6)
    # D(real) = 2, D(fake) = -1: log(1+e^-2) + log(1+e^-1)
    d = losses.discriminator_loss(jnp.array([2.0]), jnp.array([-1.0]))
    assert float(d) == pytest.approx(np.log1p(np.exp(-2.0)) + np.log1p(np.exp(-1.0)), rel=1e-6)


def test_generator_loss_weights():
    map_logits = jnp.zeros((1, 2, 2))
    masks = jnp.array([[[1.0, 0.0], [0.0, 0.0]]])
    total, parts = losses.generator_loss(map_logits, masks, jnp.array([0.0]), jnp.array([1.0]), 0.1, 0.2)
    assert float(parts["g_bce"]) == pytest.approx(np.log(2))
    assert float(parts["g_adv_appearance"]) == pytest.approx(np.log(2))
    assert float(parts["g_adv_motion"]) == pytest.approx(np.log1p(np.exp(-1.0)))
    assert float(total) == pytest.approx(np.log(2) * 1.1 + 0.2 * np.log1p(np.exp(-1.0)), rel=1e-6)


@pytest.mark.parametrize("name", ["appearance", "motion"])
def test_release_compat_discriminator_relu_floors_real_probability_at_half(name):
    """The release's quirk (release_compat=True): a ReLU after each discriminator's last layer,
    so with the same parameters its outputs are the plain logits clipped at 0: sigmoid(D) never
    falls below 0.5, and D's loss on a fake never below log 2 (no fake is ever called fake)."""
    from tanet_jax.models.discriminators import AppearanceDiscriminator, MotionDiscriminator

    rng = np.random.default_rng(0)
    plain, compat = get_preset("tiny"), get_preset("tiny", release_compat=True)
    s = plain.input_size
    if name == "appearance":
        module, inputs = AppearanceDiscriminator, (rng.random((6, s, s, 3)), rng.random((6, s, s)))
    else:
        module, inputs = MotionDiscriminator, (rng.random((6, 3, s, s, 3)), rng.random((6, 3, s, s)))
    inputs = tuple(jnp.asarray(x, jnp.float32) for x in inputs)
    variables = module(plain).init(jax.random.key(0), *inputs)
    raw = np.asarray(module(plain).apply(variables, *inputs))
    head = variables["params"]["head"]["fc5"]
    scale = 1.0 / max(float(np.std(raw)), 1e-12)  # logits of order 1, centred: some negative, some positive
    head["kernel"], head["bias"] = head["kernel"] * scale, (head["bias"] - np.median(raw)) * scale
    raw = np.asarray(module(plain).apply(variables, *inputs))
    quirk = np.asarray(module(compat).apply(variables, *inputs))
    assert (raw < 0).sum() >= 2 and (raw > 0).sum() >= 2, raw
    np.testing.assert_allclose(quirk, np.maximum(raw, 0.0), rtol=1e-6, atol=1e-7)
    assert np.all(np.asarray(jax.nn.sigmoid(quirk)) >= 0.5)
    def fake_losses(outputs):
        return np.array([float(losses.bce_with_logits(jnp.asarray(outputs[i:i + 1]), 0.0)) for i in range(len(outputs))])

    assert np.all(fake_losses(quirk) >= np.log(2) - 1e-6)
    assert np.all(fake_losses(raw)[raw < 0] < np.log(2) - 1e-6)


def test_schedule_matches_the_release():
    kinds = [losses.step_kind(n) for n in range(1, 17)]
    a, m, g = "appearance", "motion", "generator"
    assert kinds == [a, g, g, m, g, a, m, g, g, m, a, g, m, g, g, a]


def test_torch_adagrad_is_pytorchs():
    torch = pytest.importorskip("torch")
    w0 = np.array([0.5, -1.0, 2.0], np.float32)
    grads = [np.array([0.1, -0.2, 0.0], np.float32), np.array([0.3, 0.1, -0.5], np.float32),
             np.array([-0.2, 0.4, 0.2], np.float32)]
    p = torch.nn.Parameter(torch.from_numpy(w0.copy()))
    opt = torch.optim.Adagrad([p], lr=0.1)
    tx = torch_adagrad(0.1)
    params = jnp.asarray(w0)
    state = tx.init(params)
    for g in grads:
        p.grad = torch.from_numpy(g.copy())
        opt.step()
        updates, state = tx.update(jnp.asarray(g), state)
        params = params + updates
    np.testing.assert_allclose(np.asarray(params), p.detach().numpy(), rtol=1e-6)


def test_release_compat_motion_mask_layout():
    """(B, T, C, H, W) fed as (B, C, T, H, W): in NTHWC, channel c of every frame holds map c."""
    rng = np.random.default_rng(0)
    maps = rng.random((2, 3, 5, 5)).astype(np.float32)
    stacked = np.repeat(maps[:, :, None], 3, axis=2)  # (B, T, C, H, W), C repeated
    as_torch = stacked  # reinterpreted as (B, C', T', H, W)
    expected = as_torch.transpose(0, 2, 3, 4, 1)  # our NTHWC: [b, t', h, w, c']
    compat = Nets.create(get_preset("tiny", release_compat=True), "sgd", (1, 1, 1))
    np.testing.assert_array_equal(np.asarray(fake_motion_masks(compat, jnp.asarray(maps))), expected)
    default = Nets.create(get_preset("tiny"), "sgd", (1, 1, 1))
    np.testing.assert_array_equal(np.asarray(fake_motion_masks(default, jnp.asarray(maps)))[..., 0], maps)


def test_attention_metrics_by_hand():
    maps = np.zeros((3, 4, 4), np.float32)
    masks = np.zeros((3, 4, 4), np.float32)
    maps[0, :2, :2] = 0.9  # predicts 4 pixels, 2 of them in the 2x4 box
    masks[0, :2, :] = 1
    maps[0, 0, 3] = 0.95  # the peak, inside the box
    maps[1, 3, 3] = 0.8  # peak outside the box
    masks[1, :1, :1] = 1
    m = attention_metrics(jnp.asarray(maps), jnp.asarray(masks), jnp.array([False, False, True]))
    assert float(m["count"]) == 2
    assert float(m["iou_sum"]) == pytest.approx(5 / 8 + 0.0)
    assert float(m["hit_sum"]) == 1


def test_one_device_equals_two_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "dp_check.py")], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    for kind, r in report.items():
        assert r["max_param_change"] > 1e-2, kind  # the update really moved the parameters
        assert r["max_param_diff"] < 1e-5, (kind, r["max_param_diff"])
        for key, value in r["metrics_1"].items():
            assert value == pytest.approx(r["metrics_2"][key], abs=1e-5)


class _TransferCounter:
    """Counts device-to-host transfers: every fetch of a jax.Array's value goes through
    ArrayImpl._value (np.asarray, float(), jax.device_get)."""

    def __init__(self, monkeypatch) -> None:
        from jax._src import array as array_lib

        self.count = 0
        original = array_lib.ArrayImpl._value

        def counted(arr):
            if arr._npy_value is None:
                self.count += 1
            return original.fget(arr)

        monkeypatch.setattr(array_lib.ArrayImpl, "_value", property(counted))


def test_no_host_fetch_between_log_steps(tmp_path, monkeypatch):
    """40 steps fetch no more from the device than 20 steps plus one log's worth (log_every=20):
    metrics stay on the device between logs, and nothing else is fetched per step."""
    import ml_collections

    from tanet_jax.train import loop
    from tanet_jax.train.logger import Logger

    counter = _TransferCounter(monkeypatch)
    flush_counts = []
    original_flush = Logger.flush

    def flush(self, step):
        before = counter.count
        original_flush(self, step)
        flush_counts.append(counter.count - before)

    monkeypatch.setattr(Logger, "flush", flush)
    spec = __import__("importlib.util").util.spec_from_file_location("smoke", SMOKE)
    smoke = __import__("importlib.util").util.module_from_spec(spec)
    spec.loader.exec_module(smoke)

    def run(steps: int) -> int:
        config = smoke.get_config()
        config.unlock()
        config.update(ml_collections.ConfigDict(dict(
            max_steps=steps, num_epochs=20, log_every=20, eval_every=0, image_every=0, checkpoint_every=1000,
        )))
        config.data.data_dir = str(tmp_path / "data")
        counter.count = 0
        loop.train_and_evaluate(config, str(tmp_path / f"run{steps}"))
        return counter.count

    twenty = run(20)
    forty = run(40)
    per_log = max(flush_counts)
    assert per_log > 0  # the counter sees the log's fetch
    assert forty <= twenty + per_log, (twenty, forty, per_log)


def test_mixed_precision_update_computes_in_bfloat16_keeps_float32_state():
    """model.dtype='bfloat16': the update's convolutions run in bfloat16 (half_scope 'all': the
    whole generator), parameters and optimizer states stay float32, and the loss is close to
    float32's on the same tiny batch."""
    from tanet_jax.train.steps import init_state, make_updates

    rng = np.random.default_rng(0)
    s = 128
    batch = {"frames": rng.integers(0, 255, (2, 4, s, s, 3), dtype=np.uint8),
             "masks": np.zeros((2, 4, s, s), np.uint8), "target": rng.integers(0, 255, (2, s, s, 3), dtype=np.uint8)}
    batch["masks"][:, :, 40:80, 50:90] = 1
    results = {}
    for dtype in ("float32", "bfloat16"):
        nets = Nets.create(get_preset("tiny", dtype=dtype, half_scope="all"), "adagrad", (1e-2, 1e-2, 1e-2),
                           axis_name=None)
        state = init_state(nets, jax.random.key(0))
        update = make_updates(nets, axis_name=None)["generator"]
        jaxpr = str(jax.make_jaxpr(update)(state, batch, jax.random.key(1)))
        conv_lines = [line for line in jaxpr.splitlines() if "conv_general_dilated" in line]
        new_state, metrics = jax.jit(update)(state, batch, jax.random.key(1))
        results[dtype] = (conv_lines, new_state, {k: float(v) for k, v in metrics.items()})
    conv32, _, m32 = results["float32"]
    conv16, state16, m16 = results["bfloat16"]
    assert conv32 and not any("bf16" in line for line in conv32)
    assert sum("bf16" in line for line in conv16) >= 0.9 * len(conv16)  # the convs compute in bfloat16
    dtypes = {x.dtype for x in jax.tree.leaves((state16.generator.params, state16.generator.opt_state,
                                                state16.generator.batch_stats, state16.appearance, state16.motion))}
    assert dtypes == {jnp.dtype(jnp.float32)}, dtypes
    for key in ("g_loss", "g_bce", "g_adv_appearance", "g_adv_motion"):
        assert m16[key] == pytest.approx(m32[key], rel=2e-2), key


def test_profile_steps_write_a_trace(tmp_path):
    """--config.profile_steps=2,3 writes a JAX profiler trace (TensorBoard's profile plugin layout)."""
    import importlib.util

    from tanet_jax.train import loop

    spec = importlib.util.spec_from_file_location("smoke", SMOKE)
    smoke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(smoke)
    config = smoke.get_config()
    config.unlock()
    config.max_steps, config.eval_every, config.image_every, config.profile_steps = 4, 0, 0, "2,3"
    config.data.data_dir = str(tmp_path / "data")
    loop.train_and_evaluate(config, str(tmp_path / "run"))
    traces = list((tmp_path / "run" / "profile").rglob("*.xplane.pb"))
    assert len(traces) == 1 and traces[0].stat().st_size > 0
    assert traces[0].parent.parent.name == "profile" and traces[0].parent.parent.parent.name == "plugins"


def test_cuda_extra_pins_the_jax_of_requirements():
    import tomllib

    pins = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["cuda"] == [f"jax[cuda12]=={pins['jax']}"]
