"""Console scripts in pyproject.toml: each names a command's main, and each answers --help."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
COMMANDS = {"train", "convert", "demo", "predict", "track", "evaluate", "data"}


def _resolve(reference: str):
    module, _, attr = reference.partition(":")
    return importlib.import_module(module), attr


def test_every_command_has_a_console_script():
    assert set(SCRIPTS) == {f"tanet-{c}" for c in COMMANDS}
    for name, reference in SCRIPTS.items():
        module, attr = _resolve(reference)
        assert module.__name__.startswith(f"tanet_jax.{name.removeprefix('tanet-')}"), name
        assert callable(getattr(module, attr)), reference


@pytest.mark.parametrize("name", sorted(f"tanet-{c}" for c in COMMANDS - {"train"}))
def test_argparse_scripts_answer_help(name, capsys):
    module, attr = _resolve(SCRIPTS[name])
    with pytest.raises(SystemExit) as exit_info:
        getattr(module, attr)(["--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_train_script_help_lists_its_flags_and_purpose(tmp_path):
    """As a console script starts it: the main module is the wrapper, not tanet_jax.train."""
    code = ("import sys; sys.argv = ['tanet-train', '--help']\n"
            "from tanet_jax.train.__main__ import run\nrun()\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "Adversarial training" in out.stdout and "--workdir" in out.stdout and "--config" in out.stdout


@pytest.mark.parametrize("command", ["track", "evaluate"])
def test_tracker_config_overrides_are_the_train_syntax(command, tmp_path, capsys):
    """`--config.SECTION.KEY=VALUE` (train's syntax) sets a tracker field; an unknown key is one
    line naming it, exit 2; the bench scripts' `--set` is no flag here either."""
    module = importlib.import_module(f"tanet_jax.{command}")
    place = (["--sequence", str(tmp_path)] if command == "track"
             else ["--dataset", "otb", "--root", str(tmp_path)]) + ["--out", str(tmp_path / "o")]
    assert module.main([*place, "--config.joint.nope=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --config.joint.nope") and "\n" not in err
    with pytest.raises(SystemExit) as e:
        module.main([*place, "--set", "joint.every=5"])
    assert e.value.code == 2
    with pytest.raises(SystemExit):
        module.main(["--help"])
    assert "--config.SECTION.KEY=VALUE" in capsys.readouterr().out

