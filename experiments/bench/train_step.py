"""Training-step time: ours (jitted, pmapped over the local devices) against a PyTorch
reference step with the same shapes, losses and optimiser (Adagrad), in one process.

    python experiments/bench/train_step.py [--preset official] [--batch 1] [--repeats 2]
        [--formulation auto|per_frame|stacked] [--dtype float32|bfloat16] [--ours-only]

The default is the release's recipe (official size, 300x300, batch 1; about 10 minutes on a 2-core
CPU, most of it the reference); `--preset small --batch 4` is a quicker check.

Each of the three updates (appearance D, motion D, generator) is timed separately; the
schedule-weighted mean (1/5 appearance, 4/15 motion, 8/15 generator) is the cost of a step.
The first call of each of our updates (compilation included) is reported apart.

Two ratios (ours / reference):
- same dtype: ours in float32 against the reference in float32, on a GPU with cudnn.benchmark
  and channels-last. Not quite the same work: the reference runs the release's four generator
  forwards per update (re-encoding the target and frame t), ours encodes each once;
- as shipped: ours in --dtype against the reference as the release runs it (float32, eager,
  PyTorch's default flags).
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from tanet_jax.evaluation.bench import best_time
from tanet_jax.torch_reference import channels_last_

WEIGHTS = {"appearance": 1 / 5, "motion": 4 / 15, "generator": 8 / 15}


def torch_steps(config, batch: dict[str, np.ndarray], tuned: bool = False):
    """The release's three updates in PyTorch (eager), on the reference modules, Adagrad 1e-4;
    `tuned` on a GPU: channels-last modules (cudnn.benchmark is set by the caller)."""
    import torch

    from tanet_jax import torch_reference as R

    gen = R.randomize_(R.TANetGenerator(config), 0).train()
    dapp = R.randomize_(R.AppearanceD(config), 1).train()
    dmot = R.randomize_(R.MotionD(config), 2).train()
    if tuned and torch.cuda.is_available():
        gen, dapp, dmot = (channels_last_(m) for m in (gen, dapp, dmot))
    opts = {k: torch.optim.Adagrad(m.parameters(), lr=1e-4) for k, m in
            (("generator", gen), ("appearance", dapp), ("motion", dmot))}
    frames = torch.from_numpy(batch["frames"]).float().div(255).permute(0, 1, 4, 2, 3)  # B,4,3,H,W
    masks = torch.from_numpy(batch["masks"]).float()
    target = torch.from_numpy(batch["target"]).float().div(255).permute(0, 3, 1, 2)
    return R.release_updates(gen, dapp, dmot, opts, frames, masks, target)


def jax_steps(config, batch: dict[str, np.ndarray]):
    """Our three updates as the training loop runs them: pmapped, state donated; and the time of
    each one's first call (compilation included)."""
    from flax import jax_utils

    from tanet_jax.train.steps import AXIS, Nets, init_state, make_updates, replicate

    nets = Nets.create(config, "adagrad", (1e-4, 1e-4, 1e-4))
    d = jax.local_device_count()
    split = {k: v.reshape(d, v.shape[0] // d, *v.shape[1:]) for k, v in batch.items()}
    rng = jax_utils.replicate(jax.random.key(1))
    fns = {k: jax.pmap(f, axis_name=AXIS, donate_argnums=(0,)) for k, f in make_updates(nets).items()}
    holder = {"state": replicate(init_state(nets, jax.random.key(0)))}

    def make(kind):
        def run():
            holder["state"], metrics = fns[kind](holder["state"], split, rng)
            jax.block_until_ready(metrics)
        return run

    runs = {k: make(k) for k in fns}
    first = {}
    for k, run in runs.items():  # compile (and run once)
        t0 = time.perf_counter()
        run()
        first[k] = time.perf_counter() - t0
    return runs, first


def main() -> None:
    from tanet_jax.models.model_config import get_preset

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="official")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--formulation", default="auto", choices=("auto", "per_frame", "stacked"))
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"),
                        help="ours as shipped (mixed precision: --config.model.dtype)")
    parser.add_argument("--ours-only", action="store_true", help="skip the PyTorch reference")
    args = parser.parse_args()
    config = get_preset(args.preset, dropout=0.0, formulation=args.formulation)
    s = config.input_size
    rng = np.random.default_rng(0)
    masks = np.zeros((args.batch, 4, s, s), np.uint8)
    masks[:, :, s // 4 : s // 2, s // 3 : s // 2] = 1
    batch = {"frames": rng.integers(0, 256, (args.batch, 4, s, s, 3), dtype=np.uint8), "masks": masks,
             "target": rng.integers(0, 256, (args.batch, s, s, 3), dtype=np.uint8)}
    print(f"preset {args.preset} ({s}x{s}), batch {args.batch}, formulation {args.formulation} "
          f"(stacked: {config.stacked_frames}), jax {jax.__version__} on {jax.local_device_count()} "
          f"{jax.default_backend()} device(s)")
    variants = {"float32": config} | ({args.dtype: config.replace(dtype=args.dtype)} if args.dtype != "float32" else {})
    ours = {}
    for name, cfg in variants.items():
        runs, first = jax_steps(cfg, batch)
        ours[name] = {k: best_time(run, args.repeats) for k, run in runs.items()}
        print(f"  ours {name}: first call (compile + run) " + ", ".join(f"{k} {v:.1f} s" for k, v in first.items())
              + f"; total {sum(first.values()):.1f} s; then " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in ours[name].items()))
    refs = {}
    if not args.ours_only:
        import torch

        print(f"  torch {torch.__version__} ({torch.get_num_threads()} threads)")
        refs["as released"] = {k: best_time(f, args.repeats) for k, f in torch_steps(config, batch).items()}
        if torch.cuda.is_available():
            torch.backends.cudnn.benchmark = True
            refs["tuned"] = {k: best_time(f, args.repeats) for k, f in torch_steps(config, batch, True).items()}
            torch.backends.cudnn.benchmark = False
        else:
            refs["tuned"] = refs["as released"]  # cudnn.benchmark and channels-last are GPU settings

    def weighted(times):
        return sum(WEIGHTS[k] * times[k] for k in WEIGHTS)

    for kind in ("appearance", "motion", "generator"):
        line = "  ".join(f"ours {n} {t[kind] * 1e3:8.1f} ms" for n, t in ours.items())
        line += "".join(f"  reference {n} {t[kind] * 1e3:8.1f} ms" for n, t in refs.items() if n == "as released")
        print(f"  {kind:10s} {line}")
    print("  schedule-weighted step: " + ", ".join(f"ours {n} {weighted(t) * 1e3:.1f} ms" for n, t in ours.items()))
    if refs:
        same = weighted(ours["float32"]) / weighted(refs["tuned"])
        shipped = weighted(ours[args.dtype]) / weighted(refs["as released"])
        print(f"  ratio, same dtype (fp32 both; reference tuned on GPU): {same:.3f}")
        print(f"  ratio, as shipped (ours {args.dtype}, reference as released): {shipped:.3f}")


if __name__ == "__main__":
    main()
