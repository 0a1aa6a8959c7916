"""The `digits` command's entry point: Ctrl-C while the CLI's modules load (NumPy, the app, a
fraction of a second) ends in one line and exit code 130 too, as it does once `app.cli.main`
runs, rather than in a traceback from the middle of an import."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from app.cli import main as run
    except KeyboardInterrupt:
        print("\ndigits: interrupted", file=sys.stderr)
        return 130
    return run()
