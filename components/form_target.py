"""Where a restore, a share link, "Use as input" or an opened image writes values: a seed tab's form.

The first seed tab is drawn with the page (``DrawnForm``: its components are the event's outputs); the others are
drawn the first time they are opened (``components.lazy_tab.LazyTab``: the values go to the tab's inbox, and the
tab, drawn or not yet, shows them). Both check and write values with the same ``EndpointForm``, keyed like
``value_components()``, so ``history_actions`` and ``open_links`` do not tell them apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from components.endpoint_tab import EndpointTab
from components.form import EndpointForm
from components.history_state import RestoredAxes
from endpoints.base import EndpointSpec


class FormTarget(Protocol):
    @property
    def spec(self) -> EndpointSpec: ...

    @property
    def form(self) -> EndpointForm:
        """Checks and writes values (the drawn form, or the API copy of a tab drawn later)."""
        ...

    def outputs(self) -> list[Any]:
        """The components an event names to ``show`` values here."""
        ...

    def show(self, values: Mapping[str, Any], status: str, axes: RestoredAxes | None = None) -> dict[Any, Any]:
        """Updates that put ``values`` (keyed like ``form.value_components()``; the others stay as they are) into
        the form, ``status`` (HTML: where they came from) into its status line, and a restored sweep's ``axes``
        into its Sweep section."""
        ...


@dataclass(frozen=True)
class DrawnForm:
    """A tab drawn with the page."""

    tab: EndpointTab

    @property
    def spec(self) -> EndpointSpec:
        return self.tab.spec

    @property
    def form(self) -> EndpointForm:
        return self.tab.form

    def outputs(self) -> list[Any]:
        boxes = self.tab.sweep_boxes.outputs() if self.tab.sweep_boxes is not None else []
        return [*self.form.value_components().values(), self.tab.status, *boxes]

    def show(self, values: Mapping[str, Any], status: str, axes: RestoredAxes | None = None) -> dict[Any, Any]:
        components = self.form.value_components()
        sweep = self.tab.sweep_boxes.updates(axes) if axes is not None and self.tab.sweep_boxes is not None else {}
        return {components[key]: value for key, value in values.items()} | {self.tab.status: status} | sweep
