"""The import rules tanet_jax/ARCHITECTURE.md states, checked on the source (no imports run)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tanet_jax"


def _imports(path: Path) -> set[str]:
    """Every module name a file imports, at any depth (lazy imports inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in sorted((PACKAGE / folder).rglob("*.py")) if folder else sorted(PACKAGE.rglob("*.py")):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                out.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return out


def test_models_import_only_models():
    others = tuple(f"tanet_jax.{p.stem}" for p in PACKAGE.iterdir()
                   if p.stem not in ("models", "__init__") and (p.suffix == ".py" or p.is_dir()))
    assert _violations("models", others) == []


def test_data_imports_no_training_tracking_or_evaluation():
    assert _violations("data", ("tanet_jax.train", "tanet_jax.tracking", "tanet_jax.evaluation")) == []


def test_tracking_and_evaluation_import_no_training():
    assert _violations("tracking", ("tanet_jax.train",)) == []
    assert _violations("evaluation", ("tanet_jax.train",)) == []


def test_torch_only_in_the_converter_and_the_reference():
    allowed = {"tanet_jax/convert.py", "tanet_jax/torch_reference.py"}
    found = [v for v in _violations("", ("torch",)) if v.split(" imports ")[0] not in allowed]
    assert found == []
