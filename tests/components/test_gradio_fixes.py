"""The Gradio workarounds: skipped outputs rebuild nothing and leave nothing in the session; idle sessions go."""

from __future__ import annotations

import contextlib
import datetime
import sys
import threading
import time

import gradio as gr
import httpx
import pytest
from gradio.queueing import Queue
from gradio.state_holder import SessionState, StateHolder

from components.gradio_fixes import SKIP, PlaygroundBlocks, SessionLifetimes, SessionReaper
from tests.app_support import app_client, free_port


def streaming_blocks() -> tuple[gr.Blocks, gr.Gallery, gr.JSON, gr.State]:
    with PlaygroundBlocks() as demo:
        status = gr.Textbox()
        gallery = gr.Gallery()
        result = gr.JSON()
        last = gr.State()

        def run():
            yield "running", gr.skip(), gr.skip(), gr.skip()
            yield "done", [("https://example.com/a.png", "seed 1")], {"seed": 1}, "record"

        gr.Button().click(run, None, [status, gallery, result, last], api_name="run")
    return demo, gallery, result, last


@pytest.mark.asyncio
async def test_a_skipped_output_is_sent_as_a_bare_update_and_nothing_is_rebuilt():
    demo, gallery, result, _last = streaming_blocks()
    fn = demo.fns[0]
    state = SessionState(demo)
    keys = set(state.blocks_config.blocks)

    out = await demo.postprocess_data(fn, ("running", gr.skip(), gr.skip(), gr.skip()), state)

    assert out[0] == "running"
    assert out[1] == SKIP and out[2] == SKIP
    assert state.blocks_config.blocks[gallery._id] is gallery  # not a rebuilt instance
    assert state.blocks_config.blocks[result._id] is result
    assert set(state.blocks_config.blocks) == keys


@pytest.mark.asyncio
async def test_many_runs_in_one_session_add_no_session_entries():
    demo, gallery, result, last = streaming_blocks()
    fn = demo.fns[0]
    state = SessionState(demo)
    keys = set(state.blocks_config.blocks)
    configs = set(state.config_values)
    for seed in range(5):
        await demo.postprocess_data(fn, ("running", gr.skip(), gr.skip(), gr.skip()), state)
        out = await demo.postprocess_data(fn, ("done", [("https://example.com/a.png", f"seed {seed}")],
                                               {"seed": seed}, "record"), state)
        assert out[2].model_dump() == {"seed": seed}
        assert out[1][0]["caption"] == f"seed {seed}"
    assert set(state.blocks_config.blocks) == keys
    assert set(state.config_values) == configs
    assert state.blocks_config.blocks[gallery._id] is gallery  # skips rebuilt nothing (the CPU half of the fix)
    assert state.config_values[result._id]["props"]["value"].model_dump() == {"seed": 4}  # kept where Gradio keeps it
    assert state[last._id] == "record"


@pytest.mark.asyncio
async def test_a_single_skip_for_all_outputs_and_property_updates_still_work():
    demo, _gallery, _result, last = streaming_blocks()
    fn = demo.fns[0]
    state = SessionState(demo)
    state[last._id] = "kept"

    out = await demo.postprocess_data(fn, gr.skip(), state)
    assert out[:3] == [SKIP, SKIP, SKIP]
    assert state[last._id] == "kept"  # a skipped State keeps its value

    out = await demo.postprocess_data(fn, ("x", gr.update(visible=False), gr.skip(), "v"), state)
    assert out[1]["visible"] is False and out[1]["__type__"] == "update"  # real updates go through Gradio as before
    assert state[last._id] == "v"


@pytest.mark.asyncio
async def test_property_updates_then_values_add_no_session_entries():
    with PlaygroundBlocks() as demo:
        tiles = gr.Gallery(visible=False)
        note = gr.Markdown()
        gr.Button().click(lambda: None, None, [tiles, note])
    fn = demo.fns[0]
    state = SessionState(demo)
    keys = set(state.blocks_config.blocks)
    for n in range(4):
        out = await demo.postprocess_data(fn, (gr.Gallery(value=None, visible=bool(n % 2)), gr.update(value="a")), state)
        assert out[0]["visible"] is bool(n % 2)
        await demo.postprocess_data(fn, ([("https://example.com/a.png", f"tile {n}")], f"note {n}"), state)
        assert state.blocks_config.blocks[tiles._id].visible is bool(n % 2)  # the update's props are kept
    assert set(state.blocks_config.blocks) == keys
    assert state.config_values[note._id]["props"]["value"] == "note 3"


def holder_with(demo: gr.Blocks, ages: dict[str, tuple[float, bool]], now: datetime.datetime) -> StateHolder:
    holder = StateHolder()
    holder.set_blocks(demo)
    for session_id, (age, closed) in ages.items():
        holder[session_id].is_closed = closed
        holder.time_last_used[session_id] = now - datetime.timedelta(seconds=age)
    return holder


def later(now: datetime.datetime, seconds: float) -> datetime.datetime:
    return now + datetime.timedelta(seconds=seconds)


def test_sessions_idle_too_long_are_dropped_and_busy_ones_kept():
    demo, *_ = streaming_blocks()
    now = datetime.datetime.now()
    holder = holder_with(demo, {"fresh": (10, False), "idle": (7200, False), "idle-but-running": (7200, False)}, now)
    reaper = SessionReaper(holder, lambda: {"idle-but-running"}, SessionLifetimes(idle=3600, closed=300))

    assert reaper.reap(now) == 1
    assert set(holder.session_data) == {"fresh", "idle-but-running"}
    assert set(holder.time_last_used) == set(holder.session_data)
    assert set(holder.owners()) == set(holder.session_data), "who opened a dropped session is forgotten with it"


def test_a_closed_session_goes_after_its_grace_counted_from_when_it_was_seen_closed():
    demo, *_ = streaming_blocks()
    now = datetime.datetime.now()
    # Used 59 minutes ago, closed just now: it gets the whole grace, not one minute.
    holder = holder_with(demo, {"tab": (59 * 60, True), "open": (59 * 60, False)}, now)
    reaper = SessionReaper(holder, set, SessionLifetimes(idle=24 * 3600, closed=3600))

    assert reaper.reap(now) == 0
    assert reaper.reap(later(now, 3599)) == 0
    assert reaper.reap(later(now, 3600)) == 1
    assert set(holder.session_data) == {"open"}
    assert reaper.closed_seen == {}


def test_a_closed_session_used_again_starts_a_new_grace():
    demo, *_ = streaming_blocks()
    now = datetime.datetime.now()
    holder = holder_with(demo, {"tab": (0, True)}, now)
    reaper = SessionReaper(holder, set, SessionLifetimes(idle=24 * 3600, closed=600))
    assert reaper.reap(now) == 0
    holder.time_last_used["tab"] = later(now, 500)  # the page reconnected and ran an event (Gradio keeps is_closed)
    assert reaper.reap(later(now, 700)) == 0
    assert reaper.reap(later(now, 1299)) == 0
    assert reaper.reap(later(now, 1300)) == 1


def test_dropping_a_session_runs_its_state_delete_callbacks_and_a_failing_one_does_not_stop_it():
    deleted = []

    def failing(value):
        raise RuntimeError("boom")

    with PlaygroundBlocks() as demo:
        keys = gr.State(delete_callback=deleted.append)
        other = gr.State(delete_callback=failing)
    now = datetime.datetime.now()
    holder = holder_with(demo, {"gone": (600, False)}, now)
    holder["gone"][keys._id] = {"fal": "secret"}
    holder["gone"][other._id] = 1
    holder.time_last_used["gone"] = now - datetime.timedelta(seconds=600)

    assert SessionReaper(holder, set, SessionLifetimes(idle=300)).reap(now) == 1
    assert deleted == [{"fal": "secret"}]
    assert "gone" not in holder.session_data


@pytest.mark.asyncio
async def test_the_reaper_loop_survives_a_failing_pass():
    import asyncio

    calls = []

    class Holder:
        lock = None
        time_last_used = None

        @property
        def session_data(self):
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("a bad pass")
            return {}

    reaper = SessionReaper(Holder(), set, SessionLifetimes(idle=1, every=0.01))
    task = asyncio.create_task(reaper.run_forever())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls) >= 3


def test_configs_are_built_without_recomputing_signatures_and_stay_the_same(monkeypatch):
    import inspect

    def layout(blocks_class):
        with blocks_class() as demo:
            gr.Textbox(label="prompt")
            gr.Gallery(columns=2)
            gr.Slider(1, 50, step=1)
        return demo

    expected = SessionState(layout(gr.Blocks)).config_values
    demo = layout(PlaygroundBlocks)
    recomputed = []
    original = inspect._signature_from_function
    monkeypatch.setattr(inspect, "_signature_from_function", lambda *a, **k: recomputed.append(a) or original(*a, **k))
    state = SessionState(demo)
    assert recomputed == []
    strip = lambda configs: [{k: v for k, v in c.items() if k != "id"} for c in configs.values()]
    assert strip(state.config_values) == strip(expected)


def test_new_sessions_share_the_default_block_configs_and_read_the_same(monkeypatch):
    demo, gallery, _result, _last = streaming_blocks()
    holder = StateHolder()
    holder.set_blocks(demo)
    assert type(holder).__name__ == "_PlaygroundStateHolder"
    eager = SessionState(demo)  # Gradio's own: every block's config computed for the session
    holder["first"]  # the defaults are computed once, here
    calls = []
    original = type(demo.default_config).config_for_block
    monkeypatch.setattr(type(demo.default_config), "config_for_block",
                        staticmethod(lambda *a, **k: calls.append(a) or original(*a, **k)))

    session = holder["second"]

    assert calls == []  # a new session computed no block config
    assert dict(session.config_values.items()) == eager.config_values
    session._update_value_in_config(gallery._id, [{"caption": "mine"}])  # a run's value stays in its own session
    assert holder["first"].config_values[gallery._id] == eager.config_values[gallery._id]
    assert session.config_values[gallery._id]["props"]["value"] == [{"caption": "mine"}]


def test_on_an_untested_gradio_the_workarounds_are_off_with_one_warning(monkeypatch, caplog):
    from components import gradio_fixes

    monkeypatch.setattr(gradio_fixes, "TESTED_GRADIO", ("0.0.1",))
    gradio_fixes.fixes_active.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="components.gradio_fixes"):
            demo, _gallery, _result, _last = streaming_blocks()
            streaming_blocks()
            holder = StateHolder()
            holder.set_blocks(demo)
            demo.queue()
        warnings = [r for r in caplog.records if r.levelname == "WARNING"]
        assert len(warnings) == 1 and "workarounds in components/gradio_fixes.py are off" in warnings[0].getMessage()
        assert type(holder) is StateHolder  # Gradio's own sessions
        assert type(demo._queue) is Queue  # Gradio's own queue (its monitoring summary after every event)
        assert not gradio_fixes.fixes_active()
    finally:
        gradio_fixes.fixes_active.cache_clear()


@pytest.mark.asyncio
async def test_on_an_untested_gradio_skips_go_to_gradio_as_they_are(monkeypatch):
    from components import gradio_fixes

    monkeypatch.setattr(gradio_fixes, "TESTED_GRADIO", ("0.0.1",))
    gradio_fixes.fixes_active.cache_clear()
    try:
        demo, gallery, _result, _last = streaming_blocks()
        state = SessionState(demo)
        await demo.postprocess_data(demo.fns[0], ("running", gr.skip(), gr.skip(), gr.skip()), state)
        assert state.blocks_config.blocks[gallery._id] is not gallery  # Gradio rebuilt it: no workaround
    finally:
        gradio_fixes.fixes_active.cache_clear()



def test_render_areas_are_drawn_one_at_a_time():
    """Two ``gr.render`` areas drawn at once in worker threads break Gradio's dicts (docs/upstream.md §9): on the
    tested Gradio every ``Renderable.apply`` holds ``RENDER_LOCK`` while it runs."""
    import threading

    from gradio.renderable import Renderable

    from components import gradio_fixes

    if not gradio_fixes.fixes_active():
        pytest.skip("Gradio is not a tested version: the workarounds are off")
    with gradio_fixes.PlaygroundBlocks():
        pass
    taken_elsewhere: list[bool] = []

    class Probe:
        """The blocks config Gradio's apply reads first: another thread tries the lock then, and the apply stops."""

        def __getattr__(self, name: str):
            other = threading.Thread(
                target=lambda: taken_elsewhere.append(gradio_fixes.RENDER_LOCK.acquire(blocking=False)))
            other.start()
            other.join()
            raise AttributeError(name)

    from gradio.context import LocalContext

    token = LocalContext.blocks_config.set(Probe())  # Gradio's apply reads its blocks config first
    try:
        with pytest.raises(AttributeError):
            Renderable.apply(object())
    finally:
        LocalContext.blocks_config.reset(token)
    assert taken_elsewhere[:1] == [False]  # held by the drawing thread
    assert gradio_fixes.RENDER_LOCK.acquire(blocking=False)  # and released after
    gradio_fixes.RENDER_LOCK.release()


def test_a_drawn_areas_config_waits_for_an_area_being_drawn_elsewhere():
    """The event loop writes a drawn area's config (``BlocksConfig.get_config``, walking ``fns``) while another area
    may be drawing in its thread and adding to ``fns`` ("dictionary changed size during iteration", seen in the
    suite): on the tested Gradio it takes ``RENDER_LOCK`` too, and so waits for the drawing to end."""
    import threading

    from components import gradio_fixes

    if not gradio_fixes.fixes_active():
        pytest.skip("Gradio is not a tested version: the workarounds are off")
    with gradio_fixes.PlaygroundBlocks() as demo:
        gr.Textbox()
    done = threading.Event()
    with gradio_fixes.RENDER_LOCK:  # an area being drawn in this thread
        writer = threading.Thread(target=lambda: (demo.default_config.get_config(), done.set()))
        writer.start()
        assert not done.wait(0.3), "the config was walked while an area was being drawn"
    assert done.wait(10), "and written once the drawing ended"
    writer.join()


def test_close_sets_the_stop_event_on_the_servers_loop_not_from_the_callers_thread():
    """Gradio's ``close()`` sets an ``asyncio.Event`` from the calling thread while heartbeat streams wait on it in
    the server's loop ("deque mutated during iteration" in CI, docs/upstream.md §11): it is set on the loop first."""
    with PlaygroundBlocks() as demo:
        gr.Markdown("closing")
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    calls: list[tuple[str, bool]] = []
    try:
        with (httpx.Client(timeout=10) as http,
              http.stream("GET", f"{url}gradio_api/heartbeat/test-session") as stream):
            next(stream.iter_lines())  # a heartbeat stream open, as each page keeps one
            event = demo.app.stop_event
            real_set = event.set

            def recorded_set() -> None:
                calls.append((threading.current_thread().name, event.is_set()))
                real_set()

            event.set = recorded_set
            demo.close()
    finally:
        demo.close()
    first_thread, was_set = calls[0]
    assert not was_set and first_thread != threading.current_thread().name, calls
    assert all(was_set for _, was_set in calls[1:]), calls  # Gradio's own set() found it set


def test_the_monitoring_summary_is_made_when_read_not_after_every_event(monkeypatch):
    """Gradio rebuilds its monitoring summary (a pandas DataFrame of the recorded events) after every event; the app's
    queue makes the same summary when ``/monitoring/summary`` is read, so runs build no DataFrame."""
    from gradio.queueing import Queue

    frames: list[int] = []
    get_df = Queue._get_df

    def counted(records):
        frames.append(len(records))
        return get_df(records)

    monkeypatch.setattr(Queue, "_get_df", staticmethod(counted))
    with PlaygroundBlocks() as demo:
        text = gr.Textbox()
        gr.Button().click(lambda value: value, text, text, api_name="echo")
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    try:
        client = app_client(url)
        for word in ("one", "two", "three"):
            assert client.predict(word, api_name="/echo") == word
        assert frames == [], "no summary is made while events run"
        summary = httpx.get(f"{url}monitoring/summary", timeout=10).json()
        assert frames == [3], "one summary, of the three events, when read"
        echo = summary["functions"]["echo"]
        assert echo["total_requests"] == 3 and echo["success_rate"] == 1.0
        assert set(echo["process_time_percentiles"]) == {"50th", "90th", "99th"}
        assert httpx.get(f"{url}monitoring/summary", timeout=10).json() == summary
        assert frames == [3], "read again with no new event: the same summary, not made again"
        # Gradio's own computation over the same records gives the same figures.
        plain = Queue.__new__(Queue)
        plain.__dict__.update({k: v for k, v in demo._queue.__dict__.items() if k != "_summary"})
        plain.cached_event_analytics_summary = {"functions": {}}
        plain.event_count_at_last_cache = 0
        expected = Queue.compute_analytics_summary(plain, list(demo._queue.event_analytics.values()))
        assert expected["functions"]["echo"]["total_requests"] == echo["total_requests"]
        assert expected["functions"]["echo"]["process_time_percentiles"]["50th"] == pytest.approx(
            echo["process_time_percentiles"]["50th"])
        # With GRADIO_ANALYTICS_CACHE_FREQUENCY above the new events, Gradio keeps its last summary: so does the
        # read (it recursed until Python gave up, a 500, before).
        demo._queue.ANAYLTICS_CACHE_FREQUENCY = 3
        frames.clear()  # the comparison above made one
        assert client.predict("four", api_name="/echo") == "four"
        kept = httpx.get(f"{url}monitoring/summary", timeout=10)
        assert kept.status_code == 200 and kept.json() == summary and frames == []
        for word in ("five", "six"):
            client.predict(word, api_name="/echo")
        assert httpx.get(f"{url}monitoring/summary", timeout=10).json()["functions"]["echo"]["total_requests"] == 6
        assert frames == [6]
        client.close()
    finally:
        demo.close()


def test_the_queue_loop_sleeps_until_there_is_something_to_start(monkeypatch):
    """Gradio's queue looks for work every millisecond while it has none (~1,000 loop passes a second, for as long
    as the server runs); the app's queue sleeps until an event is pushed or a job ends. Events still start at once:
    one visitor's runs in a row, several visitors' at the same time, and more jobs than the queue has slots."""
    import asyncio
    import concurrent.futures

    import gradio.queueing

    from components import gradio_fixes

    sleeps: list[bool] = []  # each pass's sleep: woken (an event pushed, a job ended) or not
    wrapped = gradio_fixes._Wakeable.sleep

    async def counted(self):
        woken = await wrapped(self)
        sleeps.append(woken)
        return woken

    monkeypatch.setattr(gradio_fixes._Wakeable, "sleep", counted)
    with PlaygroundBlocks() as demo:
        text = gr.Textbox()

        async def echo(value):
            await asyncio.sleep(0.05)
            return value

        gr.Button().click(echo, text, text, api_name="echo")
    demo.queue(default_concurrency_limit=None)
    assert isinstance(demo._queue.sleep_when_free, gradio_fixes._Wakeable)
    assert isinstance(gradio.queueing.asyncio, gradio_fixes._QueueAsyncio)
    demo._queue.max_thread_count = 4  # fewer job slots than the events sent at once below
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    try:
        client = app_client(url)
        sleeps.clear()
        threading.Event().wait(0.5)
        assert 0 < len(sleeps) < 50, f"{len(sleeps)} passes of the queue's loop in 0.5 s idle (Gradio's: ~500)"
        assert not any(sleeps)
        sleeps.clear()
        for word in ("one", "two", "three"):
            assert client.predict(word, api_name="/echo") == word
        assert sum(sleeps) >= 3, "each push wakes the loop (not its fallback timeout)"
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            words = [f"w{i}" for i in range(10)]
            assert list(pool.map(lambda w: client.predict(w, api_name="/echo"), words)) == words
        client.close()
    finally:
        demo.close()


def test_a_data_models_api_schema_is_made_once_and_each_component_gets_its_own_copy(monkeypatch):
    """Gradio keeps ``api_info`` per instance, so each rebuilt gallery (a property update) and each file or image
    slider drawn in a new session made its data model's pydantic schema again (~8 ms for a gallery)."""
    from gradio.components.gallery import GalleryData

    made: list[str] = []
    schema = GalleryData.model_json_schema.__func__

    def counted(cls, *args, **kwargs):
        made.append(cls.__name__)
        return schema(cls, *args, **kwargs)

    with PlaygroundBlocks():
        pass  # installs the workarounds (on the tested Gradio)
    from components import gradio_fixes

    if not gradio_fixes.fixes_active():
        pytest.skip("Gradio is not a tested version")
    monkeypatch.setattr(gradio_fixes, "_API_SCHEMAS", {})
    monkeypatch.setattr(GalleryData, "model_json_schema", classmethod(counted))
    first, second = gr.Gallery(render=False), gr.Gallery(label="other", render=False)
    info = first.api_info()
    assert second.api_info() == info and made == ["GalleryData"], made
    second.api_info()["items"] = "changed by a caller"
    assert gr.Gallery(render=False).api_info() == info and first.api_info() == info  # copies, not one shared dict
    # the same schema Gradio makes on its own
    plain = GalleryData.model_json_schema()
    plain["additional_description"] = plain.pop("description", None)
    assert info == plain


def state_blocks() -> tuple[gr.Blocks, gr.State, gr.State]:
    with PlaygroundBlocks() as demo:
        watched = gr.State(1)
        quiet = gr.State(2)
        shown = gr.Textbox()
        watched.change(lambda v: str(v), watched, shown)
        gr.Button().click(lambda: (3, 4), None, [watched, quiet])
    return demo, watched, quiet


def test_stateful_outputs_are_tracked_as_gradio_tracks_them():
    demo, watched, _quiet = state_blocks()
    state = SessionState(demo)
    click = next(fn for fn in demo.fns.values() if fn.targets and fn.targets[0][1] == "click")
    ours = demo.get_state_ids_to_track(click, state)
    assert ours == gr.Blocks.get_state_ids_to_track(demo, click, state)
    assert ours[0] == [watched._id]


@contextlib.contextmanager
def events_added_meanwhile(fns: dict):
    """What a render's thread does to a session's events, over and over, in another thread, with the interpreter
    switching threads as often as it can, for the duration of the block."""
    model = next(iter(fns.values()))
    stop = threading.Event()

    def draw() -> None:
        key = 10_000
        while not stop.is_set():
            for k in range(key, key + 50):
                fns[k] = model
            for k in range(key, key + 50):
                del fns[k]
            key += 50

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    drawer = threading.Thread(target=draw, daemon=True)
    drawer.start()
    try:
        yield
    finally:
        stop.set()
        drawer.join(5)
        sys.setswitchinterval(interval)


def calls_until_a_race(call, seconds: float = 20.0) -> int | None:
    """How many calls of ``call`` it took to fail with "dictionary changed size during iteration" while
    ``events_added_meanwhile`` runs (None: not within ``seconds``; the race depends on the machine's scheduling)."""
    deadline = time.monotonic() + seconds
    calls = 0
    while time.monotonic() < deadline:
        for _ in range(500):
            calls += 1
            try:
                call()
            except RuntimeError:
                return calls
    return None


def races(call, calls: int) -> int:
    failed = 0
    for _ in range(calls):
        try:
            call()
        except RuntimeError:
            failed += 1
    return failed


def test_tracking_state_while_a_render_adds_events_in_another_thread_does_not_fail():
    """CI failure: a history action's run died with "dictionary changed size during iteration" because Gradio walked
    the session's events on the loop while a ``gr.render`` added events in its worker thread. Gradio's own method
    fails here within some hundreds of calls on a quiet machine (the test skips if it never does within 20 s); the
    app's takes one copy and does not in ten times as many, or 20,000."""
    from components import gradio_fixes

    if not gradio_fixes.fixes_active():
        pytest.skip("Gradio is not a tested version: the workarounds are off")
    demo, _watched, _quiet = state_blocks()
    state = SessionState(demo)
    click = next(fn for fn in demo.fns.values() if fn.targets and fn.targets[0][1] == "click")

    with events_added_meanwhile(state.blocks_config.fns):
        gradios = calls_until_a_race(lambda: gr.Blocks.get_state_ids_to_track(demo, click, state))
        if gradios is None:
            pytest.skip("the race did not show on this machine within 20 s")
        assert races(lambda: demo.get_state_ids_to_track(click, state), max(20_000, 10 * gradios)) == 0


def test_an_api_name_lookup_in_a_session_while_a_render_adds_events_does_not_fail():
    """``POST /api/<name>/`` with a session and no ``fn_index``: Gradio's ``get_fn`` walks the session's events on the
    loop, as ``get_state_ids_to_track`` did; the app's lookup walks one copy (Gradio's own fails here)."""
    import types

    from gradio import route_utils
    from gradio.data_classes import PredictBody

    from components import gradio_fixes

    if not gradio_fixes.fixes_active():
        pytest.skip("Gradio is not a tested version: the workarounds are off")
    demo, _watched, _quiet = state_blocks()
    state = SessionState(demo)
    blocks = types.SimpleNamespace(state_holder={"s": state}, fns=demo.fns)
    fns = state.blocks_config.fns
    named = next(fn for fn in fns.values() if fn.api_name)
    body = PredictBody(session_hash="s", fn_index=None, data=[])
    original = route_utils.get_fn.__wrapped__
    assert route_utils.get_fn(blocks, named.api_name, body) is named is original(blocks, named.api_name, body)

    def found(lookup) -> None:
        assert lookup(blocks, named.api_name, body) is named

    def unknown(lookup) -> None:  # a name no event has: every event is walked, then Gradio's own error
        with pytest.raises(route_utils.FnIndexInferError):
            lookup(blocks, "no_such_endpoint", body)

    with events_added_meanwhile(fns):
        gradios = calls_until_a_race(lambda: unknown(original))
        if gradios is None:
            pytest.skip("the race did not show on this machine within 20 s")
        assert races(lambda: unknown(route_utils.get_fn), max(20_000, 10 * gradios)) == 0
        assert races(lambda: found(route_utils.get_fn), 5_000) == 0
