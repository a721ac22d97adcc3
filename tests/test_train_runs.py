"""Whole training runs of the smoke preset as a user starts them (a subprocess each), stopped
deterministically: a driver blocks SIGINT/SIGTERM and, at the chosen point (the dataset build,
the compilation, a logged step, an export), waits for the signal the test sends once the run printed that
point's line, then lets it act there. Covered: Ctrl-C and SIGTERM anywhere resume exactly, the
generator best on held-out IoU is exported (and survives resume), a finished run rerun writes
nothing, and a workdir refuses another run's settings."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "experiments" / "configs" / "smoke.py")
# 6 steps, a held-out evaluation and a checkpoint every 2, every checkpoint kept.
COMMON = ["--config.max_steps=6", "--config.checkpoint_every=2", "--config.keep_checkpoints=10",
          "--config.eval_every=2", "--config.image_every=0", "--config.log_every=1"]

DRIVER = r"""
import json, signal, sys
SIGNALS = {signal.SIGINT, signal.SIGTERM}
signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)  # held until the chosen point, by every thread started later
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if started with it ignored
from tanet_jax.train import loop, steps

options, sys.argv = json.loads(sys.argv[1]), ["tanet-train", *sys.argv[2:]]

taken = []

def take_signal():  # once
    if taken:
        return
    taken.append(True)
    signum = signal.sigwait(SIGNALS)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
    signal.raise_signal(signum)  # acts here: KeyboardInterrupt, or the training loop's stop flag

def after_signal(real):
    def wrapped(*args, **kwargs):
        take_signal()
        return real(*args, **kwargs)
    return wrapped

pause = options.get("pause")
if pause == "build":
    loop.build_dataset = after_signal(loop.build_dataset)
elif pause == "compile":
    steps.compile_updates = after_signal(steps.compile_updates)
elif pause in ("generator", "generator_last"):  # the first export into that folder, once it began
    save = loop.save_model
    def save_after_signal(folder, *args, **kwargs):
        if folder.name == f".{pause}.partial" and not taken:
            print(f"driver: exporting {pause}", flush=True)
            take_signal()
        return save(folder, *args, **kwargs)
    loop.save_model = save_after_signal
elif pause is not None:  # a step number: after its log line
    flush = loop.Logger.flush
    def flush_then_signal(self, step):  # the loop flushes again when it stops
        flush(self, step)
        if step == pause:
            take_signal()
    loop.Logger.flush = flush_then_signal
else:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
if "ious" in options:  # scripted held-out IoU by step
    def evaluate(config, workdir, nets, predict, state):
        return {"iou": options["ious"][str(int(state.step))], "peak_hit": 0.5, "frames": 8.0}
    loop.evaluate = evaluate
from tanet_jax.train.__main__ import run
run()
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """CPU, and one persistent compilation cache for every run of this module (each run is a
    fresh process; only the first compiles for real)."""
    cache = tmp_path_factory.mktemp("jax_cache")
    return dict(os.environ, JAX_PLATFORMS="cpu", JAX_COMPILATION_CACHE_DIR=str(cache),
                JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0", JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")


def _args(workdir: Path, *overrides: str) -> list[str]:
    return [f"--config={SMOKE}", f"--workdir={workdir}", *COMMON, *overrides]


def train(env: dict[str, str], workdir: Path, *overrides: str, **options) -> subprocess.CompletedProcess:
    """One run to its end (the driver scripts evaluations when `ious` is given)."""
    command = ([sys.executable, "-c", DRIVER, json.dumps(options)] if options
               else [sys.executable, "-m", "tanet_jax.train"])
    return subprocess.run(command + _args(workdir, *overrides), env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=900)


def stopped(env: dict[str, str], workdir: Path, pause: str | int, line: str, signum: int,
            **options) -> tuple[subprocess.CompletedProcess, str]:
    """A run that waits at `pause` for `signum`, sent once it printed a line starting with
    `line`: (the finished process, its stdout)."""
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps({"pause": pause, **options}), *_args(workdir)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for text in proc.stdout:
        seen.append(text)
        if text.startswith(line):
            proc.send_signal(signum)
            break
    out, err = proc.communicate(timeout=900)
    assert any(t.startswith(line) for t in seen), "".join(seen) + out + err
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(seen) + out, err), "".join(seen) + out


def checkpoint_state(workdir: Path, step: int):
    import orbax.checkpoint as ocp

    with ocp.StandardCheckpointer() as c:
        return c.restore(workdir / "checkpoints" / str(step) / "state")


def generator(workdir: Path, name: str = "generator"):
    from tanet_jax.weights import load_model

    variables, _, meta = load_model(workdir / name)
    return variables, meta


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_tree(a, b) -> None:
    jax.tree.map(np.testing.assert_array_equal, a, b)


@pytest.fixture(scope="module")
def reference(env, tmp_path_factory) -> Path:
    """The uninterrupted run, with real held-out evaluations."""
    workdir = tmp_path_factory.mktemp("reference")
    out = train(env, workdir)
    assert out.returncode == 0, out.stderr[-3000:]
    return workdir


def assert_resumed_exactly(workdir: Path, reference: Path) -> None:
    """The same final state, generators and choice as the uninterrupted run."""
    assert_same_tree(checkpoint_state(workdir, 6), checkpoint_state(reference, 6))
    for name in ("generator", "generator_last"):
        (ours, meta), (theirs, ref_meta) = generator(workdir, name), generator(reference, name)
        assert_same_tree(ours, theirs)
        assert meta == ref_meta


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl_c", "sigterm"])
def test_signal_mid_run_checkpoints_there_and_the_rerun_resumes_exactly(env, reference, tmp_path, signum):
    """Ctrl-C (exit 130, one line on stderr) or SIGTERM (exit 0, as ever) at step 3: checkpointed
    at 3, no final evaluation printed (the stale one was), no generator_last; the rerun ends as
    the uninterrupted run."""
    out, stdout = stopped(env, tmp_path, 3, "step 3/6:", signum)
    assert "Traceback" not in out.stderr
    assert "final evaluation" not in stdout and "exported" not in stdout.split("step 3/6:")[1]
    if signum == signal.SIGINT:
        assert out.returncode == 130, out.stderr[-3000:]
        assert out.stderr.splitlines() == [f"interrupted while training: checkpointed at step 3 in "
                                           f"{tmp_path / 'checkpoints'}; rerun the same command to resume from there"]
    else:
        assert out.returncode == 0, out.stderr[-3000:]
        assert f"signal {signal.SIGTERM}: checkpointed at step 3" in stdout
    assert max(int(p.name) for p in (tmp_path / "checkpoints").iterdir()) == 3
    assert not (tmp_path / "generator_last").exists()
    resumed = train(env, tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stdout and "at step 3 of 6" in resumed.stdout
    assert_resumed_exactly(tmp_path, reference)


@pytest.mark.parametrize("pause, line, phase", [
    ("build", "building synthetic_tracking/tiny", "building the dataset"),
    ("compile", "compiling the three updates", "compiling"),
])
def test_ctrl_c_before_training_is_one_line_and_the_rerun_completes(env, reference, tmp_path, pause, line, phase):
    """Ctrl-C while the dataset is built or the updates compile: one line naming the phase,
    exit 130, no traceback, no checkpoint or generator; the rerun runs the whole training."""
    out, _ = stopped(env, tmp_path, pause, line, signal.SIGINT)
    assert out.returncode == 130, out.stderr[-3000:]
    assert out.stderr.splitlines() == [f"interrupted while {phase}: nothing half-written is kept; rerun the same "
                                       "command to resume"]
    assert not list((tmp_path / "checkpoints").glob("*")) and not (tmp_path / "generator").exists()
    rerun = train(env, tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "resumed from" not in rerun.stdout
    assert_resumed_exactly(tmp_path, reference)


@pytest.mark.parametrize("folder, stops", [
    ("generator", "interrupted while training: checkpointed at step 2 in {checkpoints}; rerun the same command to "
                  "resume from there"),
    ("generator_last", "interrupted while exporting the generator: nothing half-written is kept; rerun the same "
                       "command to resume"),
])
def test_ctrl_c_during_an_export_lets_it_finish_then_stops(env, reference, tmp_path, folder, stops):
    """Ctrl-C while a generator is written (the best so far at step 2, or the last step's at the
    end): the export completes, then the run stops with one line; no partial folder is left, and
    the rerun ends as the uninterrupted run."""
    out, _ = stopped(env, tmp_path, folder, f"driver: exporting {folder}", signal.SIGINT)
    assert out.returncode == 130, out.stderr[-3000:]
    assert out.stderr.splitlines() == [stops.format(checkpoints=tmp_path / "checkpoints")]
    assert generator(tmp_path, folder)[1]["step"] == (2 if folder == "generator" else 6)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    rerun = train(env, tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert_resumed_exactly(tmp_path, reference)


def test_best_held_out_generator_is_exported_and_survives_resume(env, tmp_path):
    """Held-out IoU 0.5, 0.7, 0.6 at steps 2, 4, 6: generator/ is step 4's (its meta says why),
    generator_last/ step 6's, even when Ctrl-C at step 5 splits the run in two."""
    ious = {"0": 0.9, "2": 0.5, "4": 0.7, "6": 0.6}  # step 0 (the starting point) is no candidate
    out, _ = stopped(env, tmp_path, 5, "step 5/6:", signal.SIGINT, ious=ious)
    assert out.returncode == 130, out.stderr[-3000:]
    assert generator(tmp_path)[1]["step"] == 4  # the best so far, exported when it was found
    done = train(env, tmp_path, ious=ious)
    assert done.returncode == 0, done.stderr[-3000:]
    variables, meta = generator(tmp_path)
    assert (meta["step"], meta["heldout_iou"], meta["run_steps"]) == (4, 0.7, 6)
    assert meta["chosen"] == "best held-out IoU over evaluations at steps 2, 4, 6"
    assert_same_tree(variables, {k: checkpoint_state(tmp_path, 4)["generator"][k] for k in ("params", "batch_stats")})
    last, last_meta = generator(tmp_path, "generator_last")
    assert (last_meta["step"], last_meta["heldout_iou"]) == (6, 0.6)
    assert_same_tree(last, {k: checkpoint_state(tmp_path, 6)["generator"][k] for k in ("params", "batch_stats")})
    final_lines = done.stdout.strip().splitlines()[-2:]
    assert final_lines[0] == (f"exported {tmp_path / 'generator'}: step 4, held-out IoU 0.7000, chosen: best held-out "
                              "IoU over evaluations at steps 2, 4, 6")
    assert final_lines[1].startswith(f"the last step's generator: {tmp_path / 'generator_last'} (step 6")
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_finished_run_rerun_writes_nothing_unless_reexport(env, reference, tmp_path):
    """The same command again: one line, exit 0, every file of the workdir byte-identical (a
    changed logging setting too); --reexport writes the same generators again."""
    workdir = tmp_path / "run"
    shutil.copytree(reference, workdir)
    before = file_bytes(workdir)
    for extra in ([], ["--config.log_every=2"]):
        again = train(env, workdir, *extra)
        assert again.returncode == 0, again.stderr[-3000:]
        assert again.stdout.splitlines() == [f"already finished at step 6: {workdir / 'generator'} "
                                             "(--reexport writes the generators again)"]
        assert file_bytes(workdir) == before
    again = train(env, workdir, "--reexport")
    assert again.returncode == 0, again.stderr[-3000:]
    after = file_bytes(workdir)
    assert after["generator/_CHECKPOINT_METADATA"] != before["generator/_CHECKPOINT_METADATA"]  # written anew
    for name in ("generator", "generator_last"):
        assert_same_tree(generator(workdir, name), generator(reference, name))


def test_workdir_refuses_another_runs_settings_and_allows_extending(env, reference, tmp_path):
    """Other settings: one line naming each (old -> new), exit 2, nothing written; more steps
    (max_steps may change) resume from the last checkpoint and update config.json."""
    workdir = tmp_path / "run"
    shutil.copytree(reference, workdir)
    before = file_bytes(workdir)
    out = train(env, workdir, "--config.seed=1", "--config.per_device_batch=1")
    assert out.returncode == 2, out.stderr[-3000:]
    lines = (out.stdout + out.stderr).splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --workdir {workdir} holds a run made with other "
                                                   "settings"), lines
    assert "per_device_batch: 2 -> 1; seed: 0 -> 1. Use a new --workdir" in lines[0]
    assert file_bytes(workdir) == before
    longer = train(env, workdir, "--config.max_steps=8")
    assert longer.returncode == 0, longer.stderr[-3000:]
    assert "resumed from" in longer.stdout and "at step 6 of 8" in longer.stdout
    assert json.loads((workdir / "config.json").read_text())["max_steps"] == 8
    assert generator(workdir, "generator_last")[1]["step"] == 8
