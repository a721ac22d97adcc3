"""Adversarial training of TANet (python -m tanet_jax.train).

  python -m tanet_jax.train --config experiments/configs/synthetic.py --workdir runs/synthetic
  python -m tanet_jax.train --config experiments/configs/official.py --workdir runs/got10k \\
      --config.data.data_dir=data --config.data.source=/path/to/GOT-10k --config.per_device_batch=8

Data-parallel over every local device. The workdir records the run's settings (config.json).
Rerun in it, a run resumes from its latest checkpoint; other settings are refused, except those
that do not change what is trained (RESUMABLE in tanet_jax/train/config.py); a complete run is
left as it is (--reexport writes its generators again). generator/ is the generator best on
held-out IoU, generator_last/ the last step's. Ctrl-C stops with one line and exit status 130,
checkpointed when training was under way; SIGTERM checkpoints and stops.

Several hosts: start one process per host with --coordinator=HOST:PORT --num_processes=N
--process_id=I (or the environment a cluster launcher sets for jax.distributed.initialize).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from absl import app, flags
from ml_collections import config_flags

from tanet_jax.cli import INTERRUPTED, prog

_CONFIG = config_flags.DEFINE_config_file("config", None, "training config file (experiments/configs/*.py)",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "where checkpoints, logs, images and the final generator go")
_COORDINATOR = flags.DEFINE_string("coordinator", None, "multi-host: HOST:PORT of process 0")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "multi-host: number of processes")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "multi-host: this process's index")
_INIT_TIMEOUT = flags.DEFINE_integer("init_timeout", 120, "multi-host: seconds to wait for the coordinator")
_REEXPORT = flags.DEFINE_boolean("reexport", False, "a complete run: write generator/ and generator_last/ again "
                                 "(otherwise it is left as it is)")

_HELP = {"--help": True, "-help": True, "-h": True, "-?": True, "--helpshort": True, "--helpfull": False}


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


def _fail(*messages: str) -> None:
    """One line per thing wrong, naming it and what to do; exit status 2."""
    for message in messages:
        print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def _usage_doc() -> str:
    """This module's docstring, with the program named as the user started it."""
    name = prog("tanet_jax.train")
    return __doc__.replace("python -m tanet_jax.train", name).replace("%", "%%")


def _help(argv: list[str]) -> None:
    """--help (and absl's other help flags): the usage on stdout, exit status 0."""
    asked = [_HELP[a] for a in argv[1:] if a in _HELP]
    if asked:
        sys.modules["__main__"].__doc__ = _usage_doc()
        app.usage(shorthelp=asked[0], writeto_stdout=True, exitcode=0)


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
    _help(argv)
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
        _fail(*(f"config: {p}" for p in problems))
    try:
        outcome = _train()
    except KeyboardInterrupt:  # before training began: importing, joining the job
        _interrupted("interrupted while starting: nothing half-written is kept; rerun the same command to resume")
    _report(outcome)


def _train() -> Any:
    """train_and_evaluate, with its refusals as one line (exit status 2) and Ctrl-C as one line
    naming the phase it stopped (exit status 130)."""
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.WARNING)  # orbax narrates every file it writes at INFO
    logging.getLogger("tanet_jax").setLevel(logging.INFO)
    _distributed()
    from tanet_jax.train.loop import Interrupted, train_and_evaluate
    from tanet_jax.train.workdir import WorkdirMismatch

    try:
        return train_and_evaluate(_CONFIG.value, _WORKDIR.value, reexport=_REEXPORT.value)
    except (FileNotFoundError, WorkdirMismatch) as e:  # a dataset that is not built; another run's workdir
        _fail(str(e))
    except Interrupted as e:
        _interrupted(e.line())


def _interrupted(line: str) -> None:
    """Ctrl-C: its one line, and exit status 130 at once. Everything the run wrote is closed by
    then; the interpreter's own shutdown is skipped, as XLA, cut off mid-compilation, can crash
    in it (a segmentation fault instead of the status)."""
    print(line, file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(INTERRUPTED)


def _report(outcome: Any) -> None:
    """The lines that end a run (process 0)."""
    import jax

    from tanet_jax.train.loop import finished_message
    from tanet_jax.train.workdir import GENERATOR

    if jax.process_index() != 0:
        return
    workdir = os.path.abspath(_WORKDIR.value)
    if outcome.already_finished:
        print(f"already finished at step {outcome.step}: {os.path.join(workdir, GENERATOR)} "
              "(--reexport writes the generators again)", flush=True)
        return
    print(finished_message(Path(workdir), outcome), flush=True)


def run() -> None:
    """Console-script entry point (tanet-train): absl parses the flags, then calls main."""
    # absl's help shows the docstring and flags of the script it was started as; from a console
    # script that is the wrapper, so this module's are shown for it, naming the command typed.
    started_as = sys.modules["__main__"]
    started_as.__doc__ = _usage_doc()
    for flag in flags.FLAGS.get_key_flags_for_module(sys.modules[__name__]):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
