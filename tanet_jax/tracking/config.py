"""The tracker's config and the flags that set it, one syntax for every CLI and bench script:
`--config FILE` (a Python file whose get_config() returns the settings; default
build.default_config()) and `--config.SECTION.KEY=VALUE` to override one field, as
`python -m tanet_jax.train` takes them. The overrides are split from the other arguments and
applied here, so `track`, `evaluate` and experiments/bench parse them with this one code.

ml_collections' own override parsing works only through absl flags (an absl FlagValues parses the
command line); these CLIs parse with argparse, so this module applies the same `--config.a.b=value`
syntax to a ConfigDict directly: the value as a Python literal, else as the string."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any, Sequence

import ml_collections

from tanet_jax.cli import fraction, non_negative_int
from tanet_jax.tracking import build

PREFIX = "--config."

CONFIG_HELP = ("Tracker settings: --config FILE (a Python file whose get_config() returns them; default: "
               "tanet_jax.tracking.build.default_config(), as in experiments/configs/tracking/default.py) and "
               "--config.SECTION.KEY=VALUE to override one field (e.g. --config.joint.threshold=0.3).")


def load_config(path: str | Path | None) -> ml_collections.ConfigDict:
    """The tracker config of a Python file's get_config(), or build.default_config() for None."""
    if path is None:
        return build.default_config()
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such tracker config file (see experiments/configs/tracking/default.py)")
    spec = importlib.util.spec_from_file_location(f"_tracker_config_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # the user's file: say which one failed and why
        raise ValueError(f"{path}: cannot load the config file ({type(e).__name__}: {e})") from None
    if not hasattr(module, "get_config"):
        raise ValueError(f"{path}: a tracker config file defines get_config()")
    return module.get_config()


def split_overrides(argv: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Separate `--config.a.b=value` (or `--config.a.b value`) from the other arguments, which an
    argparse parser then reads (`--config FILE` among them)."""
    rest, overrides = [], []
    items = list(argv)
    i = 0
    while i < len(items):
        arg = items[i]
        if arg.startswith(PREFIX):
            key, eq, value = arg[len(PREFIX):].partition("=")
            if not key:
                raise ValueError(f"{arg}: expected --config.SECTION.KEY=VALUE (e.g. --config.joint.every=5)")
            if not eq:
                if i + 1 >= len(items):
                    raise ValueError(f"--config.{key} needs a value (--config.{key}=VALUE)")
                value, i = items[i + 1], i + 1
            overrides.append((key, value))
        else:
            rest.append(arg)
        i += 1
    return rest, overrides


def parse_value(text: str) -> Any:
    """A Python literal (number, bool, tuple, ...) or, failing that, the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def apply_overrides(config: ml_collections.ConfigDict, overrides: Sequence[tuple[str, str]]) -> None:
    """Set each dotted key; an unknown key or a value of the wrong type is a ValueError naming it."""
    for key, text in overrides:
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            if not isinstance(node, ml_collections.ConfigDict) or part not in node:
                raise ValueError(f"--config.{key}: unknown key {part!r}; known: {sorted(node.keys())}")
            node = node[part]
        if not isinstance(node, ml_collections.ConfigDict) or leaf not in node:
            known = sorted(node.keys()) if isinstance(node, ml_collections.ConfigDict) else []
            raise ValueError(f"--config.{key}: unknown key {leaf!r}; known: {known}")
        value = parse_value(text)
        if isinstance(node[leaf], tuple) and isinstance(value, list):
            value = tuple(value)
        try:
            node[leaf] = value
        except (TypeError, ValueError) as e:
            raise ValueError(f"--config.{key}={text}: {e}") from None


def tracker_config(path: str | Path | None, overrides: Sequence[tuple[str, str]] = ()) -> ml_collections.ConfigDict:
    """A config file (or the defaults) with `--config.` overrides applied (ValueError naming a bad one,
    a `local.kind` no tracker has among them, before any tracking)."""
    config = load_config(path)
    apply_overrides(config, overrides)
    build.local_kind(config)
    return config


def add_config_arguments(parser: Any) -> None:
    """--config FILE (the `--config.SECTION.KEY=VALUE` overrides are split off before argparse)."""
    parser.add_argument("--config", metavar="FILE", help="tracker config file (default: the built-in defaults); "
                        "override fields with --config.SECTION.KEY=VALUE (repeatable)")


def add_tracker_arguments(parser: Any, several: bool = False) -> None:
    """The tracker flags track and evaluate share (same names, same defaults); with `several`,
    --attention takes a comma-separated list (one joint tracker each, side by side)."""
    add_config_arguments(parser)
    names = ", ".join(build.ATTENTIONS)
    if several:
        parser.add_argument("--attention", default="none",
                            help=f"what proposes global-search candidates, comma-separated for several joint "
                                 f"trackers side by side ({names}; default: none, the local tracker alone); "
                                 "groundtruth is an upper bound; tanet needs --checkpoint")
    else:
        parser.add_argument("--attention", default="none", choices=build.ATTENTIONS,
                            help="what proposes global-search candidates (default: none, the local tracker alone); "
                                 "groundtruth is an upper bound; tanet needs --checkpoint")
    parser.add_argument("--checkpoint", metavar="DIR", help="TANet generator checkpoint for --attention tanet "
                        "(required with it; never used otherwise)")
    parser.add_argument("--threshold", type=fraction, default=None,
                        help="global search when the previous relative confidence is under this, in [0, 1] "
                             "(0: never; sets joint.threshold; default: the config's)")
    parser.add_argument("--every", type=non_negative_int, default=None,
                        help="check the attention map against confident tracking every k frames: a map that agreed "
                             "may correct the local tracker, one that disagreed is not used (sets joint.every; "
                             "0: never; default: the config's)")


def config_from_args(args: Any, overrides: Sequence[tuple[str, str]]) -> ml_collections.ConfigDict:
    """The config add_tracker_arguments' flags describe: file, overrides, then --threshold and --every."""
    flags = [(f"joint.{k}", str(v)) for k, v in (("threshold", args.threshold), ("every", args.every)) if v is not None]
    return tracker_config(args.config, [*overrides, *flags])
