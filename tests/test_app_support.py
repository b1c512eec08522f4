"""``tests.app_support.launched_app``: a launch retried after Gradio's start-up check failed serves runs."""

from __future__ import annotations

import gradio as gr

from tests import app_support
from tests.app_support import app_client


def test_a_retried_launch_builds_the_app_anew_and_runs(monkeypatch):
    real_launch = gr.Blocks.launch
    calls: list[int] = []

    def check_fails_once(self, *args, **kwargs):
        result = real_launch(self, *args, **kwargs)  # the server is up, as when Gradio's check times out
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("When localhost is not accessible, a shareable link must be created.")
        return result

    monkeypatch.setattr(gr.Blocks, "launch", check_fails_once)
    with app_support.launched_app() as app:
        assert len(calls) == 2
        result = app_client(app.url).predict(prompt="after a retried launch", seed=7,
                                                        num_inference_steps=2, api_name="/flux_pro")
    assert result[3]["seed"] == 7 and result[3]["state"] == "done"

