"""Trackers built from one config (local + joint settings) and an attention name, so `track`,
`evaluate`, the got10k adapter and the notebooks all build the same tracker the same way.
`local.kind` picks the local tracker (ours, or OpenCV's CSRT, KCF or MIL behind blackbox.py);
`make_tracker(..., local=YOUR_TRACKER)` takes any protocol.BlackBoxTracker instead."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import ml_collections
import numpy as np

from tanet_jax.tracking.attention import AttentionProvider, GroundTruthAttention, NoAttention, TanetAttention
from tanet_jax.tracking.blackbox import OPENCV, BlackBoxLocal, OpenCVTracker
from tanet_jax.tracking.cf import CFParams, CorrelationFilterTracker
from tanet_jax.tracking.joint import JointParams, JointTracker
from tanet_jax.tracking.protocol import BlackBoxTracker, LocalTracker
from tanet_jax.tracking.redetect import CorrelationAttention, RedetectParams

# Attention sources a user can name; "groundtruth" is an upper bound (it reads the annotations).
ATTENTIONS = ("none", "correlation", "groundtruth", "tanet")
# Local trackers `local.kind` names: "cf" is ours (cf.py); the others are OpenCV's (opencv-contrib),
# judged and sent to global candidates by a correlation filter with the `local` section's settings.
LOCAL_KINDS = ("cf", *OPENCV)


def default_config() -> ml_collections.ConfigDict:
    """The tracker's settings as data: `local` (`kind`, the local tracker, and the correlation
    filter's settings), `joint` (the switch) and `redetect` (the correlation attention's whole-frame
    detector)."""
    return ml_collections.ConfigDict({"local": {"kind": "cf", **dataclasses.asdict(CFParams())},
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
    """The correlation filter's params from config['local'] (all of it but `kind`)."""
    values = dict((config or {}).get("local") or {})
    values.pop("kind", None)
    return _params(CFParams, values, "local")


def local_kind(config: Mapping[str, Any] | None = None) -> str:
    """config['local']['kind'] (absent in older configs: 'cf'), checked against LOCAL_KINDS."""
    kind = ((config or {}).get("local") or {}).get("kind", "cf")
    if kind not in LOCAL_KINDS:
        raise ValueError(f"tracker config [local]: kind {kind!r} is unknown; choose one of {', '.join(LOCAL_KINDS)}")
    return kind


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


def make_local(config: Mapping[str, Any] | None = None, tracker: BlackBoxTracker | None = None,
               learn: bool = True) -> tuple[LocalTracker, CorrelationFilterTracker]:
    """The local tracker `local.kind` names, or `tracker` (a BlackBoxTracker) behind BlackBoxLocal,
    and the correlation filter that verifies candidates (the local tracker itself for 'cf').
    `learn`: whether that filter learns for global candidates (BlackBoxLocal)."""
    kind, verifier = local_kind(config), CorrelationFilterTracker(local_params(config))
    if tracker is not None and kind != "cf":
        raise ValueError(f"tracker config [local]: kind {kind!r} and a tracker object both name the local "
                         "tracker; leave local.kind 'cf' when passing your own")
    if tracker is None and kind == "cf":
        return verifier, verifier
    return BlackBoxLocal(tracker or OpenCVTracker(kind), verifier, learn), verifier


def make_tracker(config: Mapping[str, Any] | None = None, attention: str = "none", *,
                 boxes: np.ndarray | None = None, absent: np.ndarray | None = None,
                 predictor: Any = None, local: BlackBoxTracker | None = None) -> JointTracker:
    """A fresh joint tracker (one per sequence): `attention='none'` is the local tracker alone;
    `local` is your own tracker (init(frame, box), update(frame) -> (box, confidence)) in place of
    the one `local.kind` names."""
    tracker, verifier = make_local(config, local, learn=attention != "none")
    provider = make_attention(attention, verifier, boxes=boxes, absent=absent, predictor=predictor,
                              redetect=redetect_params(config))
    return JointTracker(tracker, provider, joint_params(config))
