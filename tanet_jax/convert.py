"""Official PyTorch checkpoints -> tanet-jax checkpoints (python -m tanet_jax.convert).

Recognised state_dicts (by their keys, or `--kind`):
  generator                 the release's TANet_model.pkl (encoder/decoder/mymodules/motionModel)
  resnet18                  a torchvision ResNet-18 (initialises the encoder)
  c3d                       a Sports-1M C3D (initialises the motion trunks)
  appearance_discriminator  the release's appearance D (conv1.0 ... fc5.1)
  motion_discriminator      the release's motion D (C3D trunk, conv_2D.0, fc4.0, fc5.1)
Reading PyTorch files needs torch: `pip install torch==2.13.0` (or the `convert` extra).

Python API (the command line only parses its flags and calls convert_file):
  convert_file(torch_file, output_dir, get_preset("official"))  a file -> a checkpoint directory
                                                                (returns the Conversion report)
  convert_state_dict(state_dict, config, kind=None)             arrays in memory -> Flax variables
  load_torch_state_dict(path), detect_kind(keys)                reading and recognising a state_dict
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import pickle
import re
import sys
import zipfile
from pathlib import Path
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from tanet_jax.cli import exit_on_interrupt, positive_int, prog
from tanet_jax.weights import save_model
from tanet_jax.models.model_config import PRESETS, ModelConfig, get_preset
from tanet_jax.models import AppearanceDiscriminator, Generator, MotionDiscriminator
from tanet_jax.models.ops import conv_transpose_kernel_to_conv

__all__ = ["KINDS", "Conversion", "ConversionError", "convert_file", "convert_state_dict", "detect_kind",
           "load_torch_state_dict", "main"]

KINDS = ("generator", "resnet18", "c3d", "appearance_discriminator", "motion_discriminator")
Transform = Callable[[np.ndarray], np.ndarray]


class ConversionError(ValueError):
    """A checkpoint that cannot be converted; the message lists every problem at once."""


@dataclasses.dataclass
class Conversion:
    """The converted variables and an account of every source key."""

    kind: str
    variables: dict[str, Any]
    converted: list[str]
    skipped: dict[str, str]
    missing: list[str]
    unexpected: list[str]
    mismatched: list[str]

    def report(self) -> str:
        """A human-readable summary of what was converted and what was not."""
        lines = [f"kind: {self.kind}", f"converted: {len(self.converted)} tensors"]
        reasons: dict[str, list[str]] = {}
        for key, why in self.skipped.items():
            reasons.setdefault(why, []).append(key)
        for why, keys in reasons.items():
            lines.append(f"skipped ({why}): {len(keys)}: {', '.join(sorted(keys))}")
        for label, keys in (("missing", self.missing), ("unexpected", self.unexpected),
                            ("mis-shaped", self.mismatched)):
            if keys:
                lines.append(f"{label}: {len(keys)}: " + "; ".join(keys))
        return "\n".join(lines)


# --------------------------------------------------------------------------- weight transforms

def _conv2d(w: np.ndarray) -> np.ndarray:
    return w.transpose(2, 3, 1, 0)  # OIHW -> HWIO


def _conv3d(w: np.ndarray) -> np.ndarray:
    return w.transpose(2, 3, 4, 1, 0)  # OITHW -> THWIO


def _identity(w: np.ndarray) -> np.ndarray:
    return w


def _linear_after_flatten(channels: int) -> Transform:
    """Linear weight that read an NCHW flatten, reordered for our NHWC flatten."""

    def transform(w: np.ndarray) -> np.ndarray:
        out, n = w.shape
        hw = n // channels
        side = int(round(hw**0.5))
        if channels * side * side != n:
            return w.T  # shape check reports the mismatch
        return w.reshape(out, channels, side, side).transpose(2, 3, 1, 0).reshape(n, out)

    return transform


def _linear(w: np.ndarray) -> np.ndarray:
    return w.T


# --------------------------------------------------------------------------- name mapping

_LEAF = {"kernel": "weight", "scale": "weight", "bias": "bias", "mean": "running_mean", "var": "running_var"}


def _resnet_rule(path: tuple[str, ...], prefix: str) -> tuple[str, Transform]:
    """encoder/layer2_0/downsample_0/kernel -> {prefix}layer2.0.downsample.0.weight"""
    parts = [p.replace("_", ".") for p in path[1:-1]]
    transform = _conv2d if path[-1] == "kernel" else _identity
    return prefix + ".".join(parts + [_LEAF[path[-1]]]), transform


def _c3d_rule(path: tuple[str, ...], prefix: str) -> tuple[str, Transform]:
    """motion/conv3a/kernel -> {prefix}conv3a.weight"""
    transform = _conv3d if path[-1] == "kernel" else _identity
    return f"{prefix}{path[-2]}.{_LEAF[path[-1]]}", transform


def _generator_rule(path: tuple[str, ...], config: ModelConfig) -> tuple[str, Transform]:
    top, leaf = path[0], path[-1]
    if top == "encoder":
        return _resnet_rule(path, "encoder.")
    if top == "motion":
        return _c3d_rule(path, "motionModel.")
    transform = conv_transpose_kernel_to_conv if leaf == "kernel" else _identity
    if top == "decoder":
        index = path[1].split("_")[1]
        return f"decoder.{index}.{_LEAF[leaf]}", transform
    if top == "head":
        return f"mymodules.0.{_LEAF[leaf]}", transform
    raise KeyError(path)


def _appearance_rule(path: tuple[str, ...], config: ModelConfig) -> tuple[str, Transform]:
    name, leaf = path[-2], path[-1]
    if name == "fc4":
        return f"fc4.0.{_LEAF[leaf]}", _linear_after_flatten(config.dapp_widths[2]) if leaf == "kernel" else _identity
    if name == "fc5":
        return f"fc5.1.{_LEAF[leaf]}", _linear if leaf == "kernel" else _identity
    return f"{name}.0.{_LEAF[leaf]}", _conv2d if leaf == "kernel" else _identity


def _motion_d_rule(path: tuple[str, ...], config: ModelConfig) -> tuple[str, Transform]:
    if path[0] == "trunk":
        return _c3d_rule(path, "")
    name, leaf = path[-2], path[-1]
    if name == "conv_2D":
        return f"conv_2D.0.{_LEAF[leaf]}", _conv2d if leaf == "kernel" else _identity
    if name == "fc4":
        return f"fc4.0.{_LEAF[leaf]}", _linear_after_flatten(config.dmot_conv) if leaf == "kernel" else _identity
    return f"fc5.1.{_LEAF[leaf]}", _linear if leaf == "kernel" else _identity


# Keys present in official files that no module of ours uses, with the reason reported.
_DEAD = {
    "generator": (("encoder.fc.", "ResNet classifier, unused"),
                  ("motionModel.fc6.", "C3D fc layers, unused by the release"),
                  ("motionModel.fc7.", "C3D fc layers, unused by the release"),
                  ("motionModel.fc8.", "C3D fc layers, unused by the release")),
    "resnet18": (("fc.", "ResNet classifier, unused"),),
    "c3d": (("fc6.", "C3D fc layers, unused"), ("fc7.", "C3D fc layers, unused"),
            ("fc8.", "C3D fc layers, unused")),
    "appearance_discriminator": (),
    "motion_discriminator": (),
}


def _abstract_variables(kind: str, config: ModelConfig) -> dict[str, Any]:
    """Shapes of every variable our model of this kind holds (no compute, no memory)."""
    s = config.input_size
    img = jnp.zeros((1, s, s, 3))
    clip = jnp.zeros((1, 3, s, s, 3))
    key = jax.random.key(0)
    if kind == "appearance_discriminator":
        return jax.eval_shape(AppearanceDiscriminator(config).init, key, img, img[..., 0])
    if kind == "motion_discriminator":
        return jax.eval_shape(MotionDiscriminator(config).init, key, clip, clip[..., 0])
    variables = jax.eval_shape(Generator(config).init, key, img, img, clip)
    keep = {"resnet18": ("encoder",), "c3d": ("motion",)}.get(kind)
    if keep:
        variables = {col: {k: v for k, v in tree.items() if k in keep} for col, tree in variables.items()}
        variables = {col: tree for col, tree in variables.items() if tree}
    return variables


def _rule(kind: str, path: tuple[str, ...], config: ModelConfig) -> tuple[str, Transform]:
    if kind == "resnet18":
        return _resnet_rule(path, "")
    if kind == "c3d":
        return _c3d_rule(path, "")
    if kind == "generator":
        return _generator_rule(path, config)
    if kind == "appearance_discriminator":
        return _appearance_rule(path, config)
    return _motion_d_rule(path, config)


def detect_kind(keys: Any) -> str:
    """Which checkpoint this is, from its key names."""
    keys = set(keys)
    if any(k.startswith(("encoder.", "decoder.", "motionModel.", "mymodules.")) for k in keys):
        return "generator"
    if "conv_2D.0.weight" in keys:
        return "motion_discriminator"
    if "fc5.1.weight" in keys and "conv1.0.weight" in keys:
        return "appearance_discriminator"
    if "layer1.0.conv1.weight" in keys:
        return "resnet18"
    if "conv3a.weight" in keys:
        return "c3d"
    sample = ", ".join(sorted(keys)[:8])
    raise ConversionError(f"cannot tell what checkpoint this is from its keys ({sample}, ...); pass --kind")


def strip_prefixes(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Drop DataParallel's `module.` prefix (at the front of every key) where present."""
    out = {}
    for key, value in state_dict.items():
        while key.startswith("module."):
            key = key[len("module."):]
        out[key] = value
    return out


def convert_state_dict(
    state_dict: Mapping[str, Any],
    config: ModelConfig,
    kind: str | None = None,
    allow_partial: bool = False,
) -> Conversion:
    """Map a PyTorch state_dict (numpy or torch tensors) onto our variables."""
    sd = {k: np.asarray(v) for k, v in strip_prefixes(state_dict).items()}
    kind = kind or detect_kind(sd)
    if kind not in KINDS:
        raise ConversionError(f"unknown kind {kind!r}; choose from {KINDS}")
    flat = traverse_util.flatten_dict(_abstract_variables(kind, config))
    out: dict[tuple[str, ...], np.ndarray] = {}
    converted, missing, mismatched, used = [], [], [], set()
    for (collection, *path), spec in flat.items():
        torch_key, transform = _rule(kind, tuple(path), config)
        used.add(torch_key)
        if torch_key not in sd:
            missing.append(f"{torch_key} (expected {_torch_shape_hint(spec.shape)})")
            continue
        value = transform(sd[torch_key]).astype(np.float32)
        if value.shape != spec.shape:
            mismatched.append(
                f"{torch_key}: {tuple(sd[torch_key].shape)} does not give {tuple(spec.shape)} "
                f"for {collection}/{'/'.join(path)}"
            )
            continue
        out[(collection, *path)] = np.ascontiguousarray(value)
        converted.append(torch_key)
    skipped: dict[str, str] = {}
    unexpected = []
    for key in sorted(set(sd) - used):
        reason = next((why for prefix, why in _DEAD[kind] if key.startswith(prefix)), None)
        if reason is None and key.endswith("num_batches_tracked"):
            reason = "BatchNorm step counter, unused"
        if reason is None:
            unexpected.append(f"{key} {tuple(sd[key].shape)}")
        else:
            skipped[key] = reason
    result = Conversion(kind, traverse_util.unflatten_dict(out) if out else {}, converted, skipped,
                        missing, unexpected, mismatched)
    if (missing or unexpected or mismatched) and not allow_partial:
        raise ConversionError(
            f"{kind} checkpoint does not match the model config "
            f"({len(missing)} missing, {len(unexpected)} unexpected, {len(mismatched)} mis-shaped); "
            f"pass --allow-partial to convert what matches.\n" + result.report()
        )
    return result


def _torch_shape_hint(shape: tuple[int, ...]) -> str:
    return "shape " + "x".join(map(str, shape)) + " in our layout"


# --------------------------------------------------------------------------- loading torch files

def load_torch_state_dict(path: str | Path, trust_checkpoint: bool = False) -> dict[str, np.ndarray]:
    """Read a torch.save file (zip or legacy) safely (weights_only) into numpy arrays."""
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ConversionError(
            "reading PyTorch checkpoints needs torch: pip install torch==2.13.0"
        ) from e
    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"{path}: no such file")
    if not is_torch_save_file(path):
        raise ConversionError(
            f"{path}: not a PyTorch checkpoint (torch.save writes a zip archive holding data.pkl, "
            "or a legacy pickle that starts with torch's magic number; this file is neither)"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if not trust_checkpoint:
            raise ConversionError(
                f"{path}: this file needs full unpickling, which can run arbitrary code from the "
                "file. It was refused. If you trust its source, pass --trust-checkpoint. "
                f"(torch said: {_first_line(e)})"
            ) from None
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as e2:  # noqa: BLE001 - torch raises many types for corrupt files
            raise ConversionError(
                f"{path}: not a readable torch.save file, even fully unpickled "
                f"({type(e2).__name__}: {_first_line(e2)})"
            ) from None
    except Exception as e:  # noqa: BLE001 - torch raises many types for corrupt files
        raise ConversionError(
            f"{path}: not a readable torch.save file ({type(e).__name__}: {_first_line(e)})"
        ) from None
    return _to_numpy_state_dict(obj, path)


# torch.save's legacy (non-zip) format starts with this number, pickled.
_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _NoGlobalsUnpickler(pickle.Unpickler):
    """Reads plain values only: any class or function reference is refused, so nothing runs."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"global {module}.{name} refused")


def is_torch_save_file(path: str | Path) -> bool:
    """Whether a file has torch.save's layout (zip with data.pkl, or the legacy magic number)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return any(n == "data.pkl" or n.endswith("/data.pkl") for n in archive.namelist())
    with open(path, "rb") as f:
        try:
            first = _NoGlobalsUnpickler(f).load()
        except Exception:  # noqa: BLE001 - any failure means: not torch's legacy header
            return False
    return isinstance(first, int) and first == _TORCH_LEGACY_MAGIC


def _first_line(error: BaseException) -> str:
    """The first line of an exception's message, so errors stay one line."""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip().splitlines()  # torch bolds with ANSI codes
    return lines[0].strip() if lines else type(error).__name__


def _to_numpy_state_dict(obj: Any, path: Path) -> dict[str, np.ndarray]:
    import torch

    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, Mapping):
        for wrapper in ("state_dict", "model", "generator", "model_state_dict"):
            inner = obj.get(wrapper)
            if isinstance(inner, Mapping) and inner and all(torch.is_tensor(v) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, Mapping) or not obj:
        raise ConversionError(f"{path}: expected a state_dict (a dict of tensors), got {type(obj).__name__}")
    bad = [str(k) for k, v in obj.items() if not torch.is_tensor(v)]
    if bad:
        raise ConversionError(f"{path}: entries that are not tensors: {', '.join(bad[:10])}")
    return {str(k): v.detach().cpu().numpy() for k, v in obj.items()}


def file_sha256(path: str | Path) -> str:
    """Content hash recorded in the converted checkpoint's meta, for provenance."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def convert_file(
    torch_checkpoint: str | Path,
    output: str | Path,
    config: ModelConfig,
    kind: str | None = None,
    allow_partial: bool = False,
    trust_checkpoint: bool = False,
    overwrite: bool = False,
) -> Conversion:
    """Convert one PyTorch file into a tanet-jax checkpoint directory (written atomically), the
    source file's SHA-256 and any partial conversion recorded in its meta; the API behind `main`."""
    sd = load_torch_state_dict(torch_checkpoint, trust_checkpoint)
    result = convert_state_dict(sd, config, kind, allow_partial)
    save_model(
        output,
        result.variables,
        kind=result.kind,
        config=config,
        extra={
            "source": Path(torch_checkpoint).name,
            "source_sha256": file_sha256(torch_checkpoint),
            "partial": bool(result.missing or result.unexpected or result.mismatched),
            "missing": result.missing,
            "skipped": sorted(result.skipped),
        },
        overwrite=overwrite,
    )
    return result


@exit_on_interrupt("conversion")
def main(argv: list[str] | None = None) -> int:
    """CLI entry point: parse flags, convert, print the report; errors are one line, exit 2."""
    name = prog("tanet_jax.convert")
    parser = argparse.ArgumentParser(
        prog=name,
        description=__doc__,
        epilog=f"example: {name} --torch-checkpoint TANet_model.pkl --output checkpoints/tanet_official",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--torch-checkpoint", required=True, metavar="FILE",
                        help="file written by torch.save (required)")
    parser.add_argument("--output", required=True, metavar="DIR",
                        help="checkpoint directory to write, atomically (required; must not exist "
                             "unless --overwrite)")
    parser.add_argument("--kind", choices=KINDS, help="what the file holds (default: recognised from its keys)")
    parser.add_argument("--preset", default="official", choices=sorted(PRESETS),
                        help="model sizes the weights are for (default: %(default)s)")
    parser.add_argument("--input-size", type=positive_int, metavar="N",
                        help="network input size (default: the preset's, 300 for official)")
    parser.add_argument("--allow-partial", action="store_true",
                        help="convert what matches and record missing, unexpected and mis-shaped keys "
                             "in the meta (default: off, any mismatch is an error)")
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="allow full unpickling, which can run code from the file (default: off, "
                             "files are read with torch.load(weights_only=True))")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --output (default: off)")
    args = parser.parse_args(argv)
    overrides = {"input_size": args.input_size} if args.input_size else {}
    try:
        config = get_preset(args.preset, **overrides)
        result = convert_file(args.torch_checkpoint, args.output, config, args.kind,
                              args.allow_partial, args.trust_checkpoint, args.overwrite)
    except (ConversionError, FileExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(result.report())
    print(f"wrote {Path(args.output).absolute()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
