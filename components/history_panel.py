"""History, A/B compare, "Open image", copy-as-code and downloads — all reading RunRecords: the layout and its wiring.

The history lives in this browser's localStorage (``gr.BrowserState``): nothing per visitor is kept on the server,
and entries never hold a key (records hold none). A page's list follows what its other tabs store
(``components/history_storage.py``), so two tabs add to one history. The plain-data side is ``components/history_state.py``; what each
button does is ``components/history_actions.py`` (one handler per action); the files handed out are
``components/history_files.py``.

Every event here is private (``api_visibility="private"``): none is part of the app's API, its MCP tools or
Gradio's run history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from components import history_actions as act
from components.bind import bind
from components.code_panel import LANGUAGES
from components.context import AppContext
from components.endpoint_tab import EndpointTab
from components.form_target import FormTarget
from components.history_actions import HistoryView, count_text, image_targets
from components.history_files import LocalFiles
from components.history_state import ALL, details_markdown, filter_choices
from components.history_storage import STORAGE_KEY, STORAGE_SECRET
from components.markdown_blocks import code_view, table_view
from components.models_tab import ModelsTab, model_endpoints
from components.prose import Prose
from components.rendered_form import open_once
from components.widgets import SHOW_FORM_JS
from providers.catalog import CATALOG

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
#compare-diff table { width: 100%; margin: 0; }
#compare-diff th { white-space: nowrap; }
#compare-diff td { overflow-wrap: break-word; }  /* a long value wraps at its words; a seed stays whole (the table
  scrolls sideways on a phone instead of breaking "7461 / 9737 / 6") */
#history-use-target input { padding-right: 28px; text-overflow: ellipsis; }  /* not under the arrow on a phone */
</style>"""
# Runs after "Copy as code" filled the boxes: put the Python snippet on the clipboard. A js step's answer becomes
# the next handler's inputs, and there is none: it returns nothing.
# The box holds a fenced Markdown block (``markdown_blocks.code_block``): the clipboard gets the code inside it.
COPY_CODE_JS = """(block) => {
  const fenced = block && block.match(/^(`{3,})[^\\n]*\\n([\\s\\S]*)\\n\\1$/);
  const code = fenced ? fenced[2] : block;
  if (code && navigator.clipboard) navigator.clipboard.writeText(code).catch(() => {});
}"""


@dataclass(frozen=True)
class HistoryPanel:
    """What shows the stored list (as the page opens, and after another tab's write of it): the list, and what it
    shows and opens."""

    history: gr.BrowserState
    on_stored: Any  # (stored value, entries, filter, drawn, seen) -> the listing, panel opened, actions drawn, seen
    on_stored_inputs: list[Any]  # [the list, the filter, the actions drawn, the page's own runs, the selected run]
    on_stored_outputs: list[Any]


@dataclass(frozen=True)
class PanelStates:
    """What the panel keeps per page, outside the part drawn later: the runs' steps write the list before that part
    is drawn, and its events read and write the rest."""

    history: gr.BrowserState
    selected: gr.State  # the id of the entry clicked last
    pins: gr.State  # ids pinned for A/B, oldest first
    seen: gr.State  # {"ids": records listed (each once), "own": its newest runs, "marks": the deletes it made}
    opened: gr.State  # True once the panel's actions are drawn (or being drawn) in this page


@dataclass(frozen=True)
class ListingParts:
    """The panel's parts drawn with the page: the list and what the runs' steps write."""

    source: act.ListSource
    states: PanelStates
    section: gr.Accordion
    endpoint_filter: gr.Dropdown
    count: Prose
    gallery: gr.Gallery
    details: Prose  # the selected run


@dataclass
class HistoryButtons:
    restore: gr.Button
    reuse: gr.Button
    code: gr.Button
    download: gr.Button
    pin: gr.Button
    delete: gr.Button
    use: gr.Button
    use_target: gr.Dropdown
    dropped: gr.File  # "Open image"
    selection_changed: gr.Button  # hidden: pressed by the page when another run is selected


def build_history_panel(ctx: AppContext, tabs: gr.Tabs, forms: dict[str, FormTarget], drawn: Sequence[EndpointTab],
                        models: ModelsTab | None = None) -> HistoryPanel:
    """The History accordion under the endpoint tabs, wired to every seed tab's form (``forms``) and to the runs
    of the tabs drawn with the page (``drawn``; tabs drawn later hand theirs to ``models.last_record``).

    The list (filter, count, tiles, the selected run's details) comes with the page; what acts on a run (buttons,
    code, A/B compare, "Open image": 35 blocks and the page's only image slider) is drawn the first time the panel
    opens: when the visitor opens it, when the first run lands in it, or as the page opens with runs already stored.
    A first visit's page is interactive sooner without them (``docs/upstream.md`` §14: every block and component type
    of the page's config is loaded before its first paint, closed or not).
    """
    # Each form's fields and status (which says where the values came from); a catalog model opens in Models.
    form_outputs = [c for target in forms.values() for c in target.outputs()]
    form_outputs += models.outputs if models is not None else []
    source = act.ListSource(ctx, LocalFiles(ctx.temp_dir("downloads")))
    # Outside the panel: Gradio's page reads the stored list only from a mounted BrowserState, and a closed
    # accordion's children are not mounted.
    history = gr.BrowserState([], storage_key=STORAGE_KEY, secret=STORAGE_SECRET)
    states = PanelStates(history, gr.State(None), gr.State([]), gr.State({"ids": [], "own": []}),
                         gr.State(False))
    # Closed until there is something in it (act.opened): a first visit has nothing to show.
    with gr.Accordion("🕘 History & compare — your last 100 runs, kept in this browser", open=False,
                      elem_id="history") as section:
        gr.HTML(STYLE, visible="hidden", elem_id="history-style")
        endpoint_filter = gr.Dropdown(filter_choices(), value=ALL, label="Show", elem_id="history-filter")
        count = Prose(count_text([], ALL), elem_id="history-count")
        gallery = gr.Gallery(label="Runs (newest first)", show_label=False, columns=5, height=300,
                             visible=False, fit_columns=False, allow_preview=False, preview=False,
                             object_fit="cover", interactive=False, buttons=[], elem_id="history-gallery")
        # With the list: a tile clicked before the actions are drawn is still selected and shown.
        details = Prose(details_markdown(None), elem_id="history-details")
        listing = ListingParts(source, states, section, endpoint_filter, count, gallery, details)

        # "once": ``opened`` changes once per page (``open_once``, ``act.add_record``, ``act.show_stored``).
        @gr.render(inputs=[states.opened], triggers=[states.opened.change], trigger_mode="once")
        def actions(opened: bool) -> None:
            if opened:
                wire(*layout(tabs, forms, models, listing, form_outputs))

    private: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
    section.expand(open_once, [states.opened], [states.opened], **private)
    endpoint_filter.change(bind(act.show, source), [history, endpoint_filter], [gallery, count], **private)
    gallery.select(act.select, [history, endpoint_filter, states.pins], [states.selected, details],
                   js=SELECTION_CHANGED_JS, **private)
    wire_records(listing, drawn, models)
    return HistoryPanel(history, bind(act.show_stored, source),
                        [history, endpoint_filter, states.opened, states.seen, states.selected],
                        [history, gallery, count, section, states.opened, states.seen, states.selected, details])


SELECTION_CHANGED_ID = "history-selection-changed"
# Runs in the page before the select's own step (no event of its own: each event on the first page costs its load).
SELECTION_CHANGED_JS = ("(...values) => { document.getElementById('" + SELECTION_CHANGED_ID + "')?.click(); "
                        "return values; }")


#: The stored list as the page sends a record's step: what another tab may have written since this page last read it.
STORED_NOW = "localStorage.getItem('" + STORAGE_KEY + "')"


def wire_records(listing: ListingParts, drawn: Sequence[EndpointTab], models: ModelsTab | None) -> None:
    """Each run's and sweep's record into the list, with the page's other steps after it. Each step also gets the
    stored list as the page sends it (``act.add_record``): two tabs' runs ending together lost one of them when a
    tab added its run to a list older than the other tab's write."""
    states, which = listing.states, listing.endpoint_filter
    add = bind(act.add_record, listing.source)
    added = [states.history, listing.gallery, listing.count, states.seen, listing.section, states.opened]
    stored = gr.Textbox(visible=False, elem_id="history-stored-now")  # not drawn: its value is read in the page
    # (values) => values with the stored list in ``stored``'s place (the last input of the events below)
    last_is_stored = "(...values) => { values[values.length - 1] = " + STORED_NOW + "; return values; }"
    if models is not None:
        models.last_record.change(add, [states.history, models.last_record, which, states.seen, stored], added,
                                  js=last_is_stored, api_visibility="private", show_progress="hidden")
    for tab in drawn:
        tab.after_record.add(add, [states.history, tab.last_record, which, states.seen, stored], added)
        tab.after_record.read_in_page(stored, STORED_NOW)
        # A whole sweep lands as one entry (its grid, its summed cost).
        tab.after_sweep(add, [states.history, tab.sweep_record, which, states.seen, stored], added,
                        js=last_is_stored, api_visibility="private", show_progress="hidden")


def code_intro() -> str:
    """The history's code section's note: runs come from every provider, so every provider's key is named."""
    keys = ", ".join(f"`{provider.key_env}`" for provider in CATALOG)
    return ("The Python snippet is copied to the clipboard; each box has its own copy button. Keys are read from "
            f"the environment ({keys}: each snippet names its own), never written into the code.")


def layout(tabs: gr.Tabs, forms: dict[str, FormTarget], models: ModelsTab | None, listing: ListingParts,
           form_outputs: list[Any]) -> tuple[HistoryView, HistoryButtons]:
    """What acts on a run, drawn inside ``gr.render``. Inputs drawn with a value get ``interactive`` (a rendered
    component with a value is otherwise display-only, ``docs/upstream.md`` §5)."""
    with gr.Row(equal_height=False, elem_id="history-actions"):
        with gr.Column(scale=3, min_width=280):
            with gr.Row():
                restore = gr.Button("↩ Restore", size="sm", min_width=90, elem_id="history-restore")
                reuse = gr.Button("♻️ Reuse seed", size="sm", min_width=90, elem_id="history-reuse-seed")
                code_button = gr.Button("</> Copy as code", size="sm", min_width=90, elem_id="history-code")
            with gr.Row():
                download = gr.Button("⬇ Download", size="sm", min_width=90, elem_id="history-download")
                pin = gr.Button("📌 Pin for A/B", size="sm", min_width=90, elem_id="history-pin")
                delete = gr.Button("🗑 Delete", size="sm", min_width=90, elem_id="history-delete")
        with gr.Column(scale=2, min_width=280):
            targets = image_targets([t.spec for t in forms.values()]
                                    + (model_endpoints() if models is not None else []))
            use_target = gr.Dropdown(targets, value=targets[0][1] if targets else None, interactive=True,
                                     label="Send its image to", elem_id="history-use-target")
            use_button = gr.Button("➡ Use as input", size="sm", elem_id="history-use-as-input")
            downloads = gr.File(label="Images with their parameters embedded", file_count="multiple",
                                interactive=False, visible=False, elem_id="history-files")
    with gr.Accordion("Code for the selected run", open=False, elem_id="history-code-section") as code_section:
        Prose(code_intro())
        code_boxes = {}
        with gr.Tabs():
            for title, key, _ in LANGUAGES:
                with gr.Tab(title):
                    code_boxes[key] = code_view(f"history-code-{key}")
    with gr.Accordion("A/B compare (pin two runs)", open=False, elem_id="compare") as compare_section:
        compare_note = Prose(act.COMPARE_EMPTY, elem_id="compare-note")
        slider = gr.ImageSlider(label="A ◀ ▶ B", type="filepath", max_height=520, elem_id="compare-slider")
        diff = table_view("compare-diff")
    with gr.Accordion("🖼 Open image — restore the run an image came from", open=False, elem_id="open-image"):
        dropped = gr.File(label="Drop a PNG/JPEG/WebP made by this app (or with A1111 parameters)",
                          file_types=["image"], type="binary", interactive=True, elem_id="open-image-file")
        dropped_note = Prose("", elem_id="open-image-note")
    # Another run selected: the files and code of the one before go. An event on the gallery itself, added here
    # (drawn later), took the place of the gallery's own select in Gradio 6.31's page: the page presses this.
    selection_changed = gr.Button(visible="hidden", elem_id=SELECTION_CHANGED_ID)
    states, source = listing.states, listing.source
    view = HistoryView(source.ctx, source.files, tabs, forms, models, states.history, states.selected, states.pins,
                       states.seen, listing.endpoint_filter, listing.count, listing.gallery, listing.details,
                       downloads, code_section, code_boxes, compare_note, slider, diff, compare_section,
                       dropped_note, listing.section, form_outputs)
    return view, HistoryButtons(restore, reuse, code_button, download, pin, delete, use_button, use_target, dropped,
                                selection_changed)


def wire(view: HistoryView, buttons: HistoryButtons) -> None:
    # Quick steps draw no progress overlay (a restore writes into every form on the page).
    private: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
    history, selected, pins, which = view.history, view.selected, view.pins, view.endpoint_filter
    listing, into_forms = view.listing, [view.tabs, *view.form_outputs]

    buttons.restore.click(bind(act.restore, view), [history, selected], into_forms, **private).then(
        None, js=SHOW_FORM_JS % "true", api_visibility="private", queue=False)
    buttons.reuse.click(bind(act.reuse_seed, view), [history, selected], into_forms, **private).then(
        None, js=SHOW_FORM_JS % "false", api_visibility="private", queue=False)
    buttons.code.click(bind(act.show_code, view), [history, selected],
                       [view.code_section, *view.code_boxes.values()], **private).success(
        None, [view.code_boxes["python"]], None, js=COPY_CODE_JS, queue=False, **private)
    buttons.download.click(bind(act.download, view), [history, selected], [view.downloads],
                           **{**private, "show_progress": "minimal"}).success(
        None, [view.downloads], None, js=SAVE_FILES_JS, queue=False, **private)
    buttons.delete.click(bind(act.delete, view), [history, selected, which, pins, view.seen],
                         [*listing, selected, view.details, pins, view.downloads, view.seen, view.compare_note,
                          view.slider, view.diff], **private)
    buttons.pin.click(bind(act.pin, view), [history, selected, pins],
                      [pins, view.compare_note, view.slider, view.diff, view.compare_section], **private)
    buttons.use.click(bind(act.use_as_input, view), [history, selected, buttons.use_target], into_forms,
                      **private).then(None, js=SHOW_FORM_JS % "false", api_visibility="private", queue=False)
    # What showed the run selected before goes with its selection (SELECTION_CHANGED_JS presses this).
    buttons.selection_changed.click(act.selection_changed, None, [view.downloads, *view.code_boxes.values()],
                                    queue=False, **private)
    buttons.dropped.upload(bind(act.open_image, view), [buttons.dropped, history, which],
                           [view.dropped_note, view.tabs, *listing, *view.form_outputs], **private)


# "Download" saves the run's images at once (a link per file, clicked); the list stays under the buttons, to save
# one again. Same-origin links: the browser keeps each file's name.
SAVE_FILES_JS = """(files) => {
  for (const file of Array.isArray(files) ? files : []) {
    if (!file || !file.url) continue;
    const link = document.createElement("a");
    link.href = file.url;
    link.download = file.orig_name || "";
    document.body.appendChild(link);
    link.click();
    link.remove();
  }
}"""


LOADER_ID = "history-load"
# The page's load asks the server only when the browser holds runs: a first visit's page (nothing stored) spares a
# queue join and an event stream before Generate works, and the server a step that would change nothing. It also
# listens for another tab's write of the stored list (the ``storage`` event fires in the other tabs only): the same
# step then shows what that tab stored (``act.show_stored``).
LOAD_STORED_JS = ("(entries) => { if (!window.__fpHistorySync) { window.__fpHistorySync = true; "
                  "window.addEventListener('storage', (e) => { if (e.key === '" + STORAGE_KEY + "') "
                  "document.getElementById('" + LOADER_ID + "')?.click(); }); } "
                  "if (Array.isArray(entries) && entries.length) "
                  "document.getElementById('" + LOADER_ID + "')?.click(); }")
# The step gets the value as stored (by this page or another tab) in place of the carrier's.
READ_STORED_JS = ("(stored, entries, which, drawn, seen, selected) => "
                  "[localStorage.getItem('" + STORAGE_KEY + "'), entries, which, drawn, seen, selected]")


def refresh_on_load(demo: gr.Blocks, panel: HistoryPanel) -> None:
    """Show the stored history when the page opens (the gallery itself is not stored; the filter starts at all),
    its actions drawn when there is something in it, and again whenever another tab of this browser stores it. Queued, so that the ``opened`` State it sets fires the
    render of the actions (Gradio reports a State's change only from a queued event)."""
    loader = gr.Button("Show the stored history", visible="hidden", elem_id=LOADER_ID)
    carrier = gr.Textbox(visible=False, elem_id="history-stored")  # not drawn: READ_STORED_JS fills its input
    # "always_last": a write of another tab while the step runs is read once it ends (a button's click is "once" by
    # default: two writes 20 ms apart showed only the first, and the page missed the second tab's run).
    loader.click(panel.on_stored, [carrier, *panel.on_stored_inputs], panel.on_stored_outputs, js=READ_STORED_JS,
                 api_visibility="private", show_progress="hidden", trigger_mode="always_last")
    demo.load(None, [panel.history], None, js=LOAD_STORED_JS, api_visibility="private", queue=False,
              show_progress="hidden")
