"""Timing shared by the benchmarks: best of N after a warm-up call (compilation excluded)."""

from __future__ import annotations

import time
from typing import Callable


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Minimum wall time of `fn` over `repeats` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def channels_last_(module):
    """Put a PyTorch module's 2-D convolutions in channels-last, in place (the GPU-tuned reference);
    `module.to(memory_format=...)` would also hit the C3D's 5-D kernels, which that format refuses."""
    import torch

    for m in module.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.to(memory_format=torch.channels_last)
    return module
