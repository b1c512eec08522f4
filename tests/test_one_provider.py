"""Adding a provider takes what the README says: one provider module, one ``ProviderSpec``, and endpoints naming it.

``tests/throwaway_provider.py`` is such a module for a made-up "Echo Images" API; run in a fresh interpreter (the
catalog is read once, when the settings object is built), it registers itself, runs an endpoint through
``gradio_client`` on the embedded sandbox (which mounts the provider's routes) and then with its key and URL in the
environment against a stub of that API on 127.0.0.1, and prints what it saw.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.timeout(240)


def test_a_throwaway_provider_is_declared_built_routed_and_run():
    done = subprocess.run([sys.executable, "-c", "from tests.throwaway_provider import main; main()"], cwd=ROOT,
                          capture_output=True, text=True, timeout=200, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    result = seen["result"]
    assert result["state"] == "done" and result["seed"] == 5 and result["prompt"] == "a lighthouse, echoed"
    # The request went to the provider's own URL (ECHO_API_URL) with the server's key (ECHO_API_KEY)...
    assert [call["path"] for call in seen["seen"]] == ["/v1/echo-flux"]
    assert seen["seen"][0]["key"] == "echo-SECRET-123" and seen["seen"][0]["body"]["prompt"] == "a lighthouse, echoed"
    # ...and the record shows it redacted; the image was saved by the one media step like any provider's.
    assert result["request"]["headers"] == {"x-echo-key": "<redacted>"}
    assert result["request"]["url"].endswith("/v1/echo-flux") and "/media/" in result["images"][0]["url"]
    assert result["cost"]["usd"] == 0.05
    # Without a key, the embedded sandbox served it, from the mounts its spec names (``ProviderSpec.sandbox``).
    sandboxed = seen["sandboxed"]
    assert sandboxed["state"] == "done" and sandboxed["seed"] == 9 and sandboxed["request"]["url"].endswith("/echo/v1/echo-flux")
    assert [call["body"]["prompt"] for call in seen["sandbox_seen"]] == ["on the sandbox"]
    # Settings and the badges name the provider and its key variable; the key itself is nowhere on the page.
    assert seen["page_names_it"] and seen["page_names_its_key"] and not seen["key_in_page"]
