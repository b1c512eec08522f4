"""What the browser test files share about the browser itself: which Chromium, its flags, and a context with CSS
animations and transitions off.

The tests run Debian's ``chromium-headless-shell`` when it is installed: the same Chromium (same version, same
Blink and V8) built for headless use only, which is what Playwright itself runs for headless tests. It needs about
half the CPU of the full browser per page load (1.4 s against 2.7 s for the app's page, app included, measured
alternating on this machine), and the suite's browser tests are most of its time. Without it they run on Debian's
``chromium``; without either they skip, saying so.

No test checks an animation; drawing them costs CPU the suite does not have (about a tenth of a browser file's),
and waiting for a tab, an accordion or a toast to finish moving only slows a test down.

Tests that need a first visit (empty storage, so an empty history) get one from ``fresh_page`` and give it back
with ``put_back``: the next such test with the same context options gets the same page, its storage cleared, instead
of a new browser context. A new context starts a new renderer, which loads and compiles the app's scripts anew:
1.2 s of Chromium's CPU per page load against 0.6 s in a reused page (measured alternating on the app's page,
six loads each), and the app serves the reused page's scripts from the browser's cache.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # without Playwright the browser tests skip (needs_chromium, importorskip)
    PlaywrightError = RuntimeError  # type: ignore[misc,assignment]

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


#: Pages given back by ``put_back``, by browser and context options, for the next ``fresh_page``.
_IDLE: dict[tuple[int, str], list[Any]] = {}


def _key(browser: Any, options: dict[str, Any]) -> tuple[int, str]:
    return id(browser), json.dumps(options, sort_keys=True, default=str)


def fresh_page(browser: Any, origin: str, *, permissions: list[str] | None = None, **options: Any) -> Any:
    """A page as a first visit to ``origin`` finds it: nothing in its local or session storage and no cookies, in a
    context made with ``options`` (``new_context``) that grants ``permissions`` on ``origin``. It is on
    ``about:blank`` or on the origin's ``/robots.txt``: the caller opens the page it wants.

    A page given back with ``put_back`` for the same browser and options is reused, its storage cleared on the
    origin's own document (``/robots.txt``, 24 bytes), where the page's scripts could have written it."""
    origin = origin.rstrip("/")
    key = _key(browser, {**options, "permissions": permissions, "origin": origin})
    idle = _IDLE.get(key, [])
    while idle:
        page = idle.pop()
        if page.is_closed() or page.context.browser is not browser:
            continue
        try:
            page.goto(f"{origin}/robots.txt", wait_until="load")
            page.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
            page.context.clear_cookies()
            return page
        except PlaywrightError:  # a page that cannot be reset is closed and replaced
            page.context.close()
    context = new_context(browser, **options)
    if permissions:
        context.grant_permissions(permissions, origin=origin)
    page = context.new_page()
    page._fresh_key = key  # which pool it goes back to
    return page


def put_back(page: Any) -> None:
    """Give a page from ``fresh_page`` back for reuse. It leaves the app at once, as closing its context did (the
    app sees the visitor go, and cancels a run left going, before the next test counts anything); a page closed
    meanwhile, or one that cannot leave, is dropped."""
    idle = _IDLE.setdefault(page._fresh_key, [])
    if page.is_closed() or page in idle:
        return
    try:
        page.goto("about:blank")
    except PlaywrightError:
        page.context.close()
        return
    idle.append(page)
