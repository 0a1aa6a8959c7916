"""Fixtures for the real-browser tests: the real app on a local port and Debian's Chromium.

The app runs in a background thread with uvicorn, around the shipped weights. Chromium is
driven by Playwright. Without Chromium or Playwright these tests are skipped locally, but
fail under CI=true, where a silent skip would hide a broken page.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_TIMEOUT_S = 30.0

# Digit drawn -> (digit the network answered, its probability), filled by the recognition
# tests and printed at the end of the run.
Recognition = tuple[int, float]
RECOGNITION_KEY = pytest.StashKey[dict[int, Recognition]]()


def _unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where the browser tests must really run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true, so this is an error rather than a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app, served by uvicorn on 127.0.0.1 and a free port; yields its base URL.

    Its example store is a fresh SQLite file of its own, never the user's (the page's
    corrections and profiles write to it)."""
    import uvicorn

    from app.main import create_app
    from app.settings import Settings

    database = tmp_path_factory.mktemp("store") / "digits.sqlite3"
    app = create_app(Settings(database=str(database)))
    # Bind the socket ourselves: port 0 gives a free port with no race between choosing it
    # and listening on it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail(f"the app did not answer {base_url}/healthz", pytrace=False)
        time.sleep(0.05)

    yield base_url

    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium for the whole session."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class ConsoleWatch:
    """Console errors and uncaught exceptions seen by the pages of one test."""

    errors: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)  # substrings a test says it will cause

    def attach(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def expect(self, text: str) -> None:
        """Tolerate console errors containing `text`, e.g. Chromium's note on a failed fetch."""
        self.expected.append(text)

    def _on_console(self, message: Any) -> None:
        if message.type in ("error", "assert") and not any(
            text in message.text for text in self.expected
        ):
            self.errors.append(f"console.{message.type}: {message.text}")


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def new_page(
    browser: Browser, live_server: str, console: ConsoleWatch
) -> Iterator[Callable[..., Page]]:
    """Factory: a fresh context + page on the app's base URL, with its console watched.

    Every test checks, at teardown, that no page logged an error or threw.
    """
    contexts: list[BrowserContext] = []

    def make(**context_options: Any) -> Page:
        options = {"viewport": {"width": 1000, "height": 800}, **context_options}
        context = browser.new_context(base_url=live_server, **options)
        contexts.append(context)
        page = context.new_page()
        console.attach(page)
        return page

    yield make

    for context in contexts:
        context.close()
    assert not console.errors, "the page logged errors:\n" + "\n".join(console.errors)


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """The drawing page, loaded in a 1000x800 desktop viewport."""
    page: Page = new_page()
    page.goto("/")
    page.wait_for_load_state("load")
    return page


@pytest.fixture(scope="session")
def recognition_results(pytestconfig: pytest.Config) -> dict[int, Recognition]:
    """Where the recognition tests record what the network made of each drawn digit."""
    return pytestconfig.stash.setdefault(RECOGNITION_KEY, {})


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = config.stash.get(RECOGNITION_KEY, {})
    if not results:
        return
    recognised = [drawn for drawn, (answer, _) in sorted(results.items()) if answer == drawn]
    terminalreporter.section("digits drawn with the mouse")
    for drawn, (answer, probability) in sorted(results.items()):
        mark = "ok  " if answer == drawn else "MISS"
        terminalreporter.write_line(
            f"{mark} drew {drawn}, the network said {answer} ({probability:.1%})"
        )
    terminalreporter.write_line(f"recognised {len(recognised)} of {len(results)}: {recognised}")
