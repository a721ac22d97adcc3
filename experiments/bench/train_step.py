"""Training-step time: ours (jitted, pmapped over the local devices) against a PyTorch
reference step with the same shapes, losses and optimiser (Adagrad), in one process.

    python experiments/bench/train_step.py [--preset official] [--batch 1] [--repeats 2]

The default is the release's recipe (official size, 300x300, batch 1; about 10 minutes on a 2-core
CPU, most of it the reference); `--preset small --batch 4` is a quicker check.

Each of the three updates (appearance D, motion D, generator) is timed separately; the
schedule-weighted mean (1/5 appearance, 4/15 motion, 8/15 generator) is the cost of a step.
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

from timing import best_time  # the sibling module: python puts the script's folder on sys.path

WEIGHTS = {"appearance": 1 / 5, "motion": 4 / 15, "generator": 8 / 15}


def torch_steps(config, batch: dict[str, np.ndarray]):
    """The release's three updates in PyTorch (eager), on the reference modules, Adagrad 1e-4."""
    import torch

    from tanet_jax import torch_reference as R

    gen = R.randomize_(R.TANetGenerator(config), 0).train()
    dapp = R.randomize_(R.AppearanceD(config), 1).train()
    dmot = R.randomize_(R.MotionD(config), 2).train()
    opts = {k: torch.optim.Adagrad(m.parameters(), lr=1e-4) for k, m in
            (("generator", gen), ("appearance", dapp), ("motion", dmot))}
    frames = torch.from_numpy(batch["frames"]).float().div(255).permute(0, 1, 4, 2, 3)  # B,4,3,H,W
    masks = torch.from_numpy(batch["masks"]).float()
    target = torch.from_numpy(batch["target"]).float().div(255).permute(0, 3, 1, 2)
    return R.release_updates(gen, dapp, dmot, opts, frames, masks, target)


def jax_steps(config, batch: dict[str, np.ndarray]):
    """Our three updates as the training loop runs them: pmapped, state donated."""
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

    return {k: make(k) for k in fns}


def main() -> None:
    import torch

    from tanet_jax.models.model_config import get_preset

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="official")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    config = get_preset(args.preset, dropout=0.0)
    s = config.input_size
    rng = np.random.default_rng(0)
    masks = np.zeros((args.batch, 4, s, s), np.uint8)
    masks[:, :, s // 4 : s // 2, s // 3 : s // 2] = 1
    batch = {"frames": rng.integers(0, 256, (args.batch, 4, s, s, 3), dtype=np.uint8), "masks": masks,
             "target": rng.integers(0, 256, (args.batch, s, s, 3), dtype=np.uint8)}
    ours, ref = jax_steps(config, batch), torch_steps(config, batch)
    print(f"preset {args.preset} ({s}x{s}), batch {args.batch}, jax {jax.__version__} on "
          f"{jax.local_device_count()} {jax.default_backend()} device(s), torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)")
    total_ours = total_ref = 0.0
    for kind in ("appearance", "motion", "generator"):
        t_ours, t_ref = best_time(ours[kind], args.repeats), best_time(ref[kind], args.repeats)
        total_ours += WEIGHTS[kind] * t_ours
        total_ref += WEIGHTS[kind] * t_ref
        print(f"  {kind:10s} ours {t_ours * 1e3:8.1f} ms   reference {t_ref * 1e3:8.1f} ms   ratio {t_ours / t_ref:.3f}")
    print(f"  schedule-weighted step: ours {total_ours * 1e3:.1f} ms, reference {total_ref * 1e3:.1f} ms, "
          f"ratio {total_ours / total_ref:.3f}")


if __name__ == "__main__":
    main()
