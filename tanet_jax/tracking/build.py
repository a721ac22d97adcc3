"""Trackers built from one config (local + joint settings) and an attention name, so `track`,
`evaluate`, the got10k adapter and the notebooks all build the same tracker the same way."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import ml_collections
import numpy as np

from tanet_jax.tracking.attention import AttentionProvider, GroundTruthAttention, NoAttention, TanetAttention
from tanet_jax.tracking.cf import CFParams, CorrelationFilterTracker
from tanet_jax.tracking.joint import JointParams, JointTracker
from tanet_jax.tracking.redetect import CorrelationAttention, RedetectParams

# Attention sources a user can name; "groundtruth" is an upper bound (it reads the annotations).
ATTENTIONS = ("none", "correlation", "groundtruth", "tanet")


def default_config() -> ml_collections.ConfigDict:
    """The tracker's settings as data: `local` (the correlation filter), `joint` (the switch) and
    `redetect` (the correlation attention's whole-frame detector)."""
    return ml_collections.ConfigDict({"local": dataclasses.asdict(CFParams()),
                                      "joint": dataclasses.asdict(JointParams()),
                                      "redetect": dataclasses.asdict(RedetectParams())})


def _params(cls: type, values: Mapping[str, Any] | None, section: str) -> Any:
    """A params dataclass from a mapping, naming unknown keys (a typo must not pass silently)."""
    values = dict(values or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"tracker config [{section}]: unknown key(s) {unknown}; known: {sorted(known)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**values)


def local_params(config: Mapping[str, Any] | None = None) -> CFParams:
    """The local tracker's params from config['local']."""
    return _params(CFParams, (config or {}).get("local"), "local")


def joint_params(config: Mapping[str, Any] | None = None) -> JointParams:
    """The switch's params from config['joint']."""
    return _params(JointParams, (config or {}).get("joint"), "joint")


def redetect_params(config: Mapping[str, Any] | None = None) -> RedetectParams:
    """The correlation attention's params from config['redetect'] (absent in older configs: defaults)."""
    return _params(RedetectParams, (config or {}).get("redetect"), "redetect")


def make_attention(name: str, local: CorrelationFilterTracker, *, boxes: np.ndarray | None = None,
                   absent: np.ndarray | None = None, predictor: Any = None,
                   redetect: RedetectParams = RedetectParams()) -> AttentionProvider:
    """The provider called `name`; groundtruth needs the boxes, tanet a predictor."""
    if name == "none":
        return NoAttention()
    if name == "correlation":
        return CorrelationAttention(redetect, orientations=local.p.orientations, color=local.p.color)
    if name == "groundtruth":
        if boxes is None:
            raise ValueError("attention 'groundtruth' needs the sequence's ground-truth boxes")
        return GroundTruthAttention(boxes, absent)
    if name == "tanet":
        if predictor is None:
            raise ValueError("attention 'tanet' needs a TANet checkpoint (--checkpoint DIR)")
        return TanetAttention(predictor)
    raise ValueError(f"unknown attention {name!r}; choose one of {', '.join(ATTENTIONS)}")


def make_tracker(config: Mapping[str, Any] | None = None, attention: str = "none", *,
                 boxes: np.ndarray | None = None, absent: np.ndarray | None = None,
                 predictor: Any = None) -> JointTracker:
    """A fresh joint tracker (one per sequence): `attention='none'` is the local tracker alone."""
    local = CorrelationFilterTracker(local_params(config))
    provider = make_attention(attention, local, boxes=boxes, absent=absent, predictor=predictor,
                              redetect=redetect_params(config))
    return JointTracker(local, provider, joint_params(config))
