"""Execute the notebooks top to bottom (nbclient), with parameters overridden, failing on any error.

    python experiments/notebooks/run.py                       # all notebooks, their own parameters
    python experiments/notebooks/run.py --ci                  # all notebooks with CI's small parameters
    python experiments/notebooks/run.py 02_train_on_synthetic.ipynb --param STEPS=40 --param CHUNK=20

The cell tagged `parameters` is followed by an injected cell with the overrides (as papermill
does); the kernel starts in the notebooks' own folder, as Jupyter starts it, and the first cell
moves to the repository root (--cwd to start elsewhere). Executed copies go to --out (default: a temporary
folder), never over the committed notebooks, which carry no outputs.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

CI_PARAMS = {
    "01_attention_quickstart.ipynb": {"CHECKPOINT": "", "NUM_FRAMES": 5},
    "02_train_on_synthetic.ipynb": {"STEPS": 8, "CHUNK": 4, "DATA_PRESET": "tiny"},
    "03_joint_tracking.ipynb": {"RENDER_FRAMES": 15, "ATTENTION": "groundtruth"},
}


def inject(notebook: nbformat.NotebookNode, params: dict[str, object]) -> nbformat.NotebookNode:
    """Insert an 'injected-parameters' cell after the 'parameters' cell."""
    if not params:
        return notebook
    index = next((i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", [])), None)
    if index is None:
        raise ValueError("the notebook has no cell tagged 'parameters'")
    source = "# Injected parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(index + 1, cell)
    return notebook


def run(path: Path, params: dict[str, object], out_dir: Path, timeout: int = 1200,
        cwd: Path | None = None) -> Path:
    """Execute one notebook with the kernel started in `cwd` (default: the notebook's folder);
    raises nbclient's CellExecutionError on the first failing cell."""
    notebook = inject(nbformat.read(path, as_version=4), params)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd or path.parent)}}).execute()
    out = out_dir / path.name
    nbformat.write(notebook, out)
    return out


def parse_param(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="notebook file names (default: all)")
    parser.add_argument("--param", action="append", default=[], help="KEY=VALUE override (Python literal)")
    parser.add_argument("--ci", action="store_true", help="use CI's small parameters")
    parser.add_argument("--out", help="where executed copies go")
    parser.add_argument("--cwd", help="where the kernel starts (default: the notebooks' folder)")
    args = parser.parse_args()
    names = args.notebooks or sorted(p.name for p in HERE.glob("*.ipynb"))
    out_dir = Path(args.out or tempfile.mkdtemp(prefix="notebooks-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        params = dict(CI_PARAMS.get(name, {})) if args.ci else {}
        params.update(dict(parse_param(p) for p in args.param))
        print(f"running {name} with {params or 'its own parameters'}", flush=True)
        print(f"  -> {run(HERE / name, params, out_dir, cwd=Path(args.cwd) if args.cwd else None)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
