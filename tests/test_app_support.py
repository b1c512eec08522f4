"""``tests.app_support``: a launch retried after Gradio's start-up check failed serves runs; closing is race-free."""

from __future__ import annotations

import threading

import gradio as gr
import httpx
from gradio_client import Client

from tests import app_support


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
        result = Client(app.url, verbose=False).predict(prompt="after a retried launch", seed=7,
                                                        num_inference_steps=2, api_name="/flux_pro")
    assert result[3]["seed"] == 7 and result[3]["state"] == "done"


def test_closing_sets_the_stop_event_on_the_servers_loop_not_from_the_test_thread():
    """Gradio's ``close()`` sets an ``asyncio.Event`` from the calling thread while heartbeat streams wait on it in
    the server's loop ("deque mutated during iteration" in CI): ``close_demo`` sets it on the loop first."""
    calls: list[tuple[str, bool]] = []
    with (app_support.launched_app() as app, httpx.Client(timeout=10) as http,
          http.stream("GET", f"{app.url}gradio_api/heartbeat/test-session") as stream):
        next(stream.iter_lines())  # a heartbeat stream open, as each page keeps one
        event = app.demo.app.stop_event
        real_set = event.set

        def recorded_set() -> None:
            calls.append((threading.current_thread().name, event.is_set()))
            real_set()

        event.set = recorded_set
        app_support.close_demo(app.demo)
    first_thread, was_set = calls[0]
    assert not was_set and first_thread != threading.current_thread().name, calls
    assert all(was_set for _, was_set in calls[1:]), calls  # Gradio's own set() found it set
