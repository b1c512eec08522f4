"""Suite-wide test-run plumbing: the order in which ``pytest -n 3 --dist loadfile`` hands out files. No fixtures.

xdist's loadfile scheduler hands out files with the most tests first, so the browser files (a few tests, but most of
the suite's time) came last, and whichever worker drew the last long one ran alone at the end. Handing out the
slowest files first (longest-processing-time-first) lets the many quick files fill the gaps at the end instead.
Only the order changes: every file still runs whole on one worker, with its module fixtures shared as before.
"""

from __future__ import annotations

from typing import Any

import pytest

#: Seconds per file in one full run with ``-n 2`` on a loaded two-core machine (setup, call and teardown; rounded).
#: Only the order depends on them, so a stale figure costs some wall time and never a result. Files not listed
#: come after these, in xdist's own order (most tests first).
SLOW_FILES = {
    "tests/test_promises_browser.py": 230,
    "tests/test_budgets.py": 200,
    "tests/test_history_actions_browser.py": 170,
    "tests/test_models_browser.py": 160,
    "tests/test_app_browser.py": 140,
    "tests/test_sweep_browser.py": 130,
    "tests/test_history_browser.py": 110,
    "tests/runs/test_codegen.py": 100,
    "tests/test_one_provider.py": 95,
    "tests/test_shared_state.py": 90,
    "tests/test_history_links_browser.py": 90,
    "tests/test_cache_browser.py": 80,
    "tests/test_app.py": 70,
    "tests/components/test_form_browser.py": 70,
    "tests/sandbox/test_no_ssrf.py": 50,
    "tests/test_mcp.py": 50,
    "tests/test_cache_app.py": 40,
    "tests/test_fair_use.py": 35,
    "tests/test_one_module.py": 35,
    "tests/test_settings.py": 35,
    "tests/test_sweeps.py": 30,
    "tests/test_uploads.py": 30,
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
