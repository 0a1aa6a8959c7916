"""The TestClient every API test drives the app with: it comes without a deprecation warning."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_the_test_client_imports_without_a_warning() -> None:
    """Starlette's TestClient warns (StarletteDeprecationWarning) when only `httpx` is there:
    it runs on `httpx2`, which the dev extra installs (pyproject.toml)."""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import fastapi.testclient"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
