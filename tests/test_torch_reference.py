"""The PyTorch reference is a package module, importable without tests/ on the path, torch optional."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_reference_without_torch_names_the_install_command(tmp_path):
    """With torch unavailable the import fails with one ImportError that says what to install."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "try:\n"
        "    import tanet_jax.torch_reference\n"
        "except ImportError as e:\n"
        "    print(e)\n"
        "else:\n"
        "    print('imported')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "pip install torch==2.13.0" in out.stdout and "imported" not in out.stdout


def test_nothing_outside_tests_imports_from_tests():
    """Package and experiments never put tests/ on sys.path nor import the test helpers."""
    offenders = []
    for path in [*ROOT.glob("tanet_jax/**/*.py"), *ROOT.glob("experiments/**/*.py")]:
        text = path.read_text()
        if '"tests"' in text or any(f"{w} {m}" in text for w in ("from", "import") for m in ("conftest", "helpers")):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
