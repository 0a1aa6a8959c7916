"""The `digits` entry point: Ctrl-C while the CLI loads ends in one line, exit code 130."""

from __future__ import annotations

import importlib.abc
import sys

import pytest

from app import entry


class InterruptedImport(importlib.abc.MetaPathFinder):
    """Ctrl-C arriving while `app.cli` is imported."""

    def find_spec(self, name: str, path: object, target: object = None) -> None:
        if name == "app.cli":
            raise KeyboardInterrupt


def test_ctrl_c_while_the_cli_loads_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delitem(sys.modules, "app.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [InterruptedImport(), *sys.meta_path])
    assert entry.main() == 130
    assert capsys.readouterr().err == "\ndigits: interrupted\n"


def test_the_entry_point_runs_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["digits", "--version"])
    assert entry.main() == 0
    assert capsys.readouterr().out.startswith("digits ")
