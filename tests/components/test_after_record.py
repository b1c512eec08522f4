"""The steps after a run's record, made one queued event (``components.after_record``)."""

from __future__ import annotations

import json
from typing import Any

import gradio as gr
import pytest

from components.after_record import AfterRecord


class Triggers:
    """Stands in for ``run.then``, ``run.failure`` and Stop's ``.then``: keeps what each was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, list[Any], list[Any], dict[str, Any]]] = []

    def __call__(self, fn: Any, inputs: list[Any], outputs: list[Any], **options: Any) -> None:
        self.calls.append((fn, inputs, outputs, options))


def result_of(record: dict[str, Any] | None) -> dict[str, Any]:
    return {"seed": 1, "record": json.dumps(record)} if record is not None else {}


@pytest.fixture
def parts():
    with gr.Blocks():
        return {"record": gr.State(None), "result": gr.JSON(), "code": gr.Code(), "spend": gr.State(None),
                "line": gr.Markdown(), "history": gr.State(None), "label": gr.Radio(["Python", "cURL"])}


def wired(parts: dict[str, Any], steps: list[tuple[Any, list[str], list[str]]]) -> tuple[Triggers, AfterRecord]:
    after = AfterRecord(parts["record"], "flux_pro")
    triggers = Triggers()
    after.follow(parts["result"], triggers, triggers, triggers)
    for fn, inputs, outputs in steps:
        after.add(fn, [parts[name] for name in inputs], [parts[name] for name in outputs])
    after.wire()
    return triggers, after


def call(triggers: Triggers, parts: dict[str, Any], values: dict[str, Any]) -> dict[Any, Any]:
    fn, inputs, _, _ = triggers.calls[0]
    names = {id(component): name for name, component in parts.items()}
    return fn(None, *(values.get(names[id(component)]) for component in inputs))


def test_one_private_queued_event_per_trigger_with_every_steps_outputs(parts):
    triggers, _ = wired(parts, [
        (lambda record, label: f"code of {record['id']}", ["record", "label"], ["code"]),
        (lambda spend, record: ({"runs": 1}, "1 run"), ["spend", "record"], ["spend", "line"]),
    ])
    assert len(triggers.calls) == 3, "after the run's success, its failure and Stop"
    fn, inputs, outputs, options = triggers.calls[0]
    assert fn.__name__ == "flux_pro_after_run"
    assert options == {"api_visibility": "private", "show_progress": "hidden", "trigger_mode": "always_last"}, (
        "queued (Gradio's default); a run ending while the last one's steps are pending is not dropped")
    assert inputs[:2] == [parts["result"], parts["record"]] and parts["label"] in inputs
    assert outputs == [parts["record"], parts["code"], parts["spend"], parts["line"]]


def test_an_input_read_in_the_page_is_put_in_its_place_as_the_step_is_sent(parts):
    """A step input the page reads when it sends the step (the stored history, which another tab may have just
    written) is set by the event's js at that input's place; the others go as they are."""
    triggers = Triggers()
    after = AfterRecord(parts["record"], "flux_pro")
    after.follow(parts["result"], triggers)
    after.add(lambda history, record, label: None, [parts["history"], parts["record"], parts["label"]],
              [parts["code"]])
    after.read_in_page(parts["label"], "localStorage.getItem('k')")
    after.wire()
    _, inputs, _, options = triggers.calls[0]
    place = inputs.index(parts["label"])
    assert options["js"] == f"(...values) => {{ values[{place}] = localStorage.getItem('k'); return values; }}"


def test_the_steps_get_the_new_record_and_their_answers_go_to_their_outputs(parts):
    seen: list[Any] = []

    def add(history: list | None, record: dict[str, Any]) -> dict[Any, Any]:
        seen.append(record)
        return {parts["history"]: [*(history or []), record["id"]]}  # an answer by component

    triggers, _ = wired(parts, [
        (lambda record, label: f"{label} code of {record['id']}", ["record", "label"], ["code"]),
        (lambda spend, record: ({"runs": (spend or {}).get("runs", 0) + 1}, "1 run"), ["spend", "record"],
         ["spend", "line"]),
        (add, ["history", "record"], ["history"]),
    ])
    answer = call(triggers, parts, {"result": result_of({"id": "r2"}), "record": {"id": "r1"}, "label": "cURL",
                                    "spend": {"runs": 4}, "history": ["r1"]})
    assert answer[parts["record"]] == {"id": "r2"}
    assert answer[parts["code"]] == "cURL code of r2"
    assert answer[parts["spend"]] == {"runs": 5} and answer[parts["line"]] == "1 run"
    assert answer[parts["history"]] == ["r1", "r2"] and seen == [{"id": "r2"}]


def test_a_record_value_that_is_a_dict_goes_to_its_one_output(parts):
    triggers, _ = wired(parts, [(lambda record: record, ["record"], ["history"])])
    answer = call(triggers, parts, {"result": result_of({"id": "r2", "seed": 3})})
    assert answer[parts["history"]] == {"id": "r2", "seed": 3}


def test_a_failing_step_leaves_its_outputs_and_the_others_still_run(parts, caplog):
    def broken(record: dict[str, Any]) -> str:
        raise RuntimeError("boom")

    triggers, _ = wired(parts, [(broken, ["record"], ["code"]), (lambda record: "1 run", ["record"], ["line"])])
    answer = call(triggers, parts, {"result": result_of({"id": "r2"})})
    assert parts["code"] not in answer and answer[parts["line"]] == "1 run"
    assert "a step after the run's record failed" in caplog.text


def test_the_same_record_again_changes_nothing(parts):
    """A stopped run can end twice (Stop's step and the run's own end): its record is counted once."""
    counted: list[Any] = []
    triggers, _ = wired(parts, [(lambda record: counted.append(record) or "1 run", ["record"], ["line"])])
    answer = call(triggers, parts, {"result": result_of({"id": "r1"}), "record": {"id": "r1"}})
    assert counted == [] and list(answer) == [parts["record"]]


def test_the_request_reaches_the_steps_that_ask_for_it(parts):
    def code(record: dict[str, Any], label: str, request: gr.Request) -> str:
        return f"{label} for {request}"

    triggers, _ = wired(parts, [(code, ["record", "label"], ["code"])])
    fn, inputs, _, _ = triggers.calls[0]
    names = {id(component): name for name, component in parts.items()}
    values = {"result": result_of({"id": "r2"}), "label": "Python"}
    answer = fn("the request", *(values.get(names[id(component)]) for component in inputs))
    assert answer[parts["code"]] == "Python for the request"


def test_steps_are_added_before_wiring_and_write_different_components(parts):
    _, after = wired(parts, [(lambda record: "x", ["record"], ["code"])])
    with pytest.raises(RuntimeError):
        after.add(lambda record: "y", [parts["record"]], [parts["line"]])
    with pytest.raises(RuntimeError):
        after.wire()
    with pytest.raises(ValueError, match="same component"):
        wired(parts, [(lambda record: "x", ["record"], ["code"]), (lambda record: "y", ["record"], ["code"])])
