"""PyTorch-exact building blocks (NHWC): nearest resize, LRN, padded max-pool, convolutions."""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

Array = jax.Array

_NHWC = ("NHWC", "HWIO", "NHWC")


def nearest_indices(in_size: int, out_size: int) -> np.ndarray:
    """Source indices of PyTorch's 'nearest' mode: floor(dst * (in/out)) in float32, clamped."""
    if out_size == in_size:
        return np.arange(out_size)
    if out_size == 2 * in_size:
        return np.arange(out_size) >> 1
    scale = np.float32(in_size) / np.float32(out_size)
    src = np.floor(np.arange(out_size, dtype=np.float32) * scale).astype(np.int64)
    return np.minimum(src, in_size - 1)


def resize_nearest(x: Array, size: tuple[int, int]) -> Array:
    """`F.interpolate(x, size=size)` (mode 'nearest') for an NHWC tensor."""
    h, w = x.shape[1], x.shape[2]
    if (h, w) == tuple(size):
        return x
    x = jnp.take(x, nearest_indices(h, size[0]), axis=1)
    return jnp.take(x, nearest_indices(w, size[1]), axis=2)


def upsample2x(x: Array) -> Array:
    """`nn.Upsample(scale_factor=2)` (nearest) for NHWC: repeat each pixel twice per axis."""
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def local_response_norm(
    x: Array, size: int = 2, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Array:
    """`nn.LocalResponseNorm(size)` over the channel (last) axis, zero beyond the edges."""
    sq = jnp.square(x)
    c = x.shape[-1]
    front, back = size // 2, (size - 1) // 2
    padded = jnp.pad(sq, [(0, 0)] * (x.ndim - 1) + [(front, back)])
    window = sum(padded[..., i : i + c] for i in range(size))
    div = jnp.power(k + (alpha / size) * window, beta)
    return x / div


def max_pool(
    x: Array, window: Sequence[int], strides: Sequence[int], padding: Sequence[int] = ()
) -> Array:
    """`nn.MaxPool2d` (floor mode) on NHWC: padding counts as -inf, as in PyTorch.

    Computed as the maximum of kh*kw strided slices of the padded input: XLA's CPU reduce_window
    with padding is several times slower (0.43 s against 0.06 s on C3D's pool5 at 75x75x512), and
    over a whole training step the slices also win (train_step.py: 1.08x against 1.24x mixed)."""
    pads = tuple(padding) or (0,) * len(window)
    (kh, kw), (sh, sw), (ph, pw) = window, strides, pads
    h, w = x.shape[1], x.shape[2]
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"max_pool window {window} does not fit a {h}x{w} map (padding {pads})")
    # Pad so every window of every output lies inside (extra rows past the last window are unused).
    back_h = max(0, (oh - 1) * sh + kh - h - ph)
    back_w = max(0, (ow - 1) * sw + kw - w - pw)
    xp = jnp.pad(x, ((0, 0), (ph, back_h), (pw, back_w), (0, 0)), constant_values=-jnp.inf)
    out = None
    for dy in range(kh):
        for dx in range(kw):
            part = xp[:, dy : dy + (oh - 1) * sh + 1 : sh, dx : dx + (ow - 1) * sw + 1 : sw]
            out = part if out is None else jnp.maximum(out, part)
    return out


def conv2d(
    x: Array,
    kernel: Array,
    bias: Array | None = None,
    stride: int = 1,
    padding: int = 0,
) -> Array:
    """`nn.Conv2d` with symmetric zero padding; kernel is HWIO."""
    y = lax.conv_general_dilated(
        x,
        kernel.astype(x.dtype),
        window_strides=(stride, stride),
        padding=((padding, padding), (padding, padding)),
        dimension_numbers=_NHWC,
    )
    if bias is not None:
        y = y + bias.astype(y.dtype)
    return y


def conv_transpose_kernel_to_conv(weight_iohw: np.ndarray) -> np.ndarray:
    """A stride-1 ConvTranspose2d weight (in, out, kh, kw) as an HWIO conv kernel (flipped)."""
    return np.ascontiguousarray(np.flip(weight_iohw, axis=(2, 3)).transpose(2, 3, 0, 1))


def conv_transpose_padding(kernel_size: int, padding: int) -> int:
    """Padding of the ordinary convolution equal to a stride-1 transposed one."""
    return kernel_size - 1 - padding


# Rows (or columns) of a 3x3 kernel that fall on each of the 2 low-resolution taps, per output
# phase, when the conv follows a nearest x2 upsample: phase 0 reads rows (i-1, i), phase 1 (i, i+1).
_PHASE_TAPS = (((0,), (1, 2)), ((0, 1), (2,)))


def upsample2x_conv3x3(x: Array, kernel: Array, bias: Array | None = None) -> Array:
    """`conv3x3(upsample2x(x))` (padding 1) computed at the low resolution: each of the 4 output
    phases is a 2x2 conv whose taps sum the 3x3 kernel's rows/columns that land on the same input
    pixel. Exact (zero padding included) with 4/9 of the multiply-adds."""
    k = kernel.astype(x.dtype)
    phases = []
    for a in range(2):
        for b in range(2):
            rows = [sum(k[r] for r in _PHASE_TAPS[a][t]) for t in range(2)]
            taps = [[sum(row[c] for c in _PHASE_TAPS[b][u]) for u in range(2)] for row in rows]
            phases.append(jnp.stack([jnp.stack(t, 0) for t in taps], 0))  # (2, 2, in, out)
    cout = k.shape[-1]
    fused = jnp.concatenate(phases, axis=-1)  # (2, 2, in, 4 * out), phase-major
    # Pad explicitly and convolve VALID: with the padding inside the conv, XLA's CPU weight
    # gradient of this 2x2 kernel falls to a naive loop (19x19x512 -> 4x512: 2.1 s against 24 ms).
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    q = lax.conv_general_dilated(xp, fused, (1, 1), "VALID", dimension_numbers=_NHWC)
    h, w = x.shape[1], x.shape[2]
    out = [q[:, a : a + h, b : b + w, (2 * a + b) * cout : (2 * a + b + 1) * cout] for a in range(2) for b in range(2)]
    y = jnp.stack(out, axis=3).reshape(x.shape[0], h, w, 2, 2, cout)
    y = y.transpose(0, 1, 3, 2, 4, 5).reshape(x.shape[0], 2 * h, 2 * w, cout)
    return y if bias is None else y + bias.astype(y.dtype)


# Winograd F(2x2, 3x3) (Lavin & Gray, 2016): kernel transform G g G^T, input B^T d B, output A^T m A.
# Prepared kernels travel in this variable collection; only layers at least this wide (in and
# out) gain from it on a CPU (experiments/results/performance.md).
WINOGRAD = "winograd"
WINOGRAD_MIN_CHANNELS = 512
# Without a prepared kernel the transform runs in the graph; it pays from about this many output
# positions (batch x height x width): 4x40x40 forward+backward 0.69x the direct conv's time.
WINOGRAD_MIN_POSITIONS = 5000
_WINOGRAD_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float32)


def winograd_pays(kernel: Array, min_channels: int = WINOGRAD_MIN_CHANNELS) -> bool:
    """Whether a (3, 3, in, out) kernel is wide enough, in and out, for Winograd to pay on a CPU."""
    return min(kernel.shape[2], kernel.shape[3]) >= min_channels


def winograd_kernel(kernel: Array) -> Array:
    """A (3, 3, in, out) kernel in the Winograd F(2x2, 3x3) domain, (16, in, out); computed once
    per set of weights (`AttentionPredictor` caches it), since it costs as much as the GEMMs save."""
    g = jnp.asarray(_WINOGRAD_G, kernel.dtype)
    return jnp.einsum("ai,ijcd,bj->abcd", g, kernel, g).reshape(16, kernel.shape[2], kernel.shape[3])


def _winograd_input_1d(rows: Sequence[Array]) -> list[Array]:
    """B^T applied along one axis to the four tile rows d0..d3."""
    d0, d1, d2, d3 = rows
    return [d0 - d2, d1 + d2, d2 - d1, d1 - d3]


def conv3x3_winograd(x: Array, kernel_w: Array, bias: Array | None = None) -> Array:
    """`conv2d(x, k, bias, 1, 1)` for a 3x3 kernel given as `winograd_kernel(k)`.

    2.25x fewer multiplications as 16 GEMMs over 2x2 output tiles; same function (rounding
    differs: rel. error ~6e-7 in float32). Faster than XLA's direct conv on this CPU only where
    the channels are wide (512 in and out at 75x75: 112 ms against 140 ms), see performance.md."""
    b, h, w, c = x.shape
    nh, nw = -(-h // 2), -(-w // 2)
    xp = jnp.pad(x, ((0, 0), (1, 1 + 2 * nh - h), (1, 1 + 2 * nw - w), (0, 0)))
    tiles = []
    for t in _winograd_input_1d([xp[:, u : u + 2 * nh : 2] for u in range(4)]):
        tiles += _winograd_input_1d([t[:, :, v : v + 2 * nw : 2] for v in range(4)])
    v = jnp.stack(tiles).reshape(16, b * nh * nw, c)
    m = lax.dot_general(v, kernel_w.astype(x.dtype), (((2,), (1,)), ((0,), (0,))))
    m = m.reshape(4, 4, b, nh, nw, -1)
    rows = [m[0] + m[1] + m[2], m[1] - m[2] - m[3]]  # A^T along the first tile axis
    out = [[r[0] + r[1] + r[2], r[1] - r[2] - r[3]] for r in rows]  # and along the second
    y = jnp.stack([jnp.stack(r, axis=3) for r in out], axis=2).reshape(b, 2 * nh, 2 * nw, -1)[:, :h, :w]
    return y if bias is None else y + bias.astype(y.dtype)


def conv3x3(x: Array, kernel: Array, bias: Array | None = None, prepared: Array | None = None,
            winograd: bool = True) -> Array:
    """`conv2d(x, kernel, bias, 1, 1)` by the fastest exact route on this backend: Winograd with a
    `prepared` kernel when given; on a CPU, Winograd with the transform in the graph for wide
    layers on large maps (training's C3D conv4b-conv5b); XLA's direct conv otherwise, and always
    with `winograd=False` (the stacked formulation)."""
    if not winograd:
        return conv2d(x, kernel, bias, 1, 1)
    if prepared is not None:
        return conv3x3_winograd(x, prepared, bias)
    b, h, w, _ = x.shape
    if winograd_pays(kernel) and b * h * w >= WINOGRAD_MIN_POSITIONS and jax.default_backend() == "cpu":
        return conv3x3_winograd(x, winograd_kernel(kernel.astype(x.dtype)), bias)
    return conv2d(x, kernel, bias, 1, 1)
