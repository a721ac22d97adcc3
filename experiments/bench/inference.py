"""Attention inference: ours against the PyTorch reference of the release, in one process.

Both run the same converted random weights (official size by default). Prints per-map times,
the ratio, achieved GFLOP/s (454 GFLOP per official map, as PyTorch's FLOP counter counts the
release), the GFLOP XLA counts in ours (fewer: the same function computed with fewer
operations) and the rate it runs them at, the relative L2 difference, per-frame time with the
target encoded once, and maps/s at a larger batch.

    python experiments/bench/inference.py [--preset official] [--batch 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import resource

import jax
import numpy as np

from tanet_jax.evaluation.bench import best_time

RELEASE_GFLOP = 454.0  # per official-size map (spec: Cost)


def xla_gflop(predictor, frames: np.ndarray, targets: np.ndarray, clips: np.ndarray) -> float:
    """GFLOP per map that XLA counts in our compiled computation (target encoding + prediction)."""
    def flops(compiled) -> float:
        cost = compiled.cost_analysis()
        return float((cost[0] if isinstance(cost, list) else cost).get("flops", float("nan")))

    target = predictor.encode_target(targets)
    encode = flops(predictor._encode.lower(predictor.variables, targets).compile())
    predict = flops(predictor._predict.lower(predictor.variables, frames, clips, target).compile())
    return (encode + predict) / 1e9


def main() -> None:
    import torch

    from tanet_jax import torch_reference as R
    from tanet_jax.torch_reference import nchw, ncthw
    from tanet_jax.models.model_config import get_preset
    from tanet_jax.convert import convert_state_dict
    from tanet_jax.inference import AttentionPredictor

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="official")
    parser.add_argument("--batch", type=int, default=8, help="batch for the throughput line")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    config = get_preset(args.preset)
    s = config.input_size
    rng = np.random.default_rng(0)
    frames, targets = rng.random((2, 1, s, s, 3), dtype=np.float32)
    clips = rng.random((1, 3, s, s, 3), dtype=np.float32)
    ref = R.randomize_(R.TANetGenerator(config), 0).eval()
    R.calibrate_head_(ref, nchw(frames), nchw(targets), ncthw(clips))
    predictor = AttentionPredictor(config, convert_state_dict(ref.state_dict(), config).variables)

    with torch.inference_mode():
        expected = ref(nchw(frames), nchw(targets), ncthw(clips)).numpy()
        t_ref = best_time(lambda: ref(nchw(frames), nchw(targets), ncthw(clips)), args.repeats)
    ours = np.asarray(predictor(frames, targets, clips))
    rel = float(np.linalg.norm(ours - expected) / np.linalg.norm(expected))
    t_ours = best_time(lambda: predictor(frames, targets, clips).block_until_ready(), args.repeats)
    target = predictor.encode_target(targets)
    t_frame = best_time(lambda: predictor.predict(frames, clips, target).block_until_ready(), args.repeats)

    fb = np.repeat(frames, args.batch, 0)
    cb = np.repeat(clips, args.batch, 0)
    t_batch = best_time(lambda: predictor.predict(fb, cb, target).block_until_ready(), max(1, args.repeats - 1))
    with torch.inference_mode():
        tb = nchw(np.repeat(targets, args.batch, 0))
        t_ref_batch = best_time(lambda: ref(nchw(fb), tb, ncthw(cb)), max(1, args.repeats - 1))

    gflop = RELEASE_GFLOP * (1 if args.preset == "official" else float("nan"))
    print(f"machine: {platform.processor() or platform.machine()}, jax {jax.__version__} "
          f"({jax.default_backend()}), torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print(f"preset {args.preset}, {s}x{s}, batch 1")
    print(f"  reference (PyTorch eager)       {t_ref * 1e3:9.1f} ms/map   {gflop / t_ref:7.1f} GFLOP/s")
    print(f"  ours (jitted, target each call) {t_ours * 1e3:9.1f} ms/map   {gflop / t_ours:7.1f} GFLOP/s (release-equivalent)")
    print(f"  ours (target encoded once)      {t_frame * 1e3:9.1f} ms/map")
    print(f"  ratio ours/reference            {t_ours / t_ref:9.3f}")
    ours_gflop = xla_gflop(predictor, frames, targets, clips)
    print(f"  work per map: ours {ours_gflop:.1f} GFLOP as XLA counts it (the release {gflop:.0f} by PyTorch's "
          f"counter): the same function with fewer operations; ours runs at {ours_gflop / t_ours:.1f} GFLOP/s")
    print(f"  relative L2 ours vs reference   {rel:9.2e}")
    print(f"batch {args.batch}: ours {args.batch / t_batch:.2f} maps/s, reference {args.batch / t_ref_batch:.2f} maps/s")
    print(f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
