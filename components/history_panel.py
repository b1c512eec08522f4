"""History, A/B compare, "Open image", copy-as-code and downloads — all reading RunRecords.

The history lives in this browser's localStorage (``gr.BrowserState``): nothing per visitor is kept on the server,
and entries never hold a key (records hold none). The plain-data side is ``components/history_state.py``.

Every event here is private (``api_visibility="private"``): none is part of the app's API, its MCP tools or
Gradio's run history. Images go to ``gr.Image``/``gr.ImageSlider``/``gr.Gallery`` as local files of the media store
(a static path: served in place), never as this app's own http URLs, which Gradio would try to fetch server-side
and refuse as a loopback address.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import gradio as gr
from PIL import Image, ImageDraw

from components.context import AppContext
from components.endpoint_tab import EndpointTab
from components.history_state import (
    ALL,
    HISTORY_LIMIT,
    added,
    caption,
    details_markdown,
    filter_choices,
    filtered,
    parameter_diff,
    removed,
    tile_caption,
)
from components.models_tab import TAB_ID as MODELS_TAB
from components.models_tab import ModelsTab, is_model_endpoint, model_endpoints
from components.run_view import origin_html
from components.widgets import SHOW_FORM_JS, toast_text
from endpoints import get_endpoint
from endpoints.base import EndpointSpec
from providers.errors import ProviderError
from providers.local_files import image_fields
from runs.codegen import code_for
from runs.provenance import download_name, embed_metadata, read_metadata
from runs.record import RunRecord, SecretInRecordError

STORAGE_KEY = "flux-playground-history-v1"
# Obscures the stored list (Gradio encrypts BrowserState); fixed so history survives restarts. Not a secret.
STORAGE_SECRET = "flux-playground-history"
CodeLanguage = Literal["python", "javascript", "shell"]
CODE_TABS: tuple[tuple[str, str, CodeLanguage], ...] = (
    ("python", "Python", "python"), ("javascript", "JavaScript", "javascript"), ("curl", "cURL", "shell"),
    ("gradio_client", "gradio_client", "python"))
#: Hosts a result image may be fetched from again (fal's CDN and storage); Segmind returns images inline.
PROVIDER_MEDIA_HOSTS = ("fal.media", "fal.run", "fal.ai", "storage.googleapis.com")
KEEP_SECONDS = 3600  # how long a prepared download stays in this panel's own folder
SELECT_FIRST = "Select a run in the history first (click its thumbnail)."
# Small tiles whatever the width: as many ~110 px columns as fit (3 on a phone), a three-line caption over the
# bottom of each, and a list that grows with its runs up to a scrolling maximum. Gradio's own gallery grid has a
# fixed column count with a 100 px minimum, which overflows a phone or, with ``fit_columns``, blows a single run up
# to the full width.
STYLE = """<style>
#history-gallery { height: auto !important; }
#history-gallery .grid-wrap { overflow-x: hidden; height: auto !important; max-height: 420px; min-height: 90px; }
#history-gallery .grid-container { grid-template-columns: repeat(auto-fill, minmax(108px, 1fr)) !important;
  grid-auto-rows: auto !important; grid-template-rows: none !important; }
#history-gallery .thumbnail-item { aspect-ratio: 1 / 1; height: auto; }
#history-gallery .caption-label { white-space: pre-line !important; max-width: 100% !important; left: 0 !important;
  right: 0 !important; bottom: 0 !important; border-radius: 0 !important; font-size: 11px !important;
  line-height: 1.25 !important; padding: 2px 5px !important; text-align: left; overflow: hidden;
  text-overflow: ellipsis; }
#history-actions button { min-width: 0 !important; }
@media (max-width: 640px) { #history-actions button { min-height: 40px; } }
#compare-diff { max-width: 100%; overflow-x: auto; }
</style>"""
# Runs after "Copy as code" filled the boxes: put the Python snippet on the clipboard. A js step's answer becomes
# the next handler's inputs, and there is none: it returns nothing.
COPY_CODE_JS = """(code) => {
  if (code && navigator.clipboard) navigator.clipboard.writeText(code).catch(() => {});
}"""


@dataclass
class HistoryPanel:
    history: gr.BrowserState
    gallery: gr.Gallery
    count: gr.Markdown
    on_load: Callable[[list[dict[str, Any]] | None], tuple[Any, str]]  # (gallery value, count line)


class LocalFiles:
    """Private folders for files this panel hands out: images with their parameters embedded (downloads), copies
    of result images given to a form as uploads ("Use as input"), and the placeholder tile for runs without an
    image. Downloads live in the system temp folder; inputs in Gradio's upload folder, the only place a provider
    may send local files from."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="flux-playground-downloads-"))
        self.placeholder = str(self.root / "no-image.png")
        tile = Image.new("RGB", (160, 160), (229, 231, 235))
        ImageDraw.Draw(tile).text((44, 72), "no image", fill=(107, 114, 128))
        tile.save(self.placeholder)

    def write(self, name: str, data: bytes) -> str:
        """A new file ``name`` holding ``data``; downloads older than ``KEEP_SECONDS`` go (Gradio has served them
        from its own cache by then)."""
        self.prune()
        folder = Path(tempfile.mkdtemp(dir=self.root))
        path = folder / name
        path.write_bytes(data)
        return str(path)

    def prune(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for folder in self.root.iterdir():
            with contextlib.suppress(OSError):
                if folder.is_dir() and now - folder.stat().st_mtime > KEEP_SECONDS:
                    shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def as_upload(source: Path) -> str:
        """A copy of ``source`` in Gradio's upload folder, as if the visitor had uploaded it."""
        uploads = Path(gr.utils.get_upload_folder())
        uploads.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="history-", dir=uploads))
        target = folder / source.name
        shutil.copyfile(source, target)
        return str(target)


def stored_image(ctx: AppContext, record: dict[str, Any], index: int) -> tuple[Path, str] | None:
    """A result image of ``record`` already on local disk (media store), with its content type, or None."""
    if not isinstance(record, dict) or not isinstance(record.get("result"), dict):
        return None
    images = record["result"].get("images") or []
    if index >= len(images) or not isinstance(images[index], dict):
        return None
    image = images[index]
    name = image.get("file") or ctx.runner.copies.get(image.get("url") or "")
    path = ctx.runner.media.path_of(name) if name else None
    if path is None:
        return None
    return path, image.get("content_type") or "image/jpeg"


async def image_file(ctx: AppContext, record: dict[str, Any], index: int) -> tuple[Path, str] | None:
    """A result image of ``record`` on local disk (fetched from the provider and kept in the media store if need
    be), or None when it is gone."""
    found = stored_image(ctx, record, index)
    if found is not None or not isinstance(record.get("result"), dict):
        return found
    images = record["result"].get("images") or []
    if index >= len(images) or not isinstance(images[index], dict):
        return None
    image = images[index]
    url = str(image.get("url") or "")
    provider = str(record.get("provider") or "fal")
    if not is_provider_media(url):
        return None  # this app's own /media URL of an image no longer stored, or a host no provider serves from
    try:
        backend = ctx.backends.live.get(provider)
        stored = await ctx.runner.media.fetch(backend.client, url, provider=provider)
    except (KeyError, ProviderError):
        return None
    path = ctx.runner.media.path_of(stored.name)
    return (path, stored.content_type) if path is not None else None


def is_provider_media(url: str) -> bool:
    """An https URL on a host the providers serve result images from. The history is the browser's to edit (and
    "Open image" reads records out of any file), so this server fetches no other URL it finds there."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and any(host == h or host.endswith("." + h) for h in PROVIDER_MEDIA_HOSTS)


def _entry(history: list[dict[str, Any]] | None, entry_id: str | None) -> dict[str, Any] | None:
    if not isinstance(history, list) or entry_id is None:
        return None
    return next((e for e in history if isinstance(e, dict) and e.get("id") == entry_id), None)


def record_of(entry: dict[str, Any]) -> RunRecord | None:
    """The entry's RunRecord, or None when what the browser kept cannot be read (an older or edited entry)."""
    try:
        return RunRecord.from_json(entry["record"])
    except (KeyError, TypeError, ValueError):
        return None


def image_targets(specs: Iterable[EndpointSpec]) -> list[tuple[str, str]]:
    """(label, "api_name:field") for every image field a result can be sent to (the tabs' and the Models tab's):
    image-to-image and editing first, endpoints deprecated upstream last."""
    ordered = sorted(specs, key=lambda spec: (spec.status == "deprecated",
                                              not any(word in spec.id for word in ("image-to-image", "kontext"))))
    return [(f"{spec.label} → {field}", f"{spec.api_name}:{field}") for spec in ordered for field in image_fields(spec)]


def restore_warning(label: str, refused: list[str]) -> str:
    """The toast of a restore that left values out (the history is the browser's to edit: its values are checked
    like any other input from outside)."""
    return f"Restored a {label} run, except what its endpoint refuses (left at their defaults): " + "; ".join(refused)


def count_text(entries: list[dict[str, Any]] | None, which: str | None) -> str:
    total = len(filtered(entries, ALL))
    if not total:
        return "No runs yet. Each run on any tab appears here, newest first."
    shown = len(filtered(entries, which))
    runs = f"{total} run{'s' if total != 1 else ''} kept in this browser (at most {HISTORY_LIMIT})"
    return runs + (f"; {shown} shown" if shown != total else "") + ". Click one to see it and act on it."


def build_history_panel(ctx: AppContext, tabs: gr.Tabs, endpoint_tabs: dict[str, EndpointTab],
                        models: ModelsTab | None = None) -> HistoryPanel:
    """The History accordion under the endpoint tabs, wired to every tab's runs and forms."""
    files_here = LocalFiles()

    def thumbnail(entry: dict[str, Any]) -> str:
        record = entry.get("record") or {}
        found = stored_image(ctx, record, 0)
        if found is not None:
            return str(found[0])
        url = str((entry.get("images") or [""])[0])
        # A provider's CDN URL goes to the browser as it is; this app's own /media URL of an image no longer stored
        # (a restart, or older than the media store keeps) would only show a broken image.
        return url if url.startswith("https://") else files_here.placeholder

    def tile(entry: dict[str, Any]) -> tuple[str, str]:
        try:
            return thumbnail(entry), tile_caption(entry)
        except (TypeError, ValueError, AttributeError):  # an entry the browser kept in some other shape
            return files_here.placeholder, "unreadable entry"

    def gallery_value(entries: list[dict[str, Any]] | None, which: str | None) -> gr.Gallery:
        """The tiles, and no empty box when there are none (the count line says so)."""
        tiles = [tile(e) for e in filtered(entries, which)]
        return gr.Gallery(value=tiles, visible=bool(tiles))

    form_outputs = [c for tab in endpoint_tabs.values() for c in tab.form.value_components().values()]
    form_outputs += models.outputs if models is not None else []  # a catalog model opens in the Models tab
    form_outputs += [tab.status for tab in endpoint_tabs.values()]  # the status says where the values came from
    with gr.Accordion("🕘 History & compare — your last 100 runs, kept in this browser", open=True,
                      elem_id="history"):
        gr.HTML(STYLE, visible="hidden", elem_id="history-style")
        history = gr.BrowserState([], storage_key=STORAGE_KEY, secret=STORAGE_SECRET)
        selected = gr.State(None)
        pins = gr.State([])
        seen = gr.State([])  # ids of the records this page already listed (each is added once)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                with gr.Row(equal_height=True):
                    endpoint_filter = gr.Dropdown(filter_choices(), value=ALL, label="Show", scale=2, min_width=200,
                                                  elem_id="history-filter")
                count = gr.Markdown(count_text([], ALL), elem_id="history-count")
                gallery = gr.Gallery(label="Runs (newest first)", show_label=False, columns=5, height=300,
                                     visible=False, fit_columns=False, allow_preview=False, preview=False,
                                     object_fit="cover", interactive=False, buttons=[], elem_id="history-gallery")
            with gr.Column(scale=2, min_width=280, elem_id="history-actions"):
                details = gr.Markdown(details_markdown(None), elem_id="history-details")
                with gr.Row():
                    restore = gr.Button("↩ Restore", size="sm", min_width=90, elem_id="history-restore")
                    reuse = gr.Button("♻️ Reuse seed", size="sm", min_width=90, elem_id="history-reuse-seed")
                    code_button = gr.Button("</> Copy as code", size="sm", min_width=90, elem_id="history-code")
                with gr.Row():
                    download = gr.Button("⬇ Download", size="sm", min_width=90, elem_id="history-download")
                    pin = gr.Button("📌 Pin for A/B", size="sm", min_width=90, elem_id="history-pin")
                    delete = gr.Button("🗑 Delete", size="sm", min_width=90, elem_id="history-delete")
                targets = image_targets([t.spec for t in endpoint_tabs.values()]
                                        + (model_endpoints() if models is not None else []))
                use_target = gr.Dropdown(targets, value=targets[0][1] if targets else None,
                                         label="Send its image to", elem_id="history-use-target")
                use_button = gr.Button("➡ Use as input", size="sm", elem_id="history-use-as-input")
                files = gr.File(label="Images with their parameters embedded", file_count="multiple",
                                interactive=False, visible=False, elem_id="history-files")
        with gr.Accordion("Code for the selected run", open=False, elem_id="history-code-section") as code_section:
            gr.Markdown("The Python snippet is copied to the clipboard; each box has its own copy button. Keys are "
                        "read from the environment (`FAL_KEY`, `SEGMIND_API_KEY`), never written into the code.")
            code_boxes = {}
            with gr.Tabs():
                for key, title, language in CODE_TABS:
                    with gr.Tab(title):
                        code_boxes[key] = gr.Code(language=language, label=title, interactive=False,
                                                  buttons=["copy", "download"], elem_id=f"history-code-{key}")
        with gr.Accordion("A/B compare (pin two runs)", open=False, elem_id="compare") as compare_section:
            compare_note = gr.Markdown("Pin two runs (📌) to compare them: A is the first, B the second.",
                                       elem_id="compare-note")
            slider = gr.ImageSlider(label="A ◀ ▶ B", type="filepath", max_height=520, elem_id="compare-slider")
            diff = gr.Dataframe(headers=["parameter", "A", "B"], value=[], interactive=False, wrap=True,
                                column_widths=["24%", "38%", "38%"],
                                label="Parameters that differ", elem_id="compare-diff")
        with gr.Accordion("🖼 Open image — restore the run an image came from", open=False, elem_id="open-image"):
            dropped = gr.File(label="Drop a PNG/JPEG/WebP made by this app (or with A1111 parameters)",
                              file_types=["image"], type="binary", elem_id="open-image-file")
            dropped_note = gr.Markdown("", elem_id="open-image-note")

    # Quick steps draw no progress overlay (a restore writes into every form on the page).
    private: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
    listing = [history, gallery, count]  # what changes together when the list changes

    def listed(entries: list[dict[str, Any]], which: str | None) -> tuple[Any, ...]:
        return entries, gallery_value(entries, which), count_text(entries, which)

    def add(entries: list[dict[str, Any]], record: dict[str, Any] | None, which: str, ids: list[str]):
        # The step after a run gets the tab's last record even when the run never started (a refused form): list
        # each record once, so a run deleted from the history does not come back with the next refused form.
        if not isinstance(record, dict) or not record.get("id") or record["id"] in (ids or []):
            return (gr.skip(),) * 4
        return (*listed(added(entries, record), which), [*(ids or [])[-2 * HISTORY_LIMIT:], record["id"]])

    if models is not None:
        models.last_record.change(add, [history, models.last_record, endpoint_filter, seen], [*listing, seen],
                                  **private)
    for tab in endpoint_tabs.values():
        tab.record_event.then(add, [history, tab.last_record, endpoint_filter, seen], [*listing, seen], **private)
        if tab.sweep_record_event is not None:  # a whole sweep lands as one entry (its grid, its summed cost)
            tab.sweep_record_event.then(add, [history, tab.sweep_record, endpoint_filter, seen], [*listing, seen],
                                        **private)

    def show(entries: list[dict[str, Any]], which: str):
        return gallery_value(entries, which), count_text(entries, which)

    endpoint_filter.change(show, [history, endpoint_filter], [gallery, count], **private)

    def select(entries: list[dict[str, Any]], which: str, pinned: list[str], evt: gr.SelectData):
        visible = filtered(entries, which)
        entry = visible[evt.index] if isinstance(evt.index, int) and 0 <= evt.index < len(visible) else None
        text = details_markdown(entry)
        if entry is not None and entry.get("id") in (pinned or []):
            text += "  \n📌 Pinned as " + "AB"[pinned.index(entry["id"]) % 2] + "."
        return (entry or {}).get("id"), text

    gallery.select(select, [history, endpoint_filter, pins], [selected, details], **private)

    def restore_values(entry: dict[str, Any] | None, *, seed_only: bool = False) -> dict[Any, Any]:
        if entry is None:
            gr.Warning(SELECT_FIRST)
            return {tabs: gr.skip()}  # a dict answer must name an output
        record = entry.get("record") or {}
        tab = endpoint_tabs.get(record.get("api_name") or "")
        if tab is None and models is not None and is_model_endpoint(record.get("api_name") or ""):
            values = record.get("input") or {}
            if seed_only:
                values = {k: v for k, v in values.items() if k == "seed"}
            gr.Info(toast_text(f"Restored a {record['api_name']} run in the Models tab."))
            origin = (f"♻️ Seed from your run {caption(entry)}." if seed_only
                      else f"↩ Restored from your run {caption(entry)}.")
            return {tabs: gr.Tabs(selected=MODELS_TAB), **models.open(record["api_name"], values, origin=origin)}
        if tab is None:
            gr.Warning("That run's endpoint is not in this app any more.")
            return {tabs: gr.skip()}
        if seed_only:
            seed_name = tab.spec.field_for("seed")
            seed_field = tab.form.fields.get(seed_name) if seed_name is not None else None
            if seed_field is None or entry.get("seed") is None:
                gr.Warning("That run has no seed to reuse.")
                return {tabs: gr.skip()}
            _, checked = tab.form.checked_updates({"seed": entry["seed"]})
            if checked.refused:
                gr.Warning(toast_text("That run's seed cannot be reused: " + "; ".join(checked.messages)))
                return {tabs: gr.skip()}
            gr.Info(toast_text(f"Seed {checked.values['seed']} set on {tab.spec.label}."))
            return {tabs: gr.Tabs(selected=tab.spec.api_name), seed_field.component: checked.values["seed"],
                    tab.status: origin_html(f"♻️ Seed {checked.values['seed']} from your run {caption(entry)}; "
                                            "the other fields are as you left them.")}
        updates, checked = tab.form.checked_updates(record.get("input") or {})
        if checked.refused:
            gr.Warning(toast_text(restore_warning(tab.spec.label, checked.messages)))
        else:
            gr.Info(f"Restored a {tab.spec.label} run: every field is as it was.")
        return {tabs: gr.Tabs(selected=tab.spec.api_name), **updates,
                tab.status: origin_html(f"↩ Restored from your run {caption(entry)}.", checked.messages)}

    def restore_entry(entries: list[dict[str, Any]], sid: str | None) -> dict[Any, Any]:
        return restore_values(_entry(entries, sid))

    def reuse_seed(entries: list[dict[str, Any]], sid: str | None) -> dict[Any, Any]:
        return restore_values(_entry(entries, sid), seed_only=True)

    restore.click(restore_entry, [history, selected], [tabs, *form_outputs], **private).then(
        None, js=SHOW_FORM_JS % "true", api_visibility="private", queue=False)
    reuse.click(reuse_seed, [history, selected], [tabs, *form_outputs], **private).then(
        None, js=SHOW_FORM_JS % "false", api_visibility="private", queue=False)

    def show_code(entries: list[dict[str, Any]], sid: str | None, request: gr.Request):
        # A refusal is an error, not a warning: it stops the next step, which would copy the code shown before.
        entry = _entry(entries, sid)
        if entry is None:
            raise gr.Error(SELECT_FIRST, title="No run selected")
        record = record_of(entry)
        if record is None:
            raise gr.Error("That history entry cannot be read any more.", title="No code")
        if record.request is None:
            raise gr.Error("That run ended before its request was prepared: there is no request to show.",
                           title="No code")
        if not record.request.url.startswith(ctx.request_hosts()):
            # Not where this app sends runs: a record from an opened image or an edited history. Code aimed there
            # would send the visitor's key to that host, so it targets the provider's public service instead.
            record = dataclasses.replace(record, request=None)
            gr.Warning("That run's request names a host this app does not use: the code targets the public service.")
        root = ctx.media_url_for(request)("").removesuffix("/media/")
        try:
            snippets = code_for(record, app_url=root + "/", public=True)
        except (SecretInRecordError, ValueError) as exc:
            # The refusal names what the record holds (quoted, on one line); toasts render HTML, so it is escaped.
            raise gr.Error(f"No code for that run: {html.escape(str(exc))}", title="No code") from None
        gr.Info("The Python code is on your clipboard.")
        return [gr.Accordion(open=True), *(snippets.get(key, "# not available for this provider")
                                           for key in code_boxes)]

    code_button.click(show_code, [history, selected], [code_section, *code_boxes.values()], **private).success(
        None, [code_boxes["python"]], None, js=COPY_CODE_JS, queue=False, **private)

    async def download_images(entries: list[dict[str, Any]], sid: str | None):
        entry = _entry(entries, sid)
        if entry is None:
            gr.Warning(SELECT_FIRST)
            return gr.skip()
        record = record_of(entry)
        if record is None:
            gr.Warning("That history entry cannot be read any more.")
            return gr.skip()
        record_json = entry["record"]
        paths = []
        for index in range(len((record_json.get("result") or {}).get("images") or [])):
            found = await image_file(ctx, record_json, index)
            if found is None:
                continue
            path, content_type = found
            data = await asyncio.to_thread(path.read_bytes)
            tagged = await asyncio.to_thread(embed_metadata, data, content_type, record)
            name = download_name(record.api_name, record.seed, index + 1, content_type)
            paths.append(await asyncio.to_thread(files_here.write, name, tagged))
        if not paths:
            gr.Warning("This run's images are no longer available (stored images and provider URLs expire).")
            return gr.File(value=None, visible=False)
        return gr.File(value=paths, visible=True)

    download.click(download_images, [history, selected], [files], **{**private, "show_progress": "minimal"})

    def delete_entry(entries: list[dict[str, Any]], sid: str | None, which: str, pinned: list[str]):
        if _entry(entries, sid) is None:
            gr.Warning(SELECT_FIRST)
            return (gr.skip(),) * 7
        entries = removed(entries, sid)
        gr.Info("Deleted from this browser's history.")
        kept = [p for p in pinned or [] if p != sid]
        return (*listed(entries, which), None, details_markdown(None), kept, gr.File(value=None, visible=False))

    delete.click(delete_entry, [history, selected, endpoint_filter, pins],
                 [*listing, selected, details, pins, files], **private)

    def pin_entry(entries: list[dict[str, Any]], sid: str | None, pinned: list[str]):
        entry = _entry(entries, sid)
        if entry is None or sid is None:
            gr.Warning(SELECT_FIRST)
            return (gr.skip(),) * 5
        current = [p for p in pinned or [] if _entry(entries, p) is not None]
        if sid in current:  # pinning A (or B) again changes nothing: it never swaps the two
            gr.Info(f"That run is already pinned as {'AB'[current.index(sid)]}.")
            pinned = current
        else:
            pinned = current[-1:] + [sid]
        chosen = [_entry(entries, p) for p in pinned]
        if len(chosen) < 2:
            note = f"📌 **A:** {caption(entry)}  \nNow select another run and pin it as B."
            return pinned, note, None, [], gr.Accordion(open=True)
        a, b = chosen[0], chosen[1]
        assert a is not None and b is not None
        images = [stored_image(ctx, a.get("record") or {}, 0), stored_image(ctx, b.get("record") or {}, 0)]
        note = f"**A:** {caption(a)}  \n**B:** {caption(b)}"
        value = None
        if images[0] and images[1]:
            value = (str(images[0][0]), str(images[1][0]))
        else:
            note += "  \nOne of the two has no stored image any more: only the parameters are compared."
        rows = parameter_diff(a, b)
        if not rows:
            note += "  \nNo parameter differs."
        return pinned, note, value, rows, gr.Accordion(open=True)

    pin.click(pin_entry, [history, selected, pins], [pins, compare_note, slider, diff, compare_section], **private)

    def use_as_input(entries: list[dict[str, Any]], sid: str | None, target: str | None):
        entry = _entry(entries, sid)
        if entry is None or not target:
            gr.Warning(SELECT_FIRST)
            return {tabs: gr.skip()}  # a dict answer must name an output
        found = stored_image(ctx, entry.get("record") or {}, 0)
        if found is None:
            gr.Warning("That run's image is no longer stored here, so it cannot be sent to a form.")
            return {tabs: gr.skip()}
        api_name, field = target.split(":", 1)
        tab = endpoint_tabs.get(api_name)
        if tab is None:
            if models is None or not is_model_endpoint(api_name):
                gr.Warning(toast_text(f"No form takes images as {target!r}."))
                return {tabs: gr.skip()}
            spec = get_endpoint(api_name)
            gr.Info(toast_text(f"Sent to {spec.label} → {field}, in the Models tab."))
            return {tabs: gr.Tabs(selected=MODELS_TAB),
                    **models.open(api_name, uploads={field: files_here.as_upload(found[0])},
                                  origin=f"➡ {field}: the image of your run {caption(entry)}.")}
        components = tab.form.value_components()
        # As an upload: the run sends the file itself (to fal storage or in Segmind's request), so it works with
        # any provider, wherever this app runs; the URL box is emptied so the upload is what is sent.
        updates: dict[Any, Any] = {tabs: gr.Tabs(selected=api_name), components[field]: files_here.as_upload(found[0])}
        if f"{field}__link" in components:
            updates[components[f"{field}__link"]] = ""
        gr.Info(toast_text(f"Sent to {tab.spec.label} → {field}."))
        updates[tab.status] = origin_html(f"➡ {field}: the image of your run {caption(entry)}; the other fields are "
                                          "as you left them.")
        return updates

    use_button.click(use_as_input, [history, selected, use_target], [tabs, *form_outputs], **private).then(
        None, js=SHOW_FORM_JS % "false", api_visibility="private", queue=False)

    def open_image(data: bytes | None, entries: list[dict[str, Any]], which: str):
        if not data:
            return {dropped_note: ""}
        meta = read_metadata(data)
        if not meta.found:
            gr.Warning(toast_text(f"Nothing to restore: {meta.summary}."))
            return {dropped_note: f"⚠️ **Nothing to restore:** {meta.summary}."}
        api_name = meta.record.api_name if meta.record is not None else None
        if api_name is None and meta.endpoint_id:
            try:
                api_name = get_endpoint(meta.endpoint_id).api_name
            except KeyError:
                api_name = None
        tab = endpoint_tabs.get(api_name or "")
        note = meta.summary
        if tab is None and models is not None and api_name and is_model_endpoint(api_name):
            mapped = meta.to_form_values(get_endpoint(api_name))
            if mapped.dropped:
                note += "  \nNot carried over: " + "; ".join(f"{k} ({v})" for k, v in mapped.dropped.items())
            opened: dict[Any, Any] = {
                dropped_note: note + "  \nRestored into the **Models** tab.", tabs: gr.Tabs(selected=MODELS_TAB),
                **models.open(api_name, mapped.values, origin=f"🖼 Restored from an image: {meta.summary}.")}
            if meta.record_json is not None and meta.record is not None:
                opened[history], opened[gallery], opened[count] = listed(added(entries, meta.record_json), which)
            return opened
        if tab is None:
            tab = next(iter(endpoint_tabs.values()))
            note += f"  \nIts model is not one of this app's endpoints: the values go into **{tab.spec.label}**."
        mapped = meta.to_form_values(tab.spec)
        updates, checked = tab.form.checked_updates(mapped.values)
        not_carried = [f"{k} ({v})" for k, v in mapped.dropped.items()] + checked.messages
        if not_carried:
            note += "  \nNot carried over: " + "; ".join(not_carried)
        out: dict[Any, Any] = {dropped_note: note + f"  \nRestored into **{tab.spec.label}**."}
        out[tabs] = gr.Tabs(selected=tab.spec.api_name)
        out.update(updates)
        out[tab.status] = origin_html(f"🖼 Restored from an image: {meta.summary}.", not_carried)
        if meta.record_json is not None and meta.record is not None:
            out[history], out[gallery], out[count] = listed(added(entries, meta.record_json), which)
        return out

    dropped.upload(open_image, [dropped, history, endpoint_filter], [dropped_note, tabs, *listing, *form_outputs],
                   **private)
    def on_load(entries: list[dict[str, Any]] | None) -> tuple[Any, str]:
        return gallery_value(entries, ALL), count_text(entries, ALL)

    return HistoryPanel(history, gallery, count, on_load)


def refresh_on_load(demo: gr.Blocks, panel: HistoryPanel) -> None:
    """Show the stored history when the page opens (the gallery itself is not stored; the filter starts at all)."""
    demo.load(panel.on_load, [panel.history], [panel.gallery, panel.count], api_visibility="private")
