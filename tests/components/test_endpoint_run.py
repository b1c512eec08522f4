import gradio as gr

from components.endpoint_run import postprocessed


def plain(value):
    """A postprocessed value as it is sent (Gradio's JSON is a pydantic root model until serialized)."""
    return value.model_dump() if hasattr(value, "model_dump") else value


def outputs():
    return [gr.HTML(), gr.Textbox(), gr.Gallery(visible=False), gr.JSON(visible=False)]


def test_a_hidden_output_given_a_value_is_shown_with_it():
    status, logs, gallery, result = postprocessed(
        outputs(), ("<p>done</p>", "log", [("https://cdn.example/a.jpg", "seed 1")], {"seed": 1}), frozenset({2, 3}))
    assert status == "<p>done</p>" and logs == "log"
    assert gallery["__type__"] == "update" and gallery["visible"] is True
    assert gallery["value"][0]["image"]["url"] == "https://cdn.example/a.jpg" and gallery["value"][0]["caption"] == "seed 1"
    assert {**result, "value": plain(result["value"])} == {"__type__": "update", "visible": True, "value": {"seed": 1}}


def test_skips_stay_skips_and_api_callers_get_plain_values():
    skip = gr.skip()
    _, _, gallery, result = postprocessed(outputs(), ("s", "l", skip, None), frozenset({2, 3}))
    assert gallery == skip and result is None  # nothing to show: still hidden
    _, _, gallery, result = postprocessed(outputs(), ("s", "l", [("https://cdn.example/a.jpg", "c")], {"seed": 1}))
    assert isinstance(gallery, list) and plain(result) == {"seed": 1}
