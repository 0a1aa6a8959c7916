"""Freeze what the recipe made of canvas exports before photos and stroke widths were handled.

Usage:  python tests/data/make_canvas_fixture.py [--rev 67c1bd1] [--out tests/data/...npz]

The inputs are `tests.model.serving.drawings.canvas_exports()`; the recipe is
model/serving/preprocess.py as it stood at `--rev` (read with `git show`, so this script can
re-make the fixture from any later checkout), not the code under test. The test
tests/model/serving/test_paper.py checks today's recipe gives the same 28x28 inputs, exactly.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.model.serving.drawings import canvas_exports  # noqa: E402

FROZEN_REV = "67c1bd1"  # the last commit to change the recipe before this fixture
OUT = ROOT / "tests" / "data" / "canvas-inputs-before.npz"


def frozen_recipe(rev: str) -> types.ModuleType:
    """model/serving/preprocess.py at git revision `rev`, as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{rev}:model/serving/preprocess.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("frozen_preprocess")
    sys.modules[module.__name__] = module  # dataclasses look their module up by name
    exec(compile(source, f"{rev}:model/serving/preprocess.py", "exec"), module.__dict__)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default=FROZEN_REV)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    recipe = frozen_recipe(args.rev)
    exports = canvas_exports()
    names = sorted(exports)
    inputs = np.stack([recipe.image_to_mnist(exports[name]) for name in names])
    np.savez_compressed(args.out, names=np.array(names), inputs=inputs)
    print(f"wrote {args.out}: {len(names)} inputs from the recipe at {args.rev}")


if __name__ == "__main__":
    main()
