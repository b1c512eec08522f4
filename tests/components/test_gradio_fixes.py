"""The Gradio workarounds: skipped outputs rebuild nothing and leave nothing in the session; idle sessions go."""

from __future__ import annotations

import datetime

import gradio as gr
import pytest
from gradio.state_holder import SessionState, StateHolder

from components.gradio_fixes import SKIP, PlaygroundBlocks, reap_sessions


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
    demo, _gallery, result, last = streaming_blocks()
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


def test_sessions_idle_or_closed_too_long_are_dropped_and_busy_ones_kept():
    demo, *_ = streaming_blocks()
    now = datetime.datetime.now()
    holder = holder_with(demo, {
        "fresh": (10, False),
        "idle": (7200, False),
        "closed-recently": (30, True),
        "closed-long-ago": (600, True),
        "idle-but-running": (7200, False),
    }, now)

    dropped = reap_sessions(holder, {"idle-but-running"}, idle_seconds=3600, closed_seconds=300, now=now)

    assert dropped == 2
    assert set(holder.session_data) == {"fresh", "closed-recently", "idle-but-running"}
    assert set(holder.time_last_used) == set(holder.session_data)


def test_dropping_a_session_runs_its_state_delete_callbacks():
    deleted = []
    with PlaygroundBlocks() as demo:
        keys = gr.State(delete_callback=deleted.append)
    now = datetime.datetime.now()
    holder = holder_with(demo, {"gone": (600, True)}, now)
    holder["gone"][keys._id] = {"fal": "secret"}
    holder.time_last_used["gone"] = now - datetime.timedelta(seconds=600)

    assert reap_sessions(holder, idle_seconds=3600, closed_seconds=300, now=now) == 1
    assert deleted == [{"fal": "secret"}]
    assert "gone" not in holder.session_data
