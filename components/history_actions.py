"""What the History panel's buttons do: one handler per action, each given the panel's ``HistoryView`` first.

The list itself is plain data (``components/history_state.py``); the files handed out are
``components/history_files.py``; the layout and the wiring are ``components/history_panel.py``. A handler reads the
browser's list (``entries``) and the selected entry's id, and answers with updates for the view's components (or a
dict naming them, when it writes into a form of another tab).
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from components.code_panel import LANGUAGES
from components.context import AppContext
from components.endpoint_run import browser_url
from components.form_target import FormTarget
from components.history_files import LocalFiles, image_file, is_provider_media, stored_image
from components.history_state import (
    ALL,
    HISTORY_LIMIT,
    MAX_OWN,
    RestoredAxes,
    added,
    caption,
    deleted_marks,
    details_markdown,
    filtered,
    newest_marks,
    page_marks,
    page_runs,
    parameter_diff,
    removed,
    restored_axes,
    seen_with,
    sweep_of,
    tile_caption,
    with_stored,
)
from components.history_storage import stored_entries
from components.markdown_blocks import shown_code, table
from components.models_tab import TAB_ID as MODELS_TAB
from components.models_tab import ModelsTab, is_model_endpoint
from components.prose import Prose
from components.run_view import origin_html
from components.widgets import toast_text
from endpoints import get_endpoint
from endpoints.base import EndpointSpec
from providers.local_files import image_fields
from runs.codegen import code_for
from runs.provenance import download_name, embed_metadata, read_metadata
from runs.record import RunRecord, SecretInRecordError

DIFF_HEADERS = ("parameter", "A", "B")
SELECT_FIRST = "Select a run in the history first (click its thumbnail)."
Entries = list[dict[str, Any]]


@dataclass
class ListSource:
    """What the list's tiles are made from: the app's stored images, and the panel's placeholder."""

    ctx: AppContext
    files: LocalFiles


@dataclass
class HistoryView(ListSource):
    """The panel's components, and what its handlers reach beyond them: the app, the page's tabs and forms."""

    tabs: gr.Tabs
    forms: dict[str, FormTarget]  # the seed tabs' forms, by API name
    models: ModelsTab | None
    history: gr.BrowserState
    selected: gr.State  # the id of the entry clicked last
    pins: gr.State  # ids pinned for A/B, oldest first
    seen: gr.State  # ids of the records this page already listed (each is added once)
    endpoint_filter: gr.Dropdown
    count: Prose
    gallery: gr.Gallery
    details: Prose
    downloads: gr.File
    code_section: gr.Accordion
    code_boxes: dict[str, gr.Markdown]  # by snippet key, in ``code_panel.LANGUAGES``' order
    compare_note: Prose
    slider: gr.ImageSlider
    diff: gr.Markdown  # a table (markdown_blocks.table_view)
    compare_section: gr.Accordion
    dropped_note: Prose
    section: gr.Accordion  # the whole panel: closed while the history is empty
    form_outputs: list[Any] = field(default_factory=list)  # every form field and status a restore may write

    @property
    def listing(self) -> list[Any]:
        """What changes together when the list changes."""
        return [self.history, self.gallery, self.count]


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


def count_text(entries: Entries | None, which: str | None) -> str:
    total = len(filtered(entries, ALL))
    if not total:
        return "No runs yet. Each run on any tab appears here, newest first."
    shown = len(filtered(entries, which))
    runs = f"{total} run{'s' if total != 1 else ''} kept in this browser (at most {HISTORY_LIMIT})"
    return runs + (f"; {shown} shown" if shown != total else "") + ". Click one to see it and act on it."


def entry_of(entries: Entries | None, entry_id: str | None) -> dict[str, Any] | None:
    if not isinstance(entries, list) or entry_id is None:
        return None
    return next((e for e in entries if isinstance(e, dict) and e.get("id") == entry_id), None)


def record_of(entry: dict[str, Any]) -> RunRecord | None:
    """The entry's RunRecord, or None when what the browser kept cannot be read (an older or edited entry)."""
    try:
        return RunRecord.from_json(entry["record"])
    except (KeyError, TypeError, ValueError):
        return None


def thumbnail(view: ListSource, entry: dict[str, Any]) -> str:
    record = entry.get("record") or {}
    found = stored_image(view.ctx, record, 0)
    if found is not None:
        return str(found[0])
    url = str((entry.get("images") or [""])[0])
    # A provider's CDN URL goes to the browser as it is; this app's own /media URL of an image no longer stored
    # (a restart, or older than the media store keeps) would only show a broken image. The entry is the browser's:
    # no other host, and nothing Gradio would fetch itself (``browser_url``).
    return url if is_provider_media(url) and browser_url(url) else view.files.placeholder


def tile(view: ListSource, entry: dict[str, Any]) -> tuple[str, str]:
    try:
        return thumbnail(view, entry), tile_caption(entry)
    except (TypeError, ValueError, AttributeError):  # an entry the browser kept in some other shape
        return view.files.placeholder, "unreadable entry"


def gallery_value(view: ListSource, entries: Entries | None, which: str | None, *, unselect: bool = False
                  ) -> gr.Gallery:
    """The tiles, and no empty box when there are none (the count line says so); ``unselect``: no tile marked
    selected (the selected run went)."""
    tiles = [tile(view, e) for e in filtered(entries, which)]
    if unselect:
        return gr.Gallery(value=tiles, visible=bool(tiles), selected_index=None)
    return gr.Gallery(value=tiles, visible=bool(tiles))


def listed(view: ListSource, entries: Entries, which: str | None) -> tuple[Any, ...]:
    """New values for ``view.listing``."""
    return entries, gallery_value(view, entries, which), count_text(entries, which)


def show_stored(view: ListSource, stored: Any, entries: Entries | None, which: str, drawn: bool | None,
                seen: Any, selected: str | None = None) -> tuple[Any, ...]:
    """The history this browser stores, shown: as the page opens (when the browser holds runs), and whenever another
    tab of this browser writes it (``stored``: the value as written, ``components/history_storage.py``). The page's
    list becomes the stored one, so that its next run adds to it rather than writing its own older list over the
    other tab's runs; with the page's own runs the stored list lacks put back and the runs deleted in either left
    out (``history_state.with_stored``: two tabs whose runs ended together each wrote before seeing the other's). Outputs: the listing, then the panel
    opened and its actions drawn when the page shows entries for the first time (the page opening with runs stored,
    or another tab's first run), then ``seen``, then the selected run and its details (cleared, and said, when
    another tab deleted the run selected here: its details stayed, and its buttons said to select a run). Nothing
    changes when the page already shows the stored list (a tab's own write, echoed back by another tab's)."""
    found = stored_entries(stored)
    ids, own = page_runs(seen)
    if found is None:  # nothing stored that reads back: the page's own list
        found = entries or []
    found, kept = with_stored(found, own, entries, page_marks(seen))
    seen_out = seen_with(seen, ids=ids, own=kept) if kept != own else gr.skip()
    same = found == (entries or [])
    gone = selected is not None and entry_of(found, selected) is None
    selection = (None, "The run selected here was deleted in another tab.") if gone else (gr.skip(), gr.skip())
    if same and drawn:
        return (*(gr.skip(),) * 5, seen_out, *selection)
    first = bool(filtered(found, ALL)) and not drawn
    listing = (gallery_value(view, found, which, unselect=gone), count_text(found, which))
    return (gr.skip() if same else found, *listing,
            opened(found) if first else gr.skip(), True if first else gr.skip(), seen_out, *selection)


def opened(before: Entries | None) -> Any:
    """The panel opened when the list had entries (at load) or gets its first one (a run); left as the visitor
    set it otherwise, so a panel they closed stays closed."""
    return gr.Accordion(open=True) if before else gr.skip()


def add_record(view: ListSource, entries: Entries, record: dict[str, Any] | None, which: str,
               seen: Any, stored: Any = None) -> tuple[Any, ...]:
    """A run's record into the list (outputs: listing, ``seen``, the panel opened and its actions drawn with the
    first entry). ``seen``: the records this page listed, and its newest own runs (``history_state.page_runs``). ``stored``: the list as stored when the page sent this step; the record goes
    into that list (with this page's own runs it lacks put back), not into the page's, which may not show another
    tab's write yet: a run of another tab that ended at the same moment was lost when this page wrote over it."""
    # The step after a run gets the tab's last record even when the run never started (a refused form): list
    # each record once, so a run deleted from the history does not come back with the next refused form.
    ids, own = page_runs(seen)
    if not isinstance(record, dict) or not record.get("id") or record["id"] in ids:
        return (gr.skip(),) * 6
    first = not filtered(entries, ALL)  # the page showed nothing yet: the panel opens and its actions are drawn
    found = stored_entries(stored)
    if found is not None:
        entries, own = with_stored(found, own, entries, page_marks(seen))
    new = added(entries, record)
    seen_out = seen_with(seen, ids=[*ids[-2 * HISTORY_LIMIT:], record["id"]],
                         own=[*own[1 - MAX_OWN:], new[0]] if new and new[0].get("id") == record["id"] else own)
    return (*listed(view, new, which), seen_out, opened(new) if first else gr.skip(), True if first else gr.skip())


def show(view: ListSource, entries: Entries, which: str) -> tuple[Any, str]:
    return gallery_value(view, entries, which), count_text(entries, which)


def select(entries: Entries, which: str, pinned: list[str],
           evt: gr.SelectData) -> tuple[str | None, str]:
    visible = filtered(entries, which)
    entry = visible[evt.index] if isinstance(evt.index, int) and 0 <= evt.index < len(visible) else None
    text = details_markdown(entry)
    if entry is not None and entry.get("id") in (pinned or []):
        text += "  \n📌 Pinned as " + "AB"[pinned.index(entry["id"]) % 2] + "."
    return (entry or {}).get("id"), text


def lost_axes(axes: RestoredAxes) -> list[str]:
    """What a restored sweep's toast and status say of each axis the Sweep section could not take back."""
    return [f"{axis}: not put back (the Sweep section would read it otherwise)" for axis in axes.left_out]


def restore_values(view: HistoryView, entry: dict[str, Any] | None, *, seed_only: bool = False) -> dict[Any, Any]:
    """Updates that put the entry's values (or only its seed) back into its form, and select that form's tab."""
    tabs, models = view.tabs, view.models
    if entry is None:
        gr.Warning(SELECT_FIRST)
        return {tabs: gr.skip()}  # a dict answer must name an output
    record = entry.get("record") or {}
    tab = view.forms.get(record.get("api_name") or "")
    if tab is None and models is not None and is_model_endpoint(record.get("api_name") or ""):
        values = record.get("input") or {}
        if seed_only:
            values = {k: v for k, v in values.items() if k == "seed"}
        sweep = None if seed_only else sweep_of(entry)
        axes = restored_axes(get_endpoint(record["api_name"]), sweep) if sweep is not None else None
        what = "sweep" if sweep is not None else "run"
        label = entry.get("label") or record["api_name"]
        if axes is not None and axes.left_out:
            gr.Warning(toast_text(f"Restored a {label} sweep's form in the Models tab; " + "; ".join(lost_axes(axes))))
        else:
            gr.Info(toast_text(f"Restored a {label} {what} in the Models tab."))
        origin = (f"♻️ Seed from your run {caption(entry)}." if seed_only
                  else f"↩ Restored from your {what} {caption(entry)}.")
        return {tabs: gr.Tabs(selected=MODELS_TAB),
                **models.open(record["api_name"], values, origin=origin, axes=axes)}
    if tab is None:
        gr.Warning("That run's endpoint is not in this app any more.")
        return {tabs: gr.skip()}
    if seed_only:
        seed_name = tab.spec.field_for("seed")
        seed_field = tab.form.fields.get(seed_name) if seed_name is not None else None
        if seed_field is None or entry.get("seed") is None:
            gr.Warning("That run has no seed to reuse.")
            return {tabs: gr.skip()}
        _, checked = tab.form.checked_values({"seed": entry["seed"]})
        if checked.refused:
            gr.Warning(toast_text("That run's seed cannot be reused: " + "; ".join(checked.messages)))
            return {tabs: gr.skip()}
        gr.Info(toast_text(f"Seed {checked.values['seed']} set on {tab.spec.label}."))
        return {tabs: gr.Tabs(selected=tab.spec.api_name),
                **tab.show({seed_field.name: checked.values["seed"]},
                           origin_html(f"♻️ Seed {checked.values['seed']} from your run {caption(entry)}; "
                                       "the other fields are as you left them."))}
    values, checked = tab.form.checked_values(record.get("input") or {})
    sweep = sweep_of(entry)
    axes = restored_axes(tab.spec, sweep) if sweep is not None else None
    lost = lost_axes(axes) if axes else []
    messages = [*checked.messages, *lost]
    what = "sweep" if sweep is not None else "run"
    if checked.refused:
        gr.Warning(toast_text(restore_warning(tab.spec.label, messages)))
    elif lost:
        gr.Warning(toast_text(f"Restored a {tab.spec.label} sweep's form; " + "; ".join(lost)))
    else:
        gr.Info(f"Restored a {tab.spec.label} {what}: every field{' and axis' if axes else ''} is as it was.")
    origin = f"↩ Restored from your {what} {caption(entry)}." + "".join(f" {lost_axis}." for lost_axis in lost)
    return {tabs: gr.Tabs(selected=tab.spec.api_name),
            **tab.show(values, origin_html(origin, checked.messages, sweep=sweep is not None), axes)}


def restore(view: HistoryView, entries: Entries, selected: str | None) -> dict[Any, Any]:
    return restore_values(view, entry_of(entries, selected))


def reuse_seed(view: HistoryView, entries: Entries, selected: str | None) -> dict[Any, Any]:
    return restore_values(view, entry_of(entries, selected), seed_only=True)


def show_code(view: HistoryView, entries: Entries, selected: str | None, request: gr.Request) -> list[Any]:
    """The selected run as code in every language (outputs: the code section, then each box)."""
    # A refusal is an error, not a warning: it stops the next step, which would copy the code shown before.
    entry = entry_of(entries, selected)
    if entry is None:
        raise gr.Error(SELECT_FIRST, title="No run selected")
    if sweep_of(entry) is not None:
        raise gr.Error("That entry is a whole sweep, many runs: each cell's code is in the Sweep section of its tab. "
                       "Restore the sweep (its form and axes), run it (cached cells cost nothing), then click a "
                       "cell.", title="No code for a whole sweep")
    record = record_of(entry)
    if record is None:
        raise gr.Error("That history entry cannot be read any more.", title="No code")
    if record.request is None:
        raise gr.Error("That run ended before its request was prepared: there is no request to show.",
                       title="No code")
    if not record.request.url.startswith(view.ctx.request_hosts()):
        # Not where this app sends runs: a record from an opened image or an edited history. Code aimed there
        # would send the visitor's key to that host, so it targets the provider's public service instead.
        record = dataclasses.replace(record, request=None)
        gr.Warning("That run's request names a host this app does not use: the code targets the public service.")
    root = view.ctx.media_url_for(request)("").removesuffix("/media/")
    try:
        snippets = code_for(record, app_url=root + "/", public=True)
    except (SecretInRecordError, ValueError) as exc:
        # The refusal names what the record holds (quoted, on one line); toasts render HTML, so it is escaped.
        raise gr.Error(f"No code for that run: {html.escape(str(exc))}", title="No code") from None
    gr.Info("The Python code is on your clipboard.")
    return [gr.Accordion(open=True), *(shown_code(snippets.get(key, "# not available for this provider"), language)
                                       for _, key, language in LANGUAGES)]


def selection_changed() -> list[Any]:
    """Another run selected: the files and the code shown for the one before go (outputs: downloads, then each code
    box). A walk downloaded, and could copy, the run selected before under the new one's details."""
    return [gr.File(value=None, visible=False), *(gr.update(value="", visible=False) for _ in LANGUAGES)]


MAX_DOWNLOAD_IMAGES = 4  # a run's images (at most 4 on every endpoint), or a sweep's grid
MAX_DOWNLOAD_RECORD_CHARS = 256 * 1024  # a run's record (large data: URIs are not kept in the history) is far less


async def download(view: HistoryView, entries: Entries, selected: str | None) -> Any:
    """The run's images with the run embedded, named ``<api_name>-<seed>-<n>.<ext>``."""
    entry = entry_of(entries, selected)
    if entry is None:
        gr.Warning(SELECT_FIRST)
        return gr.skip()
    # The entry is the browser's: a crafted one listed one stored image 50 times with a 2 MB record, and each copy
    # was written with the record inside (~10 GB a request at 500). A record larger than any run's is refused
    # before it is read; a run's worth of distinct images is fetched and written, each once.
    if len(json.dumps(entry.get("record"), ensure_ascii=False, default=str)) > MAX_DOWNLOAD_RECORD_CHARS:
        gr.Warning("That history entry is too large to download.")
        return gr.skip()
    record = record_of(entry)
    if record is None:
        gr.Warning("That history entry cannot be read any more.")
        return gr.skip()
    record_json = entry["record"]
    paths = []
    images = (record_json.get("result") or {}).get("images") or []
    distinct: dict[str, int] = {}  # each image (as listed) once, by its first place
    for index, image in enumerate(images):
        if len(distinct) < MAX_DOWNLOAD_IMAGES:
            distinct.setdefault(json.dumps(image, sort_keys=True, default=str), index)
    for index in distinct.values():
        found = await image_file(view.ctx, record_json, index)
        if found is None:
            continue
        path, content_type = found
        data = await asyncio.to_thread(path.read_bytes)
        tagged = await asyncio.to_thread(embed_metadata, data, content_type, record)
        # A sweep's entry holds its grid: named as a sweep, not by a seed it does not have ("noseed").
        name = download_name(record.api_name, "sweep" if record.sweep else record.seed, index + 1, content_type)
        paths.append(await asyncio.to_thread(view.files.write, name, tagged))
    if not paths:
        gr.Warning("This run's images are no longer available (stored images and provider URLs expire).")
        return gr.File(value=None, visible=False)
    return gr.File(value=paths, visible=True)


def delete(view: HistoryView, entries: Entries, selected: str | None, which: str,
           pinned: list[str], seen: Any = None) -> tuple[Any, ...]:
    """Outputs: listing (no tile marked selected), selected, details, pins, downloads, ``seen`` (with the page's
    deletes: a sync of another tab's write sent before this answer came would otherwise put the run back, its mark
    lost), then the compare's note, slider and differences (emptied when the run was pinned: they showed it on)."""
    if entry_of(entries, selected) is None:
        gr.Warning(SELECT_FIRST)
        return (gr.skip(),) * 11
    entries = removed(entries, selected)
    gr.Info("Deleted from this browser's history.")
    kept = [p for p in pinned or [] if p != selected and entry_of(entries, p) is not None]
    seen_out = seen_with(seen, marks=newest_marks(page_marks(seen), deleted_marks(entries)))
    compare: tuple[Any, ...] = (gr.skip(),) * 3
    if selected in (pinned or []):
        left = entry_of(entries, kept[0]) if kept else None
        note = one_pinned_note(left) if left is not None else COMPARE_EMPTY
        compare = (note, None, "")
    listing = (entries, gallery_value(view, entries, which, unselect=True), count_text(entries, which))
    return (*listing, None, details_markdown(None), kept, gr.File(value=None, visible=False), seen_out, *compare)


#: The compare's note while nothing is pinned.
COMPARE_EMPTY = "Pin two runs (📌) to compare them: A is the first, B the second."


def one_pinned_note(entry: dict[str, Any]) -> str:
    """The compare's note while one run is pinned (as A)."""
    return f"📌 **A:** {caption(entry)}  \nNow select another run and pin it as B."


def pin(view: HistoryView, entries: Entries, selected: str | None, pinned: list[str]) -> tuple[Any, ...]:
    """Pin for A/B; with two pinned, compare them (outputs: pins, note, slider, diff, the compare section)."""
    entry = entry_of(entries, selected)
    if entry is None or selected is None:
        gr.Warning(SELECT_FIRST)
        return (gr.skip(),) * 5
    current = [p for p in pinned or [] if entry_of(entries, p) is not None]
    if selected in current:  # pinning A (or B) again changes nothing: it never swaps the two
        gr.Info(f"That run is already pinned as {'AB'[current.index(selected)]}.")
        pinned = current
    else:
        pinned = current[-1:] + [selected]
    chosen = [entry_of(entries, p) for p in pinned]
    if len(chosen) < 2:
        note = one_pinned_note(entry)
        return pinned, note, None, "", gr.Accordion(open=True)
    a, b = chosen[0], chosen[1]
    assert a is not None and b is not None
    images = [stored_image(view.ctx, a.get("record") or {}, 0), stored_image(view.ctx, b.get("record") or {}, 0)]
    note = f"**A:** {caption(a)}  \n**B:** {caption(b)}"
    value = None
    if images[0] and images[1]:
        value = (str(images[0][0]), str(images[1][0]))
    else:
        note += "  \nOne of the two has no stored image any more: only the parameters are compared."
    rows = parameter_diff(a, b)
    if not rows:
        note += "  \nNo parameter differs."
    return pinned, note, value, table(DIFF_HEADERS, rows, "Parameters that differ"), gr.Accordion(open=True)


def use_as_input(view: HistoryView, entries: Entries, selected: str | None, target: str | None) -> dict[Any, Any]:
    """The run's image into an image field ("api_name:field") of a tab or of the Models tab, as an upload."""
    tabs, models = view.tabs, view.models
    entry = entry_of(entries, selected)
    if entry is None or not target:
        gr.Warning(SELECT_FIRST)
        return {tabs: gr.skip()}  # a dict answer must name an output
    if sweep_of(entry) is not None:  # its image is the labelled grid, captions and all (a walk sent it)
        gr.Warning("A sweep's image is its labelled grid, not a picture to edit: restore the sweep, run it (cells "
                   "already made come from the cache), click a cell, then use that run's image from the history.")
        return {tabs: gr.skip()}
    found = stored_image(view.ctx, entry.get("record") or {}, 0)
    if found is None:
        gr.Warning("That run's image is no longer stored here, so it cannot be sent to a form.")
        return {tabs: gr.skip()}
    api_name, field_name = target.split(":", 1)
    tab = view.forms.get(api_name)
    if tab is None:
        if models is None or not is_model_endpoint(api_name):
            gr.Warning(toast_text(f"No form takes images as {target!r}."))
            return {tabs: gr.skip()}
        spec = get_endpoint(api_name)
        gr.Info(toast_text(f"Sent to {spec.label} → {field_name}, in the Models tab."))
        return {tabs: gr.Tabs(selected=MODELS_TAB),
                **models.open(api_name, uploads={field_name: view.files.as_upload(found[0])},
                              origin=f"➡ {field_name}: the image of your run {caption(entry)}.")}
    components = tab.form.value_components()
    # As an upload: the run sends the file itself (to fal storage or in Segmind's request), so it works with
    # any provider, wherever this app runs; the URL box is emptied so the upload is what is sent.
    values: dict[str, Any] = {field_name: view.files.as_upload(found[0])}
    if f"{field_name}__link" in components:
        values[f"{field_name}__link"] = ""
    gr.Info(toast_text(f"Sent to {tab.spec.label} → {field_name}."))
    status = origin_html(f"➡ {field_name}: the image of your run {caption(entry)}; the other fields are as you "
                         "left them.")
    return {tabs: gr.Tabs(selected=api_name), **tab.show(values, status)}


def open_image(view: HistoryView, data: bytes | None, entries: Entries, which: str) -> dict[Any, Any]:
    """A dropped image's embedded run (this app's record, or A1111 parameters) into its form, and its record into
    the list."""
    tabs, models, note_box = view.tabs, view.models, view.dropped_note
    if not data:
        return {note_box: ""}
    meta = read_metadata(data)
    if not meta.found:
        gr.Warning(toast_text(f"Nothing to restore: {meta.summary}."))
        return {note_box: f"⚠️ **Nothing to restore:** {meta.summary}."}
    api_name = meta.record.api_name if meta.record is not None else None
    if api_name is None and meta.endpoint_id:
        try:
            api_name = get_endpoint(meta.endpoint_id).api_name
        except KeyError:
            api_name = None
    tab = view.forms.get(api_name or "")
    note = meta.summary
    out: dict[Any, Any]
    if tab is None and models is not None and api_name and is_model_endpoint(api_name):
        mapped = meta.to_form_values(get_endpoint(api_name))
        if mapped.dropped:
            note += "  \nNot carried over: " + "; ".join(f"{k} ({v})" for k, v in mapped.dropped.items())
        out = {note_box: note + "  \nRestored into the **Models** tab.", tabs: gr.Tabs(selected=MODELS_TAB),
               **models.open(api_name, mapped.values, origin=f"🖼 Restored from an image: {meta.summary}.")}
    else:
        if tab is None:
            tab = next(iter(view.forms.values()))
            note += f"  \nIts model is not one of this app's endpoints: the values go into **{tab.spec.label}**."
        mapped = meta.to_form_values(tab.spec)
        values, checked = tab.form.checked_values(mapped.values)
        not_carried = [f"{k} ({v})" for k, v in mapped.dropped.items()] + checked.messages
        if not_carried:
            note += "  \nNot carried over: " + "; ".join(not_carried)
        out = {note_box: note + f"  \nRestored into **{tab.spec.label}**.", tabs: gr.Tabs(selected=tab.spec.api_name),
               **tab.show(values, origin_html(f"🖼 Restored from an image: {meta.summary}.", not_carried))}
    if meta.record_json is not None and meta.record is not None:
        out.update(zip(view.listing, listed(view, added(entries, meta.record_json), which), strict=True))
    return out
