"""Multi-process training for real: two processes on loopback (gloo CPU collectives) against one
process with two devices, a killed two-process run resumed, and an unreachable coordinator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))

from launch_local import free_port, launch  # noqa: E402

SMOKE = str(ROOT / "experiments" / "configs" / "smoke.py")
COMMON = ["--config.max_steps=6", "--config.checkpoint_every=2", "--config.eval_every=0", "--config.image_every=0",
          "--config.progress_bar=False"]


def final_state(workdir: Path):
    import orbax.checkpoint as ocp

    from tanet_jax.weights import load_model

    steps = sorted(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
    with ocp.StandardCheckpointer() as c:
        state = c.restore(workdir / "checkpoints" / str(steps[-1]) / "state")
    generator, _, _ = load_model(workdir / "generator")
    return steps[-1], state, generator


def assert_same(a, b) -> None:
    jax.tree.map(lambda x, y: np.testing.assert_allclose(np.asarray(x, np.float64), np.asarray(y, np.float64),
                                                         rtol=1e-6, atol=1e-6), a, b)


@pytest.fixture(scope="module")
def one_process_two_devices(tmp_path_factory):
    """The reference: the smoke preset as 1 process x 2 forced CPU devices."""
    workdir = tmp_path_factory.mktemp("single")
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-m", "tanet_jax.train", f"--config={SMOKE}", f"--workdir={workdir}", *COMMON],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return final_state(workdir)


def test_two_processes_equal_one_process_with_two_devices(tmp_path, one_process_two_devices):
    assert launch(2, SMOKE, str(tmp_path), COMMON, timeout=900) == 0, _logs(tmp_path)
    step, state, generator = final_state(tmp_path)
    ref_step, ref_state, ref_generator = one_process_two_devices
    assert step == ref_step == 6
    assert_same(generator, ref_generator)
    assert_same(state, ref_state)
    # Only process 0 logs; both processes checkpoint their own input-iterator state.
    assert "step 6/6:" in (tmp_path / "launch" / "process_0.log").read_text()
    assert "step 6/6:" not in (tmp_path / "launch" / "process_1.log").read_text()
    data = tmp_path / "checkpoints" / "6" / "data"
    assert {p.name for p in data.glob("process_*")} == {"process_0-of-2.json", "process_1-of-2.json"}


def test_killed_two_process_run_resumes(tmp_path, one_process_two_devices):
    port = free_port()
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    procs = [subprocess.Popen([sys.executable, "-m", "tanet_jax.train", f"--config={SMOKE}", f"--workdir={tmp_path}",
                               f"--coordinator=127.0.0.1:{port}", "--num_processes=2", f"--process_id={i}", *COMMON],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for i in range(2)]
    deadline = time.time() + 600
    while not (tmp_path / "checkpoints" / "2").exists() and time.time() < deadline:
        assert all(p.poll() is None for p in procs), "a process died before the first checkpoint"
        time.sleep(0.2)
    for p in procs:
        p.send_signal(signal.SIGKILL)  # no chance to checkpoint: resume from the last one on disk
        p.wait()
    assert not (tmp_path / "generator").exists()
    assert launch(2, SMOKE, str(tmp_path), COMMON, timeout=900) == 0, _logs(tmp_path)
    assert "resumed from" in (tmp_path / "launch" / "process_0.log").read_text()
    step, state, generator = final_state(tmp_path)
    ref_step, ref_state, ref_generator = one_process_two_devices
    assert step == ref_step
    assert_same(generator, ref_generator)
    assert_same(state, ref_state)


def test_unreachable_coordinator_is_a_clear_bounded_error(tmp_path):
    start = time.time()
    out = subprocess.run([sys.executable, "-m", "tanet_jax.train", f"--config={SMOKE}", f"--workdir={tmp_path}",
                          f"--coordinator=127.0.0.1:{free_port()}", "--num_processes=2", "--process_id=1",
                          "--init_timeout=3"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "cannot reach the coordinator" in out.stderr
    assert time.time() - start < 60


def _logs(workdir: Path) -> str:
    return "\n".join(p.read_text()[-2000:] for p in sorted((workdir / "launch").glob("*.log")))
