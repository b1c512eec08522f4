"""What the browser test files share about the browser itself: which Chromium, its flags, and a context with CSS
animations and transitions off.

The tests run Debian's ``chromium-headless-shell`` when it is installed: the same Chromium (same version, same
Blink and V8) built for headless use only, which is what Playwright itself runs for headless tests. It needs about
half the CPU of the full browser per page load (1.4 s against 2.7 s for the app's page, app included, measured
alternating on this machine), and the suite's browser tests are most of its time. Without it they run on Debian's
``chromium``; without either they skip, saying so.

No test checks an animation; drawing them costs CPU the suite does not have (about a tenth of a browser file's),
and waiting for a tab, an accordion or a toast to finish moving only slows a test down.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
FULL_CHROMIUM = "/usr/bin/chromium"
CHROMIUM = next((path for path in (HEADLESS_SHELL, FULL_CHROMIUM) if Path(path).exists()),
                shutil.which("chromium") or FULL_CHROMIUM)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian's Chromium is not installed (apt-get install chromium-headless-shell, or chromium)")

NO_ANIMATIONS = """
document.addEventListener("DOMContentLoaded", () => {
  const style = document.createElement("style");
  style.textContent = "*, *::before, *::after { animation: none !important; transition: none !important; }";
  document.head.appendChild(style);
});
"""


def new_context(browser: Any, **options: Any) -> Any:
    """``browser.new_context(**options)`` with CSS animations and transitions turned off in every page."""
    context = browser.new_context(**options)
    context.add_init_script(NO_ANIMATIONS)
    return context


def launch(playwright: Any) -> Any:
    """The tests' Chromium, headless, through a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
