"""Bring your own key: a visitor's fal / Segmind keys for this browser session only.

Keys live in a per-session ``gr.State`` (server memory, gone with the session). The save event is private: not
in the API docs and not in run history; the key boxes are cleared once saved, and no output ever shows a key.
"""

from __future__ import annotations

from collections.abc import Mapping

import gradio as gr

from providers.base import Credentials
from providers.routing import Backends

PROVIDERS = (("fal", "fal.ai"), ("segmind", "Segmind"))


def badge_text(backends: Backends, session_keys: Mapping[str, Credentials] | None) -> str:
    parts = []
    for name, title in PROVIDERS:
        route = backends.route(name, session_keys)  # type: ignore[arg-type]
        if route.is_sandbox:
            parts.append(f"**{title}:** 🧪 sandbox (synthetic images)")
        elif route.credentials:
            parts.append(f"**{title}:** 🟢 {route.label}")
        else:
            parts.append(f"**{title}:** 🔴 no key — add one under Settings")
    return " &nbsp;·&nbsp; ".join(parts)


def sandbox_banner(backends: Backends) -> str:
    if backends.sandbox is None:
        return ""
    return (
        "🧪 **Sandbox mode.** Requests go to a local stand-in for fal and Segmind that speaks their protocols and "
        "draws *synthetic* images (labelled SANDBOX) — no model runs. Set `FAL_KEY` / `SEGMIND_API_KEY`, or paste "
        "your own key under **Settings**, to use the real services."
        + ("" if not backends.force_sandbox else " (`PLAYGROUND_SANDBOX=1` is set: every run uses the sandbox.)")
    )


def _parse_keys(current: Mapping[str, Credentials] | None, fal: str, segmind: str) -> dict[str, Credentials]:
    keys = dict(current or {})
    for name, value in (("fal", fal), ("segmind", segmind)):
        value = (value or "").strip()
        if value:
            keys[name] = Credentials(value, "session")
    return keys


def build_settings_panel(backends: Backends, badge: gr.Markdown) -> gr.State:
    """The Settings accordion; returns the session-keys state that every run reads."""
    session_keys = gr.State({})
    with gr.Accordion("🔑 Settings — use your own API keys for this session", open=False):
        gr.Markdown(
            "Keys pasted here are kept in this server's memory for **your browser session only** — never written "
            "to disk, logs, run history or the API docs, and never shown again. Closing the tab forgets them."
        )
        with gr.Row():
            fal_box = gr.Textbox(label="fal key (FAL_KEY)", type="password", placeholder="key-id:key-secret", scale=2)
            segmind_box = gr.Textbox(label="Segmind key (SEGMIND_API_KEY)", type="password", placeholder="SG_...", scale=2)
        with gr.Row():
            save = gr.Button("Use these keys", variant="primary", size="sm")
            forget = gr.Button("Forget my keys", size="sm")

    def use_keys(current: dict, fal: str, segmind: str):
        keys = _parse_keys(current, fal, segmind)
        if keys == (current or {}):
            gr.Warning("No key entered.")
        else:
            gr.Info("Keys set for this session.")
        return keys, badge_text(backends, keys), "", ""

    def forget_keys():
        gr.Info("Session keys forgotten.")
        return {}, badge_text(backends, {}), "", ""

    outputs = [session_keys, badge, fal_box, segmind_box]
    save.click(use_keys, [session_keys, fal_box, segmind_box], outputs, api_visibility="private", queue=False)
    forget.click(forget_keys, None, outputs, api_visibility="private", queue=False)
    return session_keys
