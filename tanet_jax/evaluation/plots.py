"""Success and precision plots, and per-sequence IoU / confidence timelines (matplotlib, Agg)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tanet_jax.evaluation.metrics import NBINS_CE  # noqa: E402


def _save(fig, path: Path) -> None:
    """Write a figure atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=100, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)


def plot_curves(out: Path, curves: dict[str, tuple[np.ndarray, np.ndarray | None]], title: str = "OPE") -> None:
    """OUT/success_plot.png (legend: AUC, or AO for GOT-10k's 101-bin curve) and, where the
    benchmark has one, OUT/precision_plot.png (legend: precision at 20 px)."""
    fig, ax = plt.subplots(figsize=(5, 4))
    for label, (succ, _) in sorted(curves.items(), key=lambda kv: -np.mean(kv[1][0])):
        succ = np.asarray(succ)
        ax.plot(np.linspace(0, 1, len(succ)), succ, label=f"{label} [{np.mean(succ):.3f}]")
    ax.set(xlabel="overlap threshold", ylabel="success rate", title=f"Success plots of {title}", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    _save(fig, out / "success_plot.png")
    with_prec = {k: np.asarray(p) for k, (_, p) in curves.items() if p is not None}
    if not with_prec:
        return
    fig, ax = plt.subplots(figsize=(5, 4))
    for label, prec in sorted(with_prec.items(), key=lambda kv: -kv[1][20]):
        ax.plot(np.arange(len(prec)), prec, label=f"{label} [{prec[20]:.3f}]")
    ax.set(xlabel="location error threshold (px)", ylabel="precision", title=f"Precision plots of {title}",
           xlim=(0, NBINS_CE - 1), ylim=(0, 1))
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    _save(fig, out / "precision_plot.png")


def plot_timeline(path: Path, iou: np.ndarray, confidence: np.ndarray, fired: np.ndarray, threshold: float,
                  title: str) -> None:
    """IoU and confidence per frame, the switch threshold, and red ticks where global search fired."""
    fig, ax = plt.subplots(figsize=(8, 2.6))
    t = np.arange(len(iou))
    ax.plot(t, iou, label="IoU with ground truth", lw=1.2)
    ax.plot(t, confidence, label="confidence", lw=1.0)
    ax.axhline(threshold, color="gray", ls="--", lw=0.8, label="switch threshold")
    if fired.any():
        ax.vlines(t[fired], 0, 0.06, color="red", lw=1.0, label="global search")
    ax.set(xlabel="frame", ylim=(0, max(1.05, float(np.nanmax(confidence)) + 0.05)), title=title)
    ax.legend(loc="upper right", fontsize=7, ncol=2)
    _save(fig, path)


def plot_attributes(path: Path, scores: dict[str, dict[str, dict[str, float]]]) -> None:
    """Success AUC per attribute label (bars), one colour per tracker: {tracker: {attr: {success_auc, sequences}}}."""
    attrs = sorted({a for per in scores.values() for a in per})
    if not attrs:
        return
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(attrs) * max(1, len(scores))), 3.2))
    width = 0.8 / max(1, len(scores))
    x = np.arange(len(attrs))
    for k, (label, per) in enumerate(sorted(scores.items())):
        ax.bar(x + k * width, [per.get(a, {}).get("success_auc", np.nan) for a in attrs], width, label=label)
    counts = {a: max(per.get(a, {}).get("sequences", 0) for per in scores.values()) for a in attrs}
    ax.set_xticks(x + 0.4 - width / 2, [f"{a}\n({counts[a]})" for a in attrs], fontsize=8)
    ax.set(ylabel="success AUC", ylim=(0, 1), title="Success AUC per attribute (number of sequences)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    _save(fig, path)
