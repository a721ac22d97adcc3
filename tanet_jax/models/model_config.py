"""Model configuration: one frozen dataclass selects every size, so presets are data."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Sizes of the generator and both discriminators; `official` is exactly the release."""

    input_size: int = 300
    # ResNet-18 encoder (torchvision BasicBlock layout).
    resnet_stem: int = 64
    resnet_widths: tuple[int, ...] = (64, 128, 256, 512)
    resnet_blocks: tuple[int, ...] = (2, 2, 2, 2)
    # C3D widths for conv1, conv2, conv3a/b, conv4a/b, conv5a/b (generator and motion D).
    c3d_widths: tuple[int, ...] = (64, 128, 256, 512, 512)
    # Decoder: stages separated by nearest x2 upsampling; each stage is (width, n_layers).
    decoder_stages: tuple[tuple[int, int], ...] = ((512, 3), (512, 3), (256, 3), (128, 2), (64, 2))
    # Appearance discriminator: conv widths (conv1, conv2, conv3) and fc4 width.
    dapp_widths: tuple[int, ...] = (96, 256, 256)
    dapp_fc: int = 256
    # Motion discriminator: conv_2D width and fc4 width (its trunk uses c3d_widths).
    dmot_conv: int = 100
    dmot_fc: int = 256
    # Dropout before each discriminator's last layer (the release: 0.5).
    dropout: float = 0.5
    # Reproduce the release's quirks (discriminators ending in ReLU); see the spec.
    release_compat: bool = False
    # Compute dtype ("float32" or "bfloat16"); parameters stay float32.
    dtype: str = "float32"
    # Where a half dtype applies in the generator: "motion" (its C3D trunk, most of the FLOPs;
    # the ResNet encoder and the linear decoder stay float32, because rounding the fused
    # features to bfloat16 reaches the map: relative L2 1.4e-2 against 1.7e-5 at official size)
    # or "all". The discriminators always compute in `dtype`.
    half_scope: str = "motion"
    # How the C3D trunks and the decoder are laid out for XLA: "per_frame" (a convolution and a
    # pool per frame, Winograd kernels where prepared: the fastest on a CPU), "stacked" (the
    # frames stacked on the batch, one convolution per layer, no Winograd: fewer, larger kernels
    # for a GPU or TPU), or "auto" (per_frame on CPU, stacked elsewhere). The same function.
    formulation: str = "auto"

    @property
    def output_size(self) -> int:
        """The map is resized back to the input size, as the release does (300 -> 300)."""
        return self.input_size

    @property
    def compute_dtype(self) -> Any:
        """The jnp dtype used for activations."""
        return jnp.dtype(self.dtype)

    @property
    def generator_feature_dtype(self) -> Any:
        """The dtype of the generator's ResNet encoder and decoder (see half_scope)."""
        return self.compute_dtype if self.half_scope == "all" else jnp.dtype(jnp.float32)

    @property
    def stacked_frames(self) -> bool:
        """Whether this backend (or the override) stacks frames on the batch (see formulation)."""
        if self.formulation == "auto":
            import jax

            return jax.default_backend() != "cpu"
        return self.formulation == "stacked"

    def replace(self, **changes: Any) -> "ModelConfig":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, stored beside every checkpoint."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelConfig":
        """Inverse of to_dict; unknown keys are an error so typos never pass silently."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown ModelConfig keys: {unknown}")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, list):
                value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
            kwargs[key] = value
        return cls(**kwargs)

    def __post_init__(self) -> None:
        if self.input_size < 112:
            raise ValueError(
                f"input_size must be >= 112 (the motion discriminator's last pool needs a 3x3 "
                f"map), got {self.input_size}"
            )
        if len(self.resnet_widths) != 4 or len(self.resnet_blocks) != 4:
            raise ValueError("resnet_widths and resnet_blocks need 4 entries (layer1..layer4)")
        if len(self.c3d_widths) != 5:
            raise ValueError("c3d_widths needs 5 entries (conv1, conv2, conv3, conv4, conv5)")
        if len(self.dapp_widths) != 3:
            raise ValueError("dapp_widths needs 3 entries (conv1, conv2, conv3)")
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"dtype must be float32, bfloat16 or float16, got {self.dtype!r}")
        if self.formulation not in ("auto", "per_frame", "stacked"):
            raise ValueError(f"formulation must be 'auto', 'per_frame' or 'stacked', got {self.formulation!r}")
        if self.half_scope not in ("motion", "all"):
            raise ValueError(f"half_scope must be 'motion' or 'all', got {self.half_scope!r}")


PRESETS: dict[str, ModelConfig] = {
    "official": ModelConfig(),
    # A quarter of the widths at 160x160: CPU demos and training on synthetic data.
    "small": ModelConfig(
        input_size=160,
        resnet_stem=16,
        resnet_widths=(16, 32, 64, 128),
        c3d_widths=(16, 32, 64, 128, 128),
        decoder_stages=((128, 2), (64, 2), (32, 2), (32, 1), (16, 1)),
        dapp_widths=(24, 64, 64),
        dapp_fc=64,
        dmot_conv=32,
        dmot_fc=64,
    ),
    # Tiny widths at 128x128: unit tests in milliseconds.
    "tiny": ModelConfig(
        input_size=128,
        resnet_stem=8,
        resnet_widths=(8, 16, 16, 32),
        c3d_widths=(8, 8, 16, 16, 16),
        decoder_stages=((16, 2), (16, 1), (8, 2), (8, 1), (8, 2)),
        dapp_widths=(8, 16, 16),
        dapp_fc=16,
        dmot_conv=8,
        dmot_fc=16,
    ),
}


def get_preset(name: str, **overrides: Any) -> ModelConfig:
    """A named preset, optionally with some fields replaced."""
    if name not in PRESETS:
        raise KeyError(f"unknown model preset {name!r}; choose from {sorted(PRESETS)}")
    return PRESETS[name].replace(**overrides) if overrides else PRESETS[name]
