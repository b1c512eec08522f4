"""What a tab does with each run's record, as one queued step.

A run ends (done, failed or stopped) with its record in the tab's result JSON. Several panels follow it: the code
view, the cost estimate, "Run again anyway", the session's spend, and the history (a tab drawn later hands it on to
the page's ``records`` instead). Wired as one ``.then`` each behind a step that copied the record into the tab's
``last_record`` state, the page sent six requests to the server after every run (two queued events and four
unqueued ones), each a whole pass through Gradio's request path: more server CPU than the run itself
(``benchmarks/vs_space.py``, "A run as the page makes it").

Panels add their step with ``AfterRecord.add`` (inputs naming ``tab.last_record`` get the new record);
``AfterRecord.wire`` makes them one queued event after each trigger (the run's success and failure, Stop), which
also sets ``last_record``. Queued, so that a ``gr.State`` it sets fires its ``.change`` (the page learns of a State's
new value only from queued events). A step that raises is logged and leaves its outputs as they were; the others
still run.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import gradio as gr
from gradio.blocks import Block

from components.endpoint_run import record_of

log = logging.getLogger(__name__)

#: For a step chained after a run or a sweep. Gradio's default, "once", drops the step when its event ends again
#: while the previous step is still pending (a run served from the cache ends in milliseconds): that run or sweep
#: never reached the history nor the session's spend (``docs/upstream.md`` §18). "always_last" sends it once the
#: pending one is done, with the newest record.
CHAINED_TRIGGER_MODE: Literal["always_last"] = "always_last"


@dataclass(frozen=True)
class _Step:
    fn: Callable[..., Any]
    inputs: tuple[Any, ...]
    outputs: tuple[Any, ...]
    wants_request: bool


class AfterRecord:
    """The steps that follow each record of one tab; ``wire`` once, after every panel has added its own."""

    def __init__(self, record: gr.State, api_name: str) -> None:
        self.record = record  # the tab's ``last_record``
        self.api_name = api_name
        self.triggers: Sequence[Callable[..., Any]] = ()  # set by ``follow``
        self.result: Any = None
        self._steps: list[_Step] = []
        self._in_page: dict[int, tuple[Any, str]] = {}  # id(component) -> (component, a page expression for it)
        self._wired = False

    def follow(self, result: Any, *triggers: Callable[..., Any]) -> None:
        """The run to follow: its result JSON (the record is read from it) and the event methods its steps hang on
        (the run's ``.then`` and ``.failure``, Stop's ``.then``). ``endpoint_tab.wire_run`` calls it."""
        self.result, self.triggers = result, triggers

    def add(self, fn: Callable[..., Any], inputs: Sequence[Any], outputs: Sequence[Any]) -> None:
        """``fn(*inputs)`` after each new record (``tab.last_record`` among ``inputs`` is that record); its answer
        goes to ``outputs`` as a ``.then`` step's would (one value, a tuple, or a dict by component)."""
        if self._wired:
            raise RuntimeError(f"{self.api_name}: a step was added after the steps were wired")
        self._steps.append(_Step(fn, tuple(inputs), tuple(outputs), "request" in inspect.signature(fn).parameters))

    def read_in_page(self, component: Any, expression: str) -> None:
        """A step input whose value the page reads as the step is sent (``expression``, JavaScript), not the
        component's own: what another tab has just written to this browser's storage, say."""
        if self._wired:
            raise RuntimeError(f"{self.api_name}: a page read was added after the steps were wired")
        self._in_page[id(component)] = (component, expression)

    def wire(self) -> None:
        if self._wired:
            raise RuntimeError(f"{self.api_name}: the steps after a record are wired once")
        if not self.triggers or self.result is None:
            raise RuntimeError(f"{self.api_name}: no run to follow (endpoint_tab.wire_run calls follow)")
        self._wired = True
        # Each input once, in order (components kept by identity).
        inputs = list({id(c): c for c in (self.result, self.record, *(c for s in self._steps for c in s.inputs))}
                      .values())
        outputs = [self.record, *(c for step in self._steps for c in step.outputs)]
        if len({id(c) for c in outputs}) < len(outputs):
            raise ValueError(f"{self.api_name}: two steps after a record write the same component")
        run = self._run(inputs)
        reads = [f"values[{index}] = {self._in_page[id(c)][1]};" for index, c in enumerate(inputs)
                 if id(c) in self._in_page]
        page_reads = {"js": f"(...values) => {{ {' '.join(reads)} return values; }}"} if reads else {}
        for trigger in self.triggers:
            trigger(run, inputs, outputs, api_visibility="private", show_progress="hidden",
                    trigger_mode=CHAINED_TRIGGER_MODE, **page_reads)

    def _run(self, inputs: list[Any]) -> Callable[..., dict[Any, Any]]:
        steps, state = list(self._steps), self.record
        places = {id(component): index for index, component in enumerate(inputs)}

        def after_run(request: gr.Request, *values: Any) -> dict[Any, Any]:  # Gradio puts the request first
            record = record_of(values[0])
            if record == values[1]:  # the same record again (a stopped run can end twice): nothing new to show
                return {state: gr.skip()}
            answer: dict[Any, Any] = {state: record}
            for step in steps:
                args = [record if component is state else values[places[id(component)]] for component in step.inputs]
                try:
                    result = step.fn(*args, request=request) if step.wants_request else step.fn(*args)
                except Exception:  # one panel's failure leaves the others' updates
                    log.exception("%s: a step after the run's record failed", getattr(step.fn, "__name__", step.fn))
                    continue
                if isinstance(result, dict) and result and all(isinstance(key, Block) for key in result):
                    answer.update(result)  # updates by component
                elif len(step.outputs) == 1:
                    answer[step.outputs[0]] = result
                else:
                    answer.update(zip(step.outputs, result, strict=True))
            return answer

        after_run.__name__ = f"{self.api_name}_after_run"
        return after_run

