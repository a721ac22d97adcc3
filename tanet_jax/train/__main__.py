"""Adversarial training of TANet (python -m tanet_jax.train).

  python -m tanet_jax.train --config experiments/configs/synthetic.py --workdir runs/synthetic
  python -m tanet_jax.train --config experiments/configs/official.py --workdir runs/got10k \\
      --config.data.data_dir=data --config.data.source=/path/to/GOT-10k --config.per_device_batch=8

Data-parallel over every local device; a run in an existing workdir resumes from its latest
checkpoint. Several hosts: start one process per host with --coordinator=HOST:PORT
--num_processes=N --process_id=I (or the environment a cluster launcher sets for
jax.distributed.initialize).
"""

from __future__ import annotations

import logging
import os
import sys

from absl import app, flags
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "training config file (experiments/configs/*.py)",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "where checkpoints, logs, images and the final generator go")
_COORDINATOR = flags.DEFINE_string("coordinator", None, "multi-host: HOST:PORT of process 0")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "multi-host: number of processes")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "multi-host: this process's index")
_INIT_TIMEOUT = flags.DEFINE_integer("init_timeout", 120, "multi-host: seconds to wait for the coordinator")


_CLUSTER_ENV = ("JAX_COORDINATOR_ADDRESS", "SLURM_JOB_ID", "OMPI_COMM_WORLD_SIZE")


def _distributed() -> None:
    """Join a multi-process job when asked (flags, or a cluster launcher's environment)."""
    import jax

    explicit = bool(_COORDINATOR.value or _NUM_PROCESSES.value)
    if not explicit and not any(v in os.environ for v in _CLUSTER_ENV):
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU collectives across hosts
    if _COORDINATOR.value and _PROCESS_ID.value:
        _wait_for_coordinator(_COORDINATOR.value, _INIT_TIMEOUT.value)
    print(f"joining the multi-process job at {_COORDINATOR.value or 'the cluster coordinator'} as process "
          f"{_PROCESS_ID.value} of {_NUM_PROCESSES.value} (timeout {_INIT_TIMEOUT.value} s)", flush=True)
    try:
        jax.distributed.initialize(
            coordinator_address=_COORDINATOR.value, num_processes=_NUM_PROCESSES.value,
            process_id=_PROCESS_ID.value, initialization_timeout=_INIT_TIMEOUT.value,
        )
    except Exception as e:  # noqa: BLE001 - jax raises several kinds; all mean "could not join"
        where = _COORDINATOR.value or os.environ.get("JAX_COORDINATOR_ADDRESS", "the cluster's coordinator")
        sys.exit(f"error: could not join the multi-process job at {where} within "
                 f"{_INIT_TIMEOUT.value} s ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")


def _wait_for_coordinator(address: str, timeout: float) -> None:
    """Exit with a clear message if nothing listens at the coordinator's address in time (JAX
    itself would abort the process with a C++ stack trace)."""
    import socket
    import time

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        sys.exit(f"error: --coordinator must be HOST:PORT, got {address!r}")
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=1.0):
                return
        except OSError as e:
            if time.monotonic() > deadline:
                sys.exit(f"error: cannot reach the coordinator at {address} within {timeout:g} s ({e}); "
                         "is process 0 running there, and is the address reachable from this host?")
            time.sleep(0.5)


def _fail(message: str) -> None:
    """One line naming what is wrong and what to do; exit status 2."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def _config_file(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
        if arg == "--config" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def parse_flags(argv: list[str]) -> list[str]:
    """absl's parsing, with each bad input as one line (no traceback, no help dump): a missing
    config file, an unknown --config.KEY, a value of the wrong type, an unknown flag."""
    path = _config_file(argv)
    if path is not None and not os.path.isfile(path.split(":", 1)[0]):
        _fail(f"--config {path}: no such file (the presets are experiments/configs/NAME.py)")
    try:
        return flags.FLAGS(argv)
    except (AttributeError, KeyError) as e:  # ml_collections: an override naming no field
        key = str(e).strip("\"' ")
        given = [a.split("=", 1)[0] for a in argv if a.startswith("--config.") and key in a.split("=", 1)[0]]
        name = given[0] if given else f"--config.{key}"
        _fail(f"{name}: no such setting in {path} (the names are in tanet_jax/train/config.py)")
    except flags.Error as e:
        _fail(str(e).strip().splitlines()[0])
    return []


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        _fail(f"unexpected arguments {argv[1:]}: settings are --config.KEY=VALUE (see --help)")
    if _CONFIG.value is None or _WORKDIR.value is None:
        _fail("--config and --workdir are required, e.g. --config experiments/configs/synthetic.py "
              "--workdir runs/synthetic (see --help)")
    if os.path.exists(_WORKDIR.value) and not os.path.isdir(_WORKDIR.value):
        _fail(f"--workdir {_WORKDIR.value} is a file; give a directory (new, or a previous run's to resume it)")
    from tanet_jax.train.config import config_problems

    problems = config_problems(_CONFIG.value)
    if problems:
        _fail("config: " + "; ".join(problems))
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.WARNING)  # orbax narrates every file it writes at INFO
    logging.getLogger("tanet_jax").setLevel(logging.INFO)
    _distributed()
    from tanet_jax.train.loop import summary_line, train_and_evaluate

    try:
        evaluation = train_and_evaluate(_CONFIG.value, _WORKDIR.value)
    except FileNotFoundError as e:  # a dataset that is not built (the message says how)
        _fail(str(e))
    if evaluation:
        print(f"final evaluation: {summary_line(evaluation)}")


def run() -> None:
    """Console-script entry point (tanet-train): absl parses the flags, then calls main."""
    # absl's --help shows the docstring and flags of the script it was started as; from a console
    # script that is the wrapper, so this module's are shown for it.
    started_as = sys.modules["__main__"]
    if not started_as.__doc__:
        started_as.__doc__ = __doc__
    for flag in flags.FLAGS.get_key_flags_for_module(sys.modules[__name__]):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
