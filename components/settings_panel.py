"""Bring your own key: a visitor's provider keys for this browser session only, one box per catalog provider.

Keys live in a per-session ``gr.State`` (server memory, gone with the session). The save event is private: not
in the API docs and not in run history; the key boxes are cleared once saved, and no output ever shows a key.
Keys are checked when pasted (no whitespace or control characters inside, sane length), so a malformed key
never reaches an HTTP header — where its text could end up in an error message.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping

import gradio as gr

from components.context import SESSION_TTL_SECONDS
from components.prose import Prose
from providers.base import Credentials, KeepsBalance
from providers.catalog import CATALOG, ProviderSpec
from providers.errors import ProviderError
from providers.routing import Backends, Route

MAX_KEY_LENGTH = 512
BALANCE_TIMEOUT = 10.0  # seconds a provider has to answer the balance call
_KEY_CHARS = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII: what an HTTP header value can carry safely


def key_problem(provider: str, value: str) -> str | None:
    """Why a pasted key cannot be used (error), or None. Never includes the key itself."""
    if len(value) > MAX_KEY_LENGTH:
        return f"the key is longer than {MAX_KEY_LENGTH} characters"
    if not _KEY_CHARS.match(value):
        return "the key contains spaces, line breaks or characters keys never have"
    return None


def badge_text(backends: Backends, session_keys: Mapping[str, Credentials] | None) -> str:
    parts = []
    for spec in CATALOG:
        route = backends.route(spec.name, session_keys)
        if route.is_sandbox:
            parts.append(f"**{spec.title}:** 🧪 sandbox (synthetic images)")
        elif route.credentials:
            parts.append(f"**{spec.title}:** 🟢 {route.label}")
        else:
            parts.append(f"**{spec.title}:** 🔴 no key — add one under Settings")
    return " &nbsp;·&nbsp; ".join(parts)


def sandbox_banner(backends: Backends, session_keys: Mapping[str, Credentials] | None = None) -> str:
    """The banner for what this session's runs will use; empty when no provider is on the sandbox."""
    on_sandbox = [spec for spec in CATALOG if backends.route(spec.name, session_keys).is_sandbox]
    if not on_sandbox:
        return ""
    names = " and ".join(spec.title for spec in on_sandbox)
    keys = " / ".join(f"`{spec.key_env}`" for spec in on_sandbox)
    forced = " (`PLAYGROUND_SANDBOX=1` is set: every run uses the sandbox.)" if backends.force_sandbox else ""
    return (
        f"🧪 **Sandbox mode for {names}.** Those runs go to a local stand-in that speaks the providers' protocols "
        f"and draws *synthetic* images (labelled SANDBOX) — no model runs. Set {keys}, or paste your own key "
        f"under **Settings**, to use the real service.{forced}"
    )


async def balances(
    backends: Backends, session_keys: Mapping[str, Credentials] | None, *, session_only: bool = False
) -> str:
    """One line per provider that keeps a credits balance (``ProviderSpec.usd_per_credit``) and that the visitor
    runs on with a key pasted in this session or on the sandbox (``session_only``: pasted keys only): its balance in
    credits and dollars, or, plainly, why it could not be read. Never includes the key. The server's own keys are
    never read here: their balance is the operator's account, not a visitor's to see (nor a call a visitor may make
    on the operator's key at will)."""

    async def line(spec: ProviderSpec, route: Route, provider: KeepsBalance) -> str:
        where = " (sandbox)" if route.is_sandbox else ""
        try:
            value = await asyncio.wait_for(provider.credits(route.credentials), BALANCE_TIMEOUT)
        except TimeoutError:
            return f"**{spec.title}{where}:** the balance did not come within {BALANCE_TIMEOUT:.0f} s."
        except ProviderError as exc:
            return f"**{spec.title}{where}:** balance unavailable: {exc}"
        usd = value * (spec.usd_per_credit or 1.0)
        return f"**{spec.title}{where}:** {value:,.2f} credits (${usd:,.2f}) left"

    routes = [(spec, backends.route(spec.name, session_keys)) for spec in CATALOG if spec.usd_per_credit is not None]
    lines = await asyncio.gather(*(
        line(spec, route, route.provider) for spec, route in routes
        if route.credentials and isinstance(route.provider, KeepsBalance)
        and (route.credentials.source == "session" or (route.is_sandbox and not session_only))
    ))
    return "  \n".join(f"💳 {text}" for text in lines)


def parse_keys(current: Mapping[str, Credentials] | None, pasted: Mapping[str, str]) -> tuple[dict[str, Credentials], list[str], list[str]]:
    """(keys, what was set, problems) for the pasted values by provider name; bad keys are not kept."""
    keys = dict(current or {})
    changed: list[str] = []
    problems: list[str] = []
    for spec in CATALOG:
        value = (pasted.get(spec.name) or "").strip()
        if not value:
            continue
        problem = key_problem(spec.name, value)
        if problem:
            problems.append(f"{spec.title} key not used: {problem}.")
            continue
        keys[spec.name] = Credentials(value, "session")
        changed.append(spec.title)
        warning = spec.key_problem(value)
        if warning:
            problems.append(f"{spec.title}: {warning} It is set anyway; runs will fail if the provider rejects it.")
    return keys, changed, problems


# Once the keys are stored, each box is emptied if it still holds what was sent; a key typed into it meanwhile stays
# (the server answered with empty boxes before, and a key typed while the save ran was lost). What was sent is held
# in the page only between the click and the answer, as the boxes themselves hold it.
REMEMBER_SENT_KEYS_JS = "(keys, ...sent) => { window.fpSentKeys = sent; return [keys, ...sent]; }"
FORGET_SENT_KEYS_JS = "(...inputs) => { delete window.fpSentKeys; return inputs.length === 1 ? inputs[0] : inputs; }"
EMPTY_SENT_KEYS_JS = ("(...now) => { const sent = window.fpSentKeys || []; delete window.fpSentKeys; "
                      "return now.map((value, i) => value === sent[i] ? '' : value); }")


def build_settings_panel(backends: Backends, badge: Prose, banner: Prose) -> gr.State:
    """The Settings accordion; returns the session-keys state that every run reads."""
    session_keys = gr.State({}, time_to_live=SESSION_TTL_SECONDS)
    boxes: list[gr.Textbox] = []
    with gr.Accordion("🔑 Settings — use your own API keys for this session", open=False):
        Prose(
            "Keys pasted here are kept in this server's memory for **your browser session only** — never written "
            "to disk, logs, run history or the API docs, and never shown again. Closing the tab forgets them."
        )
        with gr.Row():
            for spec in CATALOG:
                boxes.append(
                    gr.Textbox(
                        label=f"{spec.title} key ({spec.key_env})",
                        type="password",
                        placeholder=spec.key_placeholder,
                        scale=2,
                        elem_id=f"key-{spec.name}",
                    )
                )
        with gr.Row():
            save = gr.Button("Use these keys", variant="primary", size="sm", elem_id="keys-save")
            forget = gr.Button("Forget my keys", size="sm", elem_id="keys-forget")
            check = gr.Button("Check balance", size="sm", elem_id="keys-check-balance")
        confirmation = Prose("", elem_id="keys-confirmation")
        balance = Prose("", elem_id="keys-balance")

    def use_keys(current: dict, *values: str):
        keys, changed, problems = parse_keys(current, {spec.name: v for spec, v in zip(CATALOG, values, strict=True)})
        lines = [f"✅ {title} key set for this session." for title in changed]
        lines += [f"⚠️ {problem}" for problem in problems]
        if not lines:
            lines = ["No key entered."]
        for problem in problems:
            gr.Warning(problem)
        if changed:
            gr.Info("Keys set for this session.")
        banner_text = sandbox_banner(backends, keys)
        # The boxes are emptied by the page (EMPTY_SENT_KEYS_JS), not here: a key typed while this ran is kept.
        return (keys, badge_text(backends, keys), gr.update(value=banner_text, visible=bool(banner_text)), "  \n".join(lines),
                gr.skip(), *([gr.skip()] * len(boxes)))

    def forget_keys(current: dict):
        had = bool(current)
        message = "🗑 Session keys forgotten." if had else "No session keys were set."
        gr.Info(message)
        banner_text = sandbox_banner(backends, {})
        return ({}, badge_text(backends, {}), gr.update(value=banner_text, visible=bool(banner_text)), message,
                "", *([""] * len(boxes)))

    async def check_balance(current: dict) -> str:
        return await balances(backends, current) or (
            "No balance to show: paste your own key for a provider that keeps a credits balance (Black Forest Labs) "
            "above, and press **Use these keys**.")

    async def balance_of_pasted_keys(current: dict) -> str:
        return await balances(backends, current, session_only=True)

    outputs = [session_keys, badge, banner, confirmation, balance, *boxes]
    # Queued: the page learns that ``session_keys`` changed (and each tab's estimate follows) only from queued events.
    # The balance follows on its own, so a slow provider never holds up the confirmation.
    saved = save.click(use_keys, [session_keys, *boxes], outputs, api_visibility="private", js=REMEMBER_SENT_KEYS_JS)
    saved.then(None, boxes, boxes, js=EMPTY_SENT_KEYS_JS, api_visibility="private", queue=False)
    saved.failure(None, js=FORGET_SENT_KEYS_JS, api_visibility="private", queue=False)  # .then runs on success only
    saved.then(balance_of_pasted_keys, [session_keys], [balance], api_visibility="private")
    forget.click(forget_keys, [session_keys], outputs, api_visibility="private", js=FORGET_SENT_KEYS_JS)
    check.click(check_balance, [session_keys], [balance], api_visibility="private")
    return session_keys
