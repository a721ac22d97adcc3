"""What every command-line entry point shares: argparse value types that reject bad numbers at
parse time with one line, the program name as the user typed it, and Ctrl-C as one line."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from typing import Callable, TypeVar

T = TypeVar("T")

INTERRUPTED = 130  # the shell's status for a process ended by SIGINT (128 + 2)


def prog(module: str) -> str:
    """`tanet-track` when started as a console script, else `python -m tanet_jax.track`."""
    started = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if started.startswith("tanet-"):
        return started
    return f"python -m {module}"


def _number(kind: Callable[[str], T], text: str) -> T:
    try:
        return kind(text)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None


def positive_int(text: str) -> int:
    """An integer >= 1 (counts, sizes, steps)."""
    value = _number(int, text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0 (indices, seeds, optional limits where 0 means none)."""
    value = _number(int, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be >= 0")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (rates, scales, seconds)."""
    value = _number(float, text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{value} must be a finite number > 0")
    return value


def fraction(text: str) -> float:
    """A number in [0, 1] (thresholds on IoU or confidence, probabilities)."""
    value = _number(float, text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} must be in [0, 1]")
    return value


def exit_on_interrupt(what: str) -> Callable[[Callable[..., int | None]], Callable[..., int | None]]:
    """Decorate a CLI main so Ctrl-C prints one line naming what was interrupted and exits 130."""

    def wrap(main: Callable[..., int | None]) -> Callable[..., int | None]:
        @functools.wraps(main)
        def guarded(*args, **kwargs):
            try:
                return main(*args, **kwargs)
            except KeyboardInterrupt:
                print(f"interrupted: {what} stopped; nothing half-written is kept, rerun the same "
                      f"command to continue", file=sys.stderr, flush=True)
                return INTERRUPTED

        return guarded

    return wrap
