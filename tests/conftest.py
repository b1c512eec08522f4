"""Suite-wide test-run plumbing: the order in which ``pytest -n 3 --dist loadfile`` hands out files. No fixtures.

xdist's loadfile scheduler hands out files with the most tests first, so the browser files (a few tests, but most of
the suite's time) came last, and whichever worker drew the last long one ran alone at the end. Handing out the
slowest files first (longest-processing-time-first) lets the many quick files fill the gaps at the end instead.
Only the order changes: every file still runs whole on one worker, with its module fixtures shared as before.
"""

from __future__ import annotations

from typing import Any

import pytest

#: Seconds per file in a full run on a busy two-core machine (setup, call and teardown; rounded; 2026-12-05, four
#: workers; ``test_lint.py`` as on a fresh clone, where mypy has no cache). Only the order depends on them, so a
#: stale figure costs some wall time and never a result. Files not listed come after these, in xdist's own order
#: (most tests first).
SLOW_FILES = {
    "tests/test_promises_browser.py": 124,
    "tests/test_history_actions_browser.py": 85,
    "tests/test_app_browser.py": 75,
    "tests/test_history_browser.py": 64,
    "tests/test_models_browser.py": 55,
    "tests/test_history_links_browser.py": 50,
    "tests/test_sweep_browser.py": 47,
    "tests/runs/test_codegen.py": 43,
    "tests/test_budgets.py": 41,
    "tests/components/test_form_browser.py": 37,
    "tests/test_app.py": 29,
    "tests/test_shared_state.py": 22,
    "tests/test_lazy_tabs_browser.py": 21,
    "tests/test_sweeps.py": 19,
    "tests/test_lint.py": 18,
    "tests/test_cache_browser.py": 17,
    "tests/test_mcp.py": 13,
    "tests/providers/test_bfl_provider.py": 13,
    "tests/test_one_provider.py": 12,
    "tests/sandbox/test_no_ssrf.py": 12,
    "tests/runs/test_budget.py": 10,
    "tests/runs/test_codegen_bfl.py": 8,
    "tests/runs/test_sweep_runner.py": 6,
    "tests/sandbox/test_fal_queue.py": 6,
    "tests/test_models_tab.py": 6,
    "tests/test_settings.py": 6,
    "tests/test_cache_app.py": 5,
    "tests/components/test_gradio_fixes.py": 5,
    "tests/test_fair_use.py": 5,
    "tests/test_app_support.py": 4,
    "tests/test_uploads.py": 4,
}


def _slow_first(scheduler: Any) -> None:
    """Reorder the scheduler's queue of files (an ordered dict: file -> its tests) slowest first."""
    queue = scheduler.workqueue
    ordered = sorted(queue, key=lambda scope: -SLOW_FILES.get(scope, 0))  # stable: the rest keep xdist's order
    for scope in ordered:
        queue.move_to_end(scope)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SlowFilesFirst(LoadFileScheduling):
        def _assign_work_unit(self, node: Any) -> None:
            if not getattr(self, "_reordered", False):
                _slow_first(self)
                self._reordered = True
            super()._assign_work_unit(node)

    return SlowFilesFirst(config, log)
