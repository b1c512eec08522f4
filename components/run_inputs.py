"""A run's inputs preprocessed by the handler, in one worker-thread hop at most.

Gradio 6.31 preprocesses each input of an event in a worker thread of its own (``Blocks.preprocess_data``: one
``anyio.to_thread.run_sync`` per input). A form sends 12–40 inputs per run; under 25 visitors those hops, queued on
the shared thread limiter, were a large part of the time before the handler started (``benchmarks/README.md``).
The run event is declared with ``preprocess=False``: Gradio still validates each value against the component's data
model and moves files into its cache (the upload checks stay), and ``preprocess_inputs`` does the rest with the
components' own ``preprocess`` — inline for values that hold no file, in one worker thread for those that do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
from gradio.data_classes import JsonData


def holds_files(component: Any) -> bool:
    """Whether the component's value is a file (an image), whose preprocessing reads the disk."""
    data_model = getattr(component, "data_model", None)
    return data_model is not None and not issubclass(data_model, JsonData)


def _preprocess(component: Any, value: Any) -> Any:
    data_model = getattr(component, "data_model", None)
    if data_model is not None and value is not None:
        value = data_model.model_validate(value, context={"validate_meta": True})
    return component.preprocess(value)


async def preprocess_inputs(components: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` (keyed like ``components``, as Gradio passes them with ``preprocess=False``) as the handler would
    have received them with Gradio's preprocessing. Keys without a component pass through."""
    out: dict[str, Any] = {}
    files: dict[str, Any] = {}
    for name, value in values.items():
        component = components.get(name)
        if component is None:
            out[name] = value
        elif value is not None and holds_files(component):
            files[name] = value
        else:
            out[name] = _preprocess(component, value)
    if files:
        def read_files() -> dict[str, Any]:
            return {name: _preprocess(components[name], value) for name, value in files.items()}

        out |= await anyio.to_thread.run_sync(read_files)
    return {name: out[name] for name in values}  # in the order given
