"""History, A/B compare, "Open image", copy-as-code and downloads — all reading RunRecords.

The history lives in this browser's localStorage (``gr.BrowserState``): nothing per visitor is kept on the server,
and entries never hold a key (records hold none). The plain-data side is ``components/history_state.py``.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from components.context import AppContext
from components.endpoint_tab import EndpointTab
from components.history_state import (
    ALL,
    added,
    caption,
    details_markdown,
    filter_choices,
    filtered,
    parameter_diff,
    removed,
)
from endpoints import get_endpoint
from providers.errors import ProviderError
from providers.local_files import image_fields
from runs.codegen import code_for
from runs.provenance import download_name, embed_metadata, read_metadata
from runs.record import RunRecord

STORAGE_KEY = "flux-playground-history-v1"
# Obscures the stored list (Gradio encrypts BrowserState); fixed so history survives restarts. Not a secret.
STORAGE_SECRET = "flux-playground-history"
CODE_TABS = (("python", "Python", "python"), ("javascript", "JavaScript", "javascript"), ("curl", "cURL", "shell"),
             ("gradio_client", "gradio_client", "python"))
NO_IMAGE = "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='64' height='64'/>"


@dataclass
class HistoryPanel:
    history: gr.BrowserState
    gallery: gr.Gallery


class Downloads:
    """A private folder for the images handed out with their parameters embedded (cleared with the process)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="flux-playground-downloads-"))

    def write(self, name: str, data: bytes) -> str:
        folder = Path(tempfile.mkdtemp(dir=self.root))
        path = folder / name
        path.write_bytes(data)
        return str(path)


async def image_file(ctx: AppContext, record: dict[str, Any], index: int) -> tuple[Path, str] | None:
    """A result image of ``record`` on local disk (fetched and kept in the media store if need be)."""
    images = (record.get("result") or {}).get("images") or []
    if index >= len(images):
        return None
    image = images[index]
    media = ctx.runner.media
    name = image.get("file") or ctx.runner.copies.get(image.get("url", ""))
    path = media.path_of(name) if name else None
    if path is None and image.get("url", "").startswith("https://"):
        client = ctx.backends.live.get(record.get("provider", "fal")).client
        try:
            stored = await media.fetch(client, image["url"], provider=record.get("provider", "fal"))
        except ProviderError:
            return None
        path = media.path_of(stored.name)
    if path is None:
        return None
    return path, image.get("content_type") or "image/jpeg"


def _entry(history: list[dict[str, Any]] | None, entry_id: str | None) -> dict[str, Any] | None:
    return next((e for e in history or [] if e.get("id") == entry_id), None)


def _gallery_value(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [((e.get("images") or [NO_IMAGE])[0], caption(e)) for e in entries]


def build_history_panel(ctx: AppContext, tabs: gr.Tabs, endpoint_tabs: dict[str, EndpointTab]) -> HistoryPanel:
    """The History accordion under the endpoint tabs, wired to every tab's runs and forms."""
    downloads = Downloads()
    form_outputs = [c for tab in endpoint_tabs.values() for c in tab.form.value_components().values()]
    with gr.Accordion("🕘 History & compare — your last 100 runs, kept in this browser", open=True,
                      elem_id="history"):
        history = gr.BrowserState([], storage_key=STORAGE_KEY, secret=STORAGE_SECRET)
        selected = gr.State(None)
        pins = gr.State([])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                endpoint_filter = gr.Dropdown(filter_choices(), value=ALL, label="Show", elem_id="history-filter")
                gallery = gr.Gallery(label="Runs (newest first) — click one", columns=4, height=320,
                                     allow_preview=False, object_fit="cover", elem_id="history-gallery")
            with gr.Column(scale=2, min_width=280):
                details = gr.Markdown(details_markdown(None), elem_id="history-details")
                with gr.Row():
                    restore = gr.Button("↩ Restore", size="sm", elem_id="history-restore")
                    reuse = gr.Button("♻️ Reuse seed", size="sm", elem_id="history-reuse-seed")
                    code_button = gr.Button("</> Copy as code", size="sm", elem_id="history-code")
                with gr.Row():
                    download = gr.Button("⬇ Download", size="sm", elem_id="history-download")
                    delete = gr.Button("🗑 Delete", size="sm", elem_id="history-delete")
                    pin = gr.Button("📌 Pin for compare", size="sm", elem_id="history-pin")
                with gr.Row():
                    targets = [(f"{spec.label} → {field}", f"{spec.api_name}:{field}")
                               for spec in (t.spec for t in endpoint_tabs.values()) for field in image_fields(spec)]
                    use_target = gr.Dropdown(targets, value=targets[0][1] if targets else None,
                                             label="Use the image as input of", scale=3)
                    use_button = gr.Button("➡ Use as input", size="sm", scale=1, elem_id="history-use-as-input")
                files = gr.File(label="Images with their parameters embedded", file_count="multiple",
                                interactive=False, visible=False, elem_id="history-files")
        with gr.Accordion("Code for the selected run", open=False, elem_id="history-code-section") as code_section:
            code_boxes = {}
            with gr.Tabs():
                for key, title, language in CODE_TABS:
                    with gr.Tab(title):
                        code_boxes[key] = gr.Code(language=language, label=title, interactive=False,
                                                  elem_id=f"history-code-{key}")
        with gr.Accordion("A/B compare (pin two runs)", open=False, elem_id="compare") as compare_section:
            compare_note = gr.Markdown("Pin two runs to compare them.")
            slider = gr.ImageSlider(label="A ◀ ▶ B", type="filepath", elem_id="compare-slider")
            diff = gr.Dataframe(headers=["parameter", "A", "B"], interactive=False, label="Parameters that differ",
                                elem_id="compare-diff")
        with gr.Accordion("🖼 Open image — restore the run an image came from", open=False, elem_id="open-image"):
            dropped = gr.File(label="Drop a PNG/JPEG/WebP made by this app (or with A1111 parameters)",
                              file_types=["image"], type="binary", elem_id="open-image-file")
            dropped_note = gr.Markdown("")

    private = {"api_visibility": "private"}

    def show(entries: list[dict[str, Any]], which: str) -> list[tuple[str, str]]:
        return _gallery_value(filtered(entries, which))

    def add(entries: list[dict[str, Any]], record: dict[str, Any] | None, which: str):
        entries = added(entries, record)
        return entries, _gallery_value(filtered(entries, which))

    for tab in endpoint_tabs.values():
        tab.record_event.then(add, [history, tab.last_record, endpoint_filter], [history, gallery], **private)
    endpoint_filter.change(show, [history, endpoint_filter], [gallery], **private)

    def select(entries: list[dict[str, Any]], which: str, evt: gr.SelectData):
        visible = filtered(entries, which)
        entry = visible[evt.index] if evt.index is not None and evt.index < len(visible) else None
        return (entry or {}).get("id"), details_markdown(entry)

    gallery.select(select, [history, endpoint_filter], [selected, details], **private)

    def restore_values(entry: dict[str, Any] | None, *, seed_only: bool = False) -> dict[Any, Any]:
        if entry is None:
            gr.Warning("Select a run in the history first.")
            return {tabs: gr.skip()}  # a dict answer must name an output
        record = entry["record"]
        tab = endpoint_tabs.get(record.get("api_name"))
        if tab is None:
            gr.Warning("That run's endpoint is not in this app any more.")
            return {tabs: gr.skip()}  # a dict answer must name an output
        if seed_only:
            seed_field = tab.form.fields.get("seed")
            if seed_field is None or entry.get("seed") is None:
                gr.Warning("That run has no seed to reuse.")
                return {tabs: gr.skip()}  # a dict answer must name an output
            return {tabs: gr.Tabs(selected=tab.spec.api_name), seed_field.component: entry["seed"]}
        updates = tab.form.updates(record.get("input") or {})
        gr.Info(f"Restored a {tab.spec.label} run.")
        return {tabs: gr.Tabs(selected=tab.spec.api_name), **updates}

    restore.click(lambda entries, sid: restore_values(_entry(entries, sid)), [history, selected],
                  [tabs, *form_outputs], **private)
    reuse.click(lambda entries, sid: restore_values(_entry(entries, sid), seed_only=True), [history, selected],
                [tabs, *form_outputs], **private)

    def show_code(entries: list[dict[str, Any]], sid: str | None, request: gr.Request):
        entry = _entry(entries, sid)
        if entry is None:
            gr.Warning("Select a run in the history first.")
            return [gr.skip()] * (len(code_boxes) + 1)
        record = RunRecord.from_json(entry["record"])
        if record.request is None:
            gr.Warning("That run ended before its request was prepared: there is no request to show.")
            return [gr.skip()] * (len(code_boxes) + 1)
        root = ctx.media_url_for(request)("").removesuffix("/media/")
        snippets = code_for(record, app_url=root + "/")
        return [gr.Accordion(open=True), *(snippets.get(key, "# not available for this provider")
                                           for key in code_boxes)]

    code_button.click(show_code, [history, selected], [code_section, *code_boxes.values()], **private)

    async def download_images(entries: list[dict[str, Any]], sid: str | None):
        entry = _entry(entries, sid)
        if entry is None:
            gr.Warning("Select a run in the history first.")
            return gr.skip()
        record_json = entry["record"]
        record = RunRecord.from_json(record_json)
        paths = []
        for index in range(len((record_json.get("result") or {}).get("images") or [])):
            found = await image_file(ctx, record_json, index)
            if found is None:
                continue
            path, content_type = found
            data = await asyncio.to_thread(path.read_bytes)
            tagged = await asyncio.to_thread(embed_metadata, data, content_type, record)
            name = download_name(record.api_name, record.seed, index + 1, content_type)
            paths.append(await asyncio.to_thread(downloads.write, name, tagged))
        if not paths:
            gr.Warning("This run's images are no longer available (provider URLs expire).")
            return gr.skip()
        return gr.File(value=paths, visible=True)

    download.click(download_images, [history, selected], [files], **private)

    def delete_entry(entries: list[dict[str, Any]], sid: str | None, which: str):
        if sid is None:
            gr.Warning("Select a run in the history first.")
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        entries = removed(entries, sid)
        return entries, _gallery_value(filtered(entries, which)), None, details_markdown(None)

    delete.click(delete_entry, [history, selected, endpoint_filter], [history, gallery, selected, details], **private)

    async def pin_entry(entries: list[dict[str, Any]], sid: str | None, pinned: list[str]):
        entry = _entry(entries, sid)
        if entry is None:
            gr.Warning("Select a run in the history first.")
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        pinned = [p for p in pinned if p != sid and _entry(entries, p) is not None][-1:] + [sid]
        chosen = [_entry(entries, p) for p in pinned]
        if len(chosen) < 2:
            return pinned, "📌 A is pinned — pin one more run as B.", gr.skip(), gr.skip(), gr.Accordion(open=True)
        a, b = chosen[0], chosen[1]
        assert a is not None and b is not None
        images = [await image_file(ctx, a["record"], 0), await image_file(ctx, b["record"], 0)]
        value = (str(images[0][0]), str(images[1][0])) if images[0] and images[1] else None
        note = f"**A:** {caption(a)}  \n**B:** {caption(b)}"
        return pinned, note, value, parameter_diff(a, b), gr.Accordion(open=True)

    pin.click(pin_entry, [history, selected, pins], [pins, compare_note, slider, diff, compare_section], **private)

    def use_as_input(entries: list[dict[str, Any]], sid: str | None, target: str | None):
        entry = _entry(entries, sid)
        if entry is None or not entry.get("images") or not target:
            gr.Warning("Select a run with an image, and where to send it.")
            return {tabs: gr.skip()}  # a dict answer must name an output
        api_name, field = target.split(":", 1)
        tab = endpoint_tabs[api_name]
        components = tab.form.value_components()
        updates: dict[Any, Any] = {tabs: gr.Tabs(selected=api_name)}
        if field in components:
            updates[components[field]] = None
        if f"{field}__link" in components:
            updates[components[f"{field}__link"]] = entry["images"][0]
        gr.Info(f"Sent to {tab.spec.label} → {field}.")
        return updates

    use_button.click(use_as_input, [history, selected, use_target], [tabs, *form_outputs], **private)

    def open_image(data: bytes | None, entries: list[dict[str, Any]], which: str):
        if not data:
            return {tabs: gr.skip()}  # a dict answer must name an output
        meta = read_metadata(data)
        out: dict[Any, Any] = {dropped_note: meta.summary}
        if not meta.found:
            return out
        api_name = None
        if meta.record is not None:
            api_name = meta.record.api_name
        elif meta.endpoint_id:
            api_name = get_endpoint(meta.endpoint_id).api_name
        tab = endpoint_tabs.get(api_name or "") or next(iter(endpoint_tabs.values()))
        mapped = meta.to_form_values(tab.spec)
        note = meta.summary
        if mapped.dropped:
            note += "  \nNot carried over: " + "; ".join(f"{k} ({v})" for k, v in mapped.dropped.items())
        out[dropped_note] = note + f"  \nRestored into **{tab.spec.label}**."
        out[tabs] = gr.Tabs(selected=tab.spec.api_name)
        out.update(tab.form.updates(mapped.values))
        if meta.record_json is not None:
            entries = added(entries, meta.record_json)
            out[history] = entries
            out[gallery] = _gallery_value(filtered(entries, which))
        return out

    dropped.upload(open_image, [dropped, history, endpoint_filter],
                   [dropped_note, tabs, history, gallery, *form_outputs], **private)
    return HistoryPanel(history, gallery)


def refresh_on_load(demo: gr.Blocks, panel: HistoryPanel, endpoint_filter_value: str = ALL) -> None:
    demo.load(lambda entries: _gallery_value(filtered(entries, endpoint_filter_value)), [panel.history],
              [panel.gallery], api_visibility="private")
