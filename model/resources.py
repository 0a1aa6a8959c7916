"""Where the shipped files live, both in a source checkout and in an installed wheel.

In the wheel, `templates/` and `static/` sit inside the `app` package and `weights/` inside
`model` (see pyproject.toml); in a checkout or an editable install they are at the top level.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent
SHIPPED_WEIGHTS_NAME = "mnist_mlp.npz"


def resource_dir(name: str, package_dir: Path = PACKAGE_DIR) -> Path:
    """The folder `name` next to the package (wheel), else at the source root (checkout)."""
    inside = package_dir / name
    if inside.is_dir():
        return inside
    return package_dir.parent / name


def shipped_weights() -> Path:
    """The weight file `digits serve` and `digits evaluate` use when none is given."""
    return resource_dir("weights") / SHIPPED_WEIGHTS_NAME
