"""What the browser test files share about the browser itself: a context with CSS animations and transitions off.

No test checks an animation; drawing them costs CPU the suite does not have (about a tenth of a browser file's),
and waiting for a tab, an accordion or a toast to finish moving only slows a test down.
"""

from __future__ import annotations

from typing import Any

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
