"""Peak memory of attention inference: ours against the PyTorch reference, each in its own process.

A setup process writes random official-size weights in the release's state_dict layout and
converts them with `python -m tanet_jax.convert`. Then two fresh processes each load their
weights from disk the way a user would (ours: `AttentionPredictor.from_checkpoint`; the
reference: `torch.load` + `load_state_dict`), compute maps at batch 1, and report their peak
resident set size (VmHWM), after imports and at the end. Ours never imports torch.

    python experiments/bench/memory.py [--preset official] [--maps 3] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def peak_mib() -> float:
    """This address space's peak resident set size so far, MiB.

    VmHWM starts afresh at exec; ru_maxrss can carry over the parent's peak through fork + exec."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def inputs(size: int):
    """The same random frame, target and clip in both processes (NHWC, float32)."""
    import numpy as np

    rng = np.random.default_rng(0)
    frames, targets = rng.random((2, 1, size, size, 3), dtype=np.float32)
    clips = rng.random((1, 3, size, size, 3), dtype=np.float32)
    return frames, targets, clips


def setup(workdir: Path, preset: str) -> None:
    """Random weights in the release layout (.pkl) and their conversion (orbax directory)."""
    import torch

    from tanet_jax import torch_reference as R
    from tanet_jax.models.model_config import get_preset

    ref = R.randomize_(R.TANetGenerator(get_preset(preset)), 0).eval()
    torch.save(ref.state_dict(), workdir / "TANet_model.pkl")
    subprocess.run([sys.executable, "-m", "tanet_jax.convert", "--torch-checkpoint", str(workdir / "TANet_model.pkl"),
                    "--output", str(workdir / "converted"), "--preset", preset, "--overwrite"], check=True)


def run_ours(workdir: Path, preset: str, maps: int) -> dict:
    """Load the converted checkpoint, predict `maps` maps; torch is never imported."""
    import numpy as np

    from tanet_jax.inference import AttentionPredictor

    after_import = peak_mib()
    predictor = AttentionPredictor.from_checkpoint(workdir / "converted")
    frames, targets, clips = inputs(predictor.input_size)
    for _ in range(maps):
        out = np.asarray(predictor(frames, targets, clips))
    assert "torch" not in sys.modules
    return {"after_import": after_import, "peak": peak_mib(), "checksum": float(out.mean())}


def run_reference(workdir: Path, preset: str, maps: int) -> dict:
    """Load the release-layout state_dict into the PyTorch reference and predict `maps` maps."""
    import torch

    from tanet_jax import torch_reference as R
    from tanet_jax.torch_reference import nchw, ncthw
    from tanet_jax.models.model_config import get_preset

    after_import = peak_mib()
    model = R.TANetGenerator(get_preset(preset))
    model.load_state_dict(torch.load(workdir / "TANet_model.pkl", weights_only=True))
    model.eval()
    frames, targets, clips = inputs(get_preset(preset).input_size)
    with torch.inference_mode():
        for _ in range(maps):
            out = model(nchw(frames), nchw(targets), ncthw(clips)).numpy()
    return {"after_import": after_import, "peak": peak_mib(), "checksum": float(out.mean())}


def child(role: str, workdir: Path, preset: str, maps: int) -> dict:
    """Run one role in a fresh interpreter and read back its JSON line."""
    proc = subprocess.run([sys.executable, __file__, "--role", role, "--workdir", str(workdir), "--preset", preset,
                           "--maps", str(maps)], check=True, capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="official")
    parser.add_argument("--maps", type=int, default=3, help="maps predicted in each process")
    parser.add_argument("--workdir", type=Path, default=None, help="where the weights go (default: a temp dir)")
    parser.add_argument("--role", choices=("setup", "ours", "reference"), default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "setup":
        setup(args.workdir, args.preset)
        return
    if args.role:
        run = run_ours if args.role == "ours" else run_reference
        print(json.dumps(run(args.workdir, args.preset, args.maps)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, __file__, "--role", "setup", "--workdir", str(workdir), "--preset",
                        args.preset], check=True)
        ours = child("ours", workdir, args.preset, args.maps)
        ref = child("reference", workdir, args.preset, args.maps)
    print(f"preset {args.preset}, batch 1, {args.maps} maps per process, peak RSS (VmHWM):")
    for name, r in (("ours (jax)", ours), ("reference (torch)", ref)):
        print(f"  {name:18s} after imports {r['after_import']:7.0f} MiB   peak {r['peak']:7.0f} MiB   "
              f"inference adds {r['peak'] - r['after_import']:7.0f} MiB")
    print(f"  ratio ours/reference (peak)  {ours['peak'] / ref['peak']:.3f}")
    print(f"  mean of the last map: ours {ours['checksum']:.6f}, reference {ref['checksum']:.6f}")


if __name__ == "__main__":
    main()
