"""python -m tanet_jax.train: each bad input is one line naming it, exit status 2, no traceback,
nothing written."""

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
    }[case]
    out = _train(*args)
    assert out.returncode == 2, out.stderr
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in out.stderr
    assert not workdir.exists()
    assert afile.read_text() == "x"
