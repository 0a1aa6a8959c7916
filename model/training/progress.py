"""A one-line progress bar for training epochs, with no dependencies."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """`epoch 3/20 [#########.........] 45%  loss 0.1234  acc 96.51%  48,210 samples/s`.

    On a terminal it redraws in place a few times a second; elsewhere (CI logs, pipes) it stays
    quiet until `close`, which prints the final line once.
    """

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = self.stream.isatty()
        self.start = time.perf_counter()
        self._last_draw = 0.0

    def line(self, done: int, loss: float, accuracy: float) -> str:
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        width = 24
        filled = int(width * done / max(self.total, 1))
        return (
            f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {100 * done / self.total:3.0f}%"
            f"  loss {loss:.4f}  acc {accuracy * 100:6.2f}%  {done / elapsed:,.0f} samples/s"
        )

    def update(self, done: int, loss: float, accuracy: float) -> None:
        now = time.perf_counter()
        if self.interactive and now - self._last_draw > 0.1:
            self._last_draw = now
            self.stream.write("\r" + self.line(done, loss, accuracy))
            self.stream.flush()

    def close(self, done: int, loss: float, accuracy: float, suffix: str = "") -> None:
        prefix = "\r" if self.interactive else ""
        self.stream.write(f"{prefix}{self.line(done, loss, accuracy)}{suffix}\n")
        self.stream.flush()
