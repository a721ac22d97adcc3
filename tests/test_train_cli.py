"""python -m tanet_jax.train and tanet-train: each bad input is one line naming it, exit status 2,
no traceback, nothing written; --help is the usage, naming the command as typed, exit status 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "experiments" / "configs" / "smoke.py")


def _train(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tanet_jax.train", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("case, expected", [
    ("workdir_is_a_file", "is a file"),
    ("unknown_key", "--config.nosuchkey: no such setting"),
    ("missing_config", "nosuch.py: no such file"),
    ("bad_value", "--config.max_steps=abc"),
    ("bad_profile_steps", "profile_steps must be 'a,b'"),
    ("max_steps_zero", "config: max_steps must be >= 1, or -1 to run all num_epochs (2) epochs; got 0"),
    ("max_steps_negative", "config: max_steps must be >= 1, or -1 to run all num_epochs (2) epochs; got -5"),
    ("zero_learning_rate", "config: optimizer.generator_lr must be > 0, got 0.0"),
    ("negative_eval_every", "config: eval_every must be >= 0 (0: no held-out evaluation), got -1"),
    ("small_input_size", "config: model: input_size must be >= 112"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, case, expected):
    afile = tmp_path / "afile"
    afile.write_text("x")
    workdir = tmp_path / "run"
    args = {
        "workdir_is_a_file": [f"--config={SMOKE}", f"--workdir={afile}"],
        "unknown_key": [f"--config={SMOKE}", f"--workdir={workdir}", "--config.nosuchkey=3"],
        "missing_config": [f"--config={tmp_path / 'nosuch.py'}", f"--workdir={workdir}"],
        "bad_value": [f"--config={SMOKE}", f"--workdir={workdir}", "--config.max_steps=abc"],
        "bad_profile_steps": [f"--config={SMOKE}", f"--workdir={workdir}", "--config.profile_steps=5"],
        "max_steps_zero": [f"--config={SMOKE}", f"--workdir={workdir}", "--config.max_steps=0"],
        "max_steps_negative": [f"--config={SMOKE}", f"--workdir={workdir}", "--config.max_steps=-5"],
        "zero_learning_rate": [f"--config={SMOKE}", f"--workdir={workdir}", "--config.optimizer.generator_lr=0"],
        "negative_eval_every": [f"--config={SMOKE}", f"--workdir={workdir}", "--config.eval_every=-1"],
        "small_input_size": [f"--config={SMOKE}", f"--workdir={workdir}", "--config.model.input_size=64"],
    }[case]
    out = _train(*args)
    assert out.returncode == 2, out.stderr
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in out.stderr
    assert not workdir.exists()
    assert afile.read_text() == "x"


def test_each_bad_setting_is_its_own_line(tmp_path):
    out = _train(f"--config={SMOKE}", f"--workdir={tmp_path / 'run'}", "--config.per_device_batch=0",
                 "--config.max_steps=0", "--config.checkpoint_every=0")
    assert out.returncode == 2, out.stderr
    assert out.stderr.splitlines() == [
        "error: config: max_steps must be >= 1, or -1 to run all num_epochs (2) epochs; got 0",
        "error: config: per_device_batch must be >= 1, got 0",
        "error: config: checkpoint_every must be >= 1, got 0",
    ]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("started_as, command", [
    (["-m", "tanet_jax.train"], "python -m tanet_jax.train"),
    (["-c", "import sys; sys.argv[0] = 'tanet-train'; from tanet_jax.train.__main__ import run; run()"],
     "tanet-train"),  # as the console script starts it
])
@pytest.mark.parametrize("flag", ["--help", "-h", "--helpfull"])
def test_help_exits_0_and_names_the_command_typed(started_as, command, flag):
    out = subprocess.run([sys.executable, *started_as, flag], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"Adversarial training of TANet ({command}).")
    assert f"  {command} --config experiments/configs/synthetic.py --workdir runs/synthetic" in out.stdout
    assert "--workdir" in out.stdout and "--reexport" in out.stdout and "Traceback" not in out.stderr
    if command == "tanet-train":
        assert "python -m tanet_jax" not in out.stdout
