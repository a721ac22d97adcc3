"""Attention throughput on the device JAX sees (the project's GPU goals), against the PyTorch
reference on the same device, in one process.

For float32 and bfloat16 and each batch size: our maps/s (target encoded once, as a tracker runs),
the FLOPs our compiled function actually executes (XLA's cost analysis) and the fraction of the
device's measured matmul peak that reaches; bfloat16 parity against the fp32 reference (goal:
relative L2 < 1e-2). Two ratios (reference time / ours):
- same work: ours float32 against the reference in float32 with the target encoded once too (its
  ResNet features computed once and reused), and on a GPU with cudnn.benchmark and channels-last;
- as shipped: ours (each dtype) against the reference as the release runs it (float32, eager,
  the target re-encoded for every map, PyTorch's default flags).

    python experiments/bench/throughput.py [--preset official] [--batches 1,32] [--repeats 5]
        [--half-scope motion|all]

TF32: both sides keep their defaults for float32 on the GPU (PyTorch's cuDNN convolutions and
XLA's both use TF32 on Ampere and later); the script prints PyTorch's flags. On a CPU it runs too
(`--preset tiny --batches 1,4` is a quick check of the script itself).
"""

from __future__ import annotations

import argparse
import copy
import time

import jax
import jax.numpy as jnp
import numpy as np

from tanet_jax.evaluation.bench import best_time
from tanet_jax.torch_reference import channels_last_


def reference_with_target(ref, frame, target_feats, clip):
    """The reference generator's forward with the target's ResNet features given (computed once):
    the same function as `ref(frame, target, clip)` with a batch-1 target broadcast."""
    import torch
    import torch.nn.functional as F

    f2, f3, f4 = ref.encoder(frame)
    b = frame.shape[0]
    t2, t3, t4 = (x.expand(b, *x.shape[1:]) for x in target_feats)
    m = ref.motionModel(clip).squeeze(2)
    size = f3.shape[2:]
    x = torch.cat([F.interpolate(torch.cat([f2, t2], 1), size=size), torch.cat([f3, t3], 1),
                   F.interpolate(torch.cat([f4, t4], 1), size=size), F.interpolate(m, size=size)], 1)
    x = ref.mymodules(ref.decoder(x))
    return F.interpolate(x, size=(ref.size, ref.size))[:, 0]


def matmul_peak(dtype: str, n: int = 8192, repeats: int = 5) -> float:
    """Measured FLOP/s of one large square matmul in `dtype` on the default device."""
    a = jnp.ones((n, n), dtype)
    f = jax.jit(lambda x: x @ x)
    return 2 * n**3 / best_time(lambda: f(a).block_until_ready(), repeats)


def main() -> None:
    import torch

    from tanet_jax import torch_reference as R
    from tanet_jax.torch_reference import nchw, ncthw
    from tanet_jax.models.model_config import get_preset
    from tanet_jax.convert import convert_state_dict
    from tanet_jax.inference import AttentionPredictor

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="official")
    parser.add_argument("--batches", default="1,32", help="comma-separated batch sizes")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--half-scope", default="motion", choices=("motion", "all"),
                        help="where bfloat16 applies in the generator (ModelConfig.half_scope)")
    parser.add_argument("--peak-size", type=int, default=8192, help="matrix size for the matmul peak")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]

    config = get_preset(args.preset)
    s = config.input_size
    rng = np.random.default_rng(0)
    frames, targets = rng.random((2, 1, s, s, 3), dtype=np.float32)
    clips = rng.random((1, 2, s, s, 3), dtype=np.float32)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    ref = R.randomize_(R.TANetGenerator(config), 0).eval()
    R.calibrate_head_(ref, nchw(frames), nchw(targets), ncthw(clips))
    variables = convert_state_dict(ref.state_dict(), config).variables
    ref = ref.to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    print(f"jax {jax.__version__} on {jax.devices()[0].device_kind} ({jax.default_backend()}); "
          f"torch {torch.__version__} on {device}"
          + (f" ({torch.cuda.get_device_name()}; cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}, "
             f"matmul.allow_tf32={torch.backends.cuda.matmul.allow_tf32})" if device == "cuda" else ""))
    print(f"preset {args.preset} ({s}x{s}), clips of 2 frames, target encoded once")

    def reference_time(batch: int, same_work: bool) -> float:
        f = nchw(np.repeat(frames, batch, 0)).to(device)
        t = nchw(np.repeat(targets, batch, 0)).to(device)
        c = ncthw(np.repeat(clips, batch, 0)).to(device)
        if not same_work:
            def run() -> None:
                ref(f, t, c)
                sync()
        else:
            model = ref
            if device == "cuda":
                model = channels_last_(copy.deepcopy(ref))
                f = f.contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                target_feats = model.encoder(t[:1])

            def run() -> None:
                reference_with_target(model, f, target_feats, c)
                sync()

        previous = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = same_work and device == "cuda"
        try:
            with torch.inference_mode():
                return best_time(run, args.repeats)
        finally:
            torch.backends.cudnn.benchmark = previous

    with torch.inference_mode():
        expected = ref(*(x.to(device) for x in (nchw(frames), nchw(targets), ncthw(clips)))).float().cpu().numpy()
        same = reference_with_target(ref, nchw(frames).to(device), ref.encoder(nchw(targets).to(device)),
                                     ncthw(clips).to(device)).float().cpu().numpy()
    assert np.allclose(same, expected, rtol=1e-5, atol=1e-6), "the target-once reference differs"
    ref_times = {b: reference_time(b, same_work=False) for b in batches}
    same_times = {b: reference_time(b, same_work=True) for b in batches}
    peaks = {}
    for dtype in ("float32", "bfloat16"):
        t0 = time.perf_counter()
        predictor = AttentionPredictor(config.replace(dtype=dtype, half_scope=args.half_scope), variables)
        target = predictor.encode_target(targets)
        maps = np.asarray(predictor.predict(frames, clips, target))
        rel = float(np.linalg.norm(maps - expected) / np.linalg.norm(expected))
        print(f"{dtype}: relative L2 against the fp32 reference {rel:.2e} (ready in {time.perf_counter() - t0:.1f} s)")
        peaks[dtype] = matmul_peak(dtype, args.peak_size)
        for b in batches:
            fb, cb = jnp.asarray(np.repeat(frames, b, 0)), jnp.asarray(np.repeat(clips, b, 0))
            t = best_time(lambda: predictor.predict(fb, cb, target).block_until_ready(), args.repeats)
            compiled = predictor._predict.lower(predictor.variables, fb, cb, target).compile()
            cost = compiled.cost_analysis()
            flops = float((cost[0] if isinstance(cost, list) else cost).get("flops", float("nan")))
            if jax.default_backend() != "cpu":  # XLA's GPU cost analysis leaves out cuDNN's convolutions
                flops = float("nan")
            same_work = (f"same work (fp32 both, target once both) {same_times[b] / t:5.2f}x   "
                         if dtype == "float32" else "")
            print(f"  batch {b:3d}: ours {b / t:8.2f} maps/s   reference as released {b / ref_times[b]:8.2f} maps/s, "
                  f"target once {b / same_times[b]:8.2f} maps/s   speed-up as shipped {ref_times[b] / t:5.2f}x   "
                  f"{same_work}{flops / b / 1e9:6.1f} GFLOP/map   "
                  f"{flops / t / 1e12:7.2f} TFLOP/s = {flops / t / peaks[dtype]:.1%} of the {dtype} matmul peak "
                  f"({peaks[dtype] / 1e12:.1f} TFLOP/s)")
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        print(f"peak device memory (jax) {stats['peak_bytes_in_use'] / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
