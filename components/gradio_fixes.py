"""Places where Gradio 6.31 keeps memory or burns CPU per run or per visitor, worked around at the app's edge.

- ``PlaygroundBlocks``: Gradio treats every ``gr.skip()`` an event returns as a property update. It builds a new
  instance of the output component for it (``config_for_block`` twice, a pydantic schema for a gallery), and the
  next real value then registers that instance in the session under its own new id — two session entries per run
  (the result gallery and JSON, with the run's value), never removed. A streaming run yields a skip for the
  gallery and the JSON with every status update, so this was most of the app's CPU per run under load and its
  memory growth per run. Here a skip of a non-state output is passed through as the same ``{"__type__": "update"}``
  the browser and API clients already get, with nothing rebuilt. A real property update (``gr.update(visible=…)``,
  a returned component) is still rebuilt by Gradio, but the rebuilt instance takes the output's id, so a later
  value finds it in place instead of adding a new entry.
- Signatures: Gradio's ``Block.get_config`` calls ``inspect.signature(cls.__init__)`` for every block each time it
  builds a config — for each new session (all 517 blocks) and each page load. ``PlaygroundBlocks`` stores each
  block class's ``__init__`` signature on the function (``__signature__``, which ``inspect.signature`` returns as
  is), once, when the layout is built: the same signature, without recomputing it.
- ``SessionReaper``: Gradio keeps a session (the config of every block, ~0.5 MB here) until
  ``state_session_capacity`` newer ones push it out; a closed tab's is only *marked* closed. The app drops sessions
  an hour after their tab closed and ones idle for a day, never one with a run going. A dropped session's page
  still works for ordinary events (Gradio starts a fresh session with the default values), but rows drawn by
  ``@gr.render`` in it lose their events until redrawn — hence the long idle time.
- A full session store: past ``state_session_capacity`` Gradio drops the least recently used session of anyone, so
  one client opening sessions by the thousand pushed out every visitor's (their pasted keys, their sweeps). The
  app's ``StateHolder`` drops a session of the address holding the most (``components/session_owners.py``).
- New sessions: Gradio's ``SessionState`` computes the config of every block (517 here, ~20 ms of CPU) for each
  new visitor, though they are the same for all. ``PlaygroundBlocks`` gives Gradio's ``StateHolder`` sessions that
  share the default configs, computed once, and copy a block's entry only when it is read or changed (~0.1 ms).
- Monitoring: after every event Gradio's queue rebuilds its monitoring summary (a pandas DataFrame of up to 10,000
  recorded events, grouped by function: 2 ms with a few records, 8 ms with 10,000) in a worker thread, whether or
  not anyone ever opens ``/monitoring``. The app's queue (``_PlaygroundQueue``) makes the same summary when
  ``/monitoring/summary`` reads it, from the same records (a read during a run also counts the events still
  running), so a run pays only Gradio's hop to a worker thread.
- The queue's loop: with nothing it can start, Gradio's queue sleeps 1 ms and looks again, ~1,000 times a second
  for as long as the server runs (with runs going too: they start at once, so the queue is empty): ~1,600 event
  loop wake-ups a second and ~35–70 ms of CPU a second on an idle app here. The app's queue sleeps until an event
  is pushed or a job ends (at most ``FREE_POLL_SECONDS``, should anything else free a slot): ``_Wakeable``.
- API schemas: a component's ``api_info`` is its data model's pydantic JSON schema (~8 ms for a gallery), kept per
  *instance*; the result and history galleries, rebuilt for each run's property update, and the history's file and
  image-slider blocks, drawn anew in each session, computed it again every time (~20 ms of CPU per run as the page
  makes it). The app computes it once per data model and gives each instance its own copy (``_share_api_schemas``;
  it replaces the per-class cache the result gallery had in ``components/widgets.py``).
- ``import matplotlib``: Gradio tries it twice per event; when it is not installed it is marked absent, so the
  import fails at once instead of searching ``sys.path`` on every event.
- ``close()``: Gradio sets the server's ``asyncio.Event`` ``stop_event`` from the calling thread while heartbeat
  streams wait on it in the server's loop ("deque mutated during iteration"); ``PlaygroundBlocks.close`` sets it
  on that loop first.

All of this relies on Gradio internals, so it is tied to the tested versions (``TESTED_GRADIO``, pinned in
requirements.txt): on any other version ``fixes_active()`` logs one warning and the app runs on plain Gradio.
The upstream reports are in docs/upstream.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import functools
import importlib.util
import inspect
import logging
import os
import sys
import threading
import types
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import gradio as gr
import gradio_client
from gradio import utils as gradio_utils
from gradio.components.base import _Keywords
from gradio.queueing import Queue
from gradio.state_holder import SessionState, StateHolder

from components import mcp_caller
from components.session_owners import CALLER, UNKNOWN, current_owner, session_to_drop
from components.upload_quota import INPUT_FILES_PAID_BY

log = logging.getLogger(__name__)

#: The versions these workarounds were written against and tested on (requirements.txt pins them). On any other
#: version they are off, with one warning line: Gradio's internals they rely on may have changed.
TESTED_GRADIO = ("6.31.0",)
TESTED_GRADIO_CLIENT = ("2.7.2",)


@functools.cache
def fixes_active() -> bool:
    """True on the tested Gradio and gradio_client; otherwise False, logged once (the app then runs on plain Gradio)."""
    if gr.__version__ in TESTED_GRADIO and gradio_client.__version__ in TESTED_GRADIO_CLIENT:
        return True
    log.warning("Gradio %s / gradio_client %s are untested (tested: %s / %s): the workarounds in "
                "components/gradio_fixes.py are off", gr.__version__, gradio_client.__version__,
                ", ".join(TESTED_GRADIO), ", ".join(TESTED_GRADIO_CLIENT))
    return False


def _skip_missing_matplotlib() -> None:
    """Gradio wraps every event call in ``MatplotlibBackendMananger``, which runs ``import matplotlib`` twice; without
    matplotlib installed, each failed import searches sys.path again (~4 % of the app's CPU under load). Marking it
    absent makes the import fail at once, as it would anyway."""
    if "matplotlib" not in sys.modules and importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None  # type: ignore[assignment]  # None marks a module absent (import system)

_API_SCHEMAS: dict[type, dict[str, Any]] = {}  # data model -> the api_info Gradio made from it (never handed out)


def _share_api_schemas() -> None:
    """``Component.api_info`` made once per data model (``_API_SCHEMAS``); each instance gets a deep copy of it as
    its own ``_api_info_cache`` (callers may change what they are given). Only Gradio's own ``api_info``, which
    depends on nothing but ``data_model``; a class with its own is untouched."""
    from gradio.components.base import Component

    original = Component.api_info
    if getattr(original, "_shared", False):
        return

    @functools.wraps(original)
    def api_info(self: Any) -> dict[str, Any]:
        model = self.data_model
        if self._api_info_cache is not None or model is None:
            return original(self)
        if model not in _API_SCHEMAS:
            schema = original(self)  # Gradio's own: made, and kept on the instance
            _API_SCHEMAS[model] = copy.deepcopy(schema)
            return schema
        shared: dict[str, Any] = copy.deepcopy(_API_SCHEMAS[model])
        self._api_info_cache = shared
        return shared

    api_info._shared = True  # type: ignore[attr-defined]  # our marker: installed once
    Component.api_info = api_info  # type: ignore[method-assign]  # the tested Gradio's method, wrapped


#: Held while Gradio draws a ``gr.render`` area (``Renderable.apply``, see ``_serialize_renders``). Reentrant: a
#: render drawn inside another runs in the same thread.
RENDER_LOCK = threading.RLock()


def _serialize_renders() -> None:
    """Gradio 6.31 runs each ``gr.render`` body in a worker thread; two at once iterate and grow the same
    ``blocks``/``fns`` dicts (``set_event_trigger``, ``attach_load_events``) and one fails with "dictionary changed
    size during iteration", leaving its area empty (``docs/upstream.md`` §9). A tab drawn later starts several row
    editors at once, so every ``Renderable.apply`` takes ``RENDER_LOCK``. The event loop then writes the drawn
    area's config (``BlocksConfig.get_config``, walking the same ``fns``) while the next area may be drawing in its
    thread, so that takes the lock too (held only while an area is drawn: milliseconds)."""
    from gradio.blocks import BlocksConfig
    from gradio.renderable import Renderable

    apply = Renderable.apply
    if getattr(apply, "_serialized", False):
        return

    @functools.wraps(apply)
    def serialized(self: Any, *args: Any, **kwargs: Any) -> Any:
        with RENDER_LOCK:
            return apply(self, *args, **kwargs)

    get_config = BlocksConfig.get_config

    @functools.wraps(get_config)
    def config_serialized(self: Any, *args: Any, **kwargs: Any) -> Any:
        with RENDER_LOCK:
            return get_config(self, *args, **kwargs)

    serialized._serialized = True  # type: ignore[attr-defined]  # our marker: installed once
    Renderable.apply = serialized  # type: ignore[method-assign]  # the tested Gradio's method, wrapped
    BlocksConfig.get_config = config_serialized  # type: ignore[method-assign]  # the same


SKIP: dict[str, str] = {"__type__": "update"}  # what gr.skip() returns and what the browser is sent for it
CLOSED_SESSION_SECONDS = 3600.0  # Gradio's own grace for a closed tab's state (it can reconnect within it)
IDLE_SESSION_SECONDS = 24 * 3600.0  # a tab left open, unused, for a day
REAP_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class SessionLifetimes:
    """When the app drops a Gradio session: unused for ``idle``, or ``closed`` after its tab went; checked ``every``."""

    idle: float = IDLE_SESSION_SECONDS
    closed: float = CLOSED_SESSION_SECONDS
    every: float = REAP_EVERY_SECONDS


class _SharedConfigValues(dict):
    """A session's ``config_values`` (block id -> block config) that starts empty: a block not set in it yet reads
    as the shared default config of that block, copied on first access. Gradio mutates a config only by assigning
    a whole entry or its ``props["value"]``, so a copy of the entry and of its props is enough."""

    def __init__(self, defaults: dict[int, dict[str, Any]]) -> None:
        super().__init__()
        self._defaults = defaults

    def __missing__(self, key: int) -> dict[str, Any]:
        config = self._defaults[key]  # KeyError for an unknown block, as before
        value = {**config, "props": dict(config["props"])} if "props" in config else dict(config)
        self[key] = value
        return value

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self._defaults

    def _all(self) -> dict[int, dict[str, Any]]:
        for key in self._defaults:
            if not dict.__contains__(self, key):
                self[key]
        return self

    def get(self, key: int, default: Any = None) -> Any:
        return self.get(key, default)

    def items(self) -> Any:
        return dict.items(self._all())

    def keys(self) -> Any:
        return dict.keys(self._all())

    def values(self) -> Any:
        return dict.values(self._all())

    def __iter__(self) -> Any:
        return dict.__iter__(self._all())

    def __len__(self) -> int:
        return dict.__len__(self._all())


class _PlaygroundSessionState(SessionState):
    """``SessionState`` without computing the config of every block for each new session: the defaults are
    computed once per app and each session copies an entry only when it is read or changed."""

    def __init__(self, blocks: Any, defaults: dict[int, dict[str, Any]]) -> None:
        # Gradio's __init__ minus the per-block loop: the same attributes, in the same way.
        self.blocks_config = copy.copy(blocks.default_config)
        self.config_values = _SharedConfigValues(defaults)
        self.state_data = {}
        self._state_ttl = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600


class _PlaygroundStateHolder(StateHolder):
    """``StateHolder`` whose new sessions are ``_PlaygroundSessionState``s (shared default block configs), and
    which, when full, drops a session of the address holding the most (``components.session_owners``) rather than
    the least recently used session of anyone."""

    _defaults: dict[int, dict[str, Any]] | None = None
    _defaults_of: Any = None
    _owners: dict[str, str]  # session -> the address that opened it (made on first use: ``owners``)

    def default_configs(self) -> dict[int, dict[str, Any]]:
        blocks = self.blocks.default_config.blocks
        if self._defaults is None or self._defaults_of is not blocks or len(self._defaults) != len(blocks):
            config = self.blocks.default_config
            self._defaults = {k: config.config_for_block(k, [], v) for k, v in blocks.items() if k in self.blocks.blocks}
            self._defaults_of = blocks
        return self._defaults

    def __getitem__(self, session_id: str) -> SessionState:
        if session_id not in self.session_data:
            self.session_data[session_id] = _PlaygroundSessionState(self.blocks, self.default_configs())
            self.owners()[session_id] = current_owner()
        return super().__getitem__(session_id)

    def owners(self) -> dict[str, str]:
        if "_owners" not in self.__dict__:
            self._owners = {}
        return self._owners

    def update(self, session_id: str) -> None:
        with self.lock:
            if session_id in self.session_data:
                self.session_data.move_to_end(session_id)
            if len(self.session_data) <= self.capacity:
                return
            owners = self.owners()  # the reaper forgets those it drops
            while len(self.session_data) > self.capacity:
                victim = session_to_drop(self.session_data, owners, keep=session_id)
                if victim is None:
                    break
                del self.session_data[victim]
                self.time_last_used.pop(victim, None)
                owners.pop(victim, None)


class _PlaygroundQueue(Queue):
    """Gradio's queue, its monitoring summary made when read instead of after every event, and its loop asleep
    until there is something to start (see the module doc)."""

    def _wake(self) -> None:
        free = self.__dict__.get("sleep_when_free")
        if isinstance(free, _Wakeable):
            free.wake()

    def start(self) -> None:
        # Started from a request (Gradio's startup call): its tasks would inherit that request's caller, and a
        # session they open would count as the server's own address's (components/session_owners.py).
        token = CALLER.set(None)
        try:
            super().start()
        finally:
            CALLER.reset(token)

    async def push(self, body: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        # The event runs later, in the queue's own task: it takes its caller along (``process_events``).
        state = getattr(request, "state", None)
        if state is not None:
            state.playground_caller = CALLER.get()
        try:
            return await super().push(body, request, *args, **kwargs)
        finally:
            self._wake()

    async def process_events(self, events: list[Any], *args: Any, **kwargs: Any) -> None:
        # What the event does is done for whoever sent it: a file it names by URL is charged to that caller's
        # upload allowance (components/url_files.py).
        state = getattr(events[0].request, "state", None) if events else None
        token = CALLER.set(getattr(state, "playground_caller", None))
        try:
            await super().process_events(events, *args, **kwargs)
        finally:  # its job slot and concurrency are free again
            CALLER.reset(token)
            self._wake()

    def compute_analytics_summary(self, records: Any) -> Any:
        # Called (in a worker thread) after every event; the summary is made when read instead.
        return None

    @property  # Gradio's attribute, read by the /monitoring/summary route
    def cached_event_analytics_summary(self) -> Any:
        new = self.events_recorded - self.event_count_at_last_cache
        if self.event_analytics and new and new >= self.ANAYLTICS_CACHE_FREQUENCY:
            # Gradio's own computation; it sets the summary (below) and marks the records counted, so its closing
            # read of this property comes back here with nothing new. The same rule as Gradio's: with fewer new
            # events than GRADIO_ANALYTICS_CACHE_FREQUENCY, the last summary stands (re-entering forever before).
            Queue.compute_analytics_summary(self, list(self.event_analytics.values()))
        return self.__dict__.get("_summary", {"functions": {}})

    @cached_event_analytics_summary.setter
    def cached_event_analytics_summary(self, summary: Any) -> None:
        self.__dict__["_summary"] = summary


FREE_POLL_SECONDS = 0.05  # the queue's loop looks again at least this often when nothing wakes it (Gradio: 1 ms)


class _Wakeable(float):
    """The queue's ``sleep_when_free``: a number of seconds, as Gradio reads it, whose sleep (``_QueueAsyncio``)
    ends as soon as ``wake()`` is called (an event pushed, a job ended)."""

    _event: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        if self._event is not None:
            self._event.set()

    async def sleep(self) -> bool:
        """Until woken or ``float(self)`` seconds have passed; whether it was woken."""
        loop = asyncio.get_running_loop()
        if self._event is None or self._loop is not loop:  # a server relaunched on a new loop gets a new event
            self._event, self._loop = asyncio.Event(), loop
        if not self._event.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(float(self)):
                    await self._event.wait()
        woken = self._event.is_set()
        self._event.clear()
        return woken


class _QueueAsyncio(types.ModuleType):
    """``asyncio`` as ``gradio.queueing`` sees it: the same module, but a sleep for a ``_Wakeable`` is that one's."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def sleep(delay: float, result: Any = None) -> Any:
        if isinstance(delay, _Wakeable):
            await delay.sleep()
            return result
        return await asyncio.sleep(delay, result)


def _wakeable_queue_loop() -> None:
    """``gradio.queueing`` reads ``asyncio`` from its module globals; it gets ``_QueueAsyncio`` (once)."""
    import gradio.queueing

    if not isinstance(gradio.queueing.asyncio, _QueueAsyncio):
        gradio.queueing.asyncio = _QueueAsyncio("asyncio")  # the same module, wrapped


def _is_skip(value: Any) -> bool:
    return type(value) is dict and value == SKIP


class PlaygroundBlocks(gr.Blocks):
    """``gr.Blocks`` whose skipped outputs cost nothing and leave nothing in the session, and whose block configs
    are built without recomputing signatures (see the module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._fixes = fixes_active()
        if self._fixes:
            _skip_missing_matplotlib()
            _serialize_renders()
            _look_up_api_names_in_a_copy()
            _share_api_schemas()
        super().__init__(*args, **kwargs)

    @property
    def state_holder(self) -> StateHolder:
        return self._playground_state_holder

    @state_holder.setter
    def state_holder(self, holder: StateHolder) -> None:
        # Gradio's app hands the Blocks its StateHolder (``set_blocks``); its sessions are made the cheap way.
        if self._fixes and type(holder) is StateHolder:
            holder.__class__ = _PlaygroundStateHolder
        self._playground_state_holder = holder

    @property
    def _queue(self) -> Queue:
        return self._playground_queue

    @_queue.setter
    def _queue(self, queue: Queue) -> None:
        # Blocks.queue() makes a new Queue each time it is called; each gets the summary made when read.
        if self._fixes and type(queue) is Queue:
            queue.__class__ = _PlaygroundQueue
            queue.sleep_when_free = _Wakeable(FREE_POLL_SECONDS)
            _wakeable_queue_loop()
        self._playground_queue = queue

    def close(self, verbose: bool = True) -> None:
        """Gradio's ``close``, with ``stop_event`` set on the server's own loop first (docs/upstream.md §11), so that
        Gradio's ``set()`` from this thread finds it set and only stops the server."""
        event = getattr(getattr(self, "app", None), "stop_event", None)
        servers = getattr(getattr(self, "server", None), "servers", None) or []  # uvicorn's listening servers
        loop = servers[0].get_loop() if servers else None  # the loop the app serves on (in uvicorn's thread)
        if isinstance(event, asyncio.Event) and loop is not None and loop.is_running():
            done = threading.Event()

            def set_on_loop() -> None:
                event.set()
                done.set()

            loop.call_soon_threadsafe(set_on_loop)
            done.wait(5)
        super().close(verbose)

    def __exit__(self, exc_type: type[BaseException] | None = None, *args: object) -> None:
        super().__exit__(exc_type, *args)
        if exc_type is None and self._fixes:
            keep_init_signatures(type(block) for block in self.blocks.values())

    def get_state_ids_to_track(self, block_fn: Any, state: Any) -> tuple[list[int], list]:
        """Gradio's: the session's ``gr.State`` outputs that some event listens to the change of, with their values'
        hashes. Gradio walks the session's ``fns`` once per stateful output, on the event loop, while a ``gr.render``
        may be adding events to that dict in its worker thread: the run then failed with "dictionary changed size
        during iteration" (seen in CI: a picked model drawing while a history action ran). Here the walk is over one
        copy of the events, taken once per call (``_events_of``)."""
        if not self._fixes or state is None:
            return super().get_state_ids_to_track(block_fn, state)
        stateful = [block for block in block_fn.outputs if block.stateful]
        if not stateful:
            return [], []
        watched = {target[0] for fn in _events_of(state.blocks_config) for target in fn.targets
                   if target[1] == "change"}
        ids = [block._id for block in stateful if block._id in watched]
        return ids, [gradio_utils.deep_hash(state[block_id]) for block_id in ids]

    async def preprocess_data(self, *args: Any, **kwargs: Any) -> Any:
        # The files the inputs name by URL are fetched here, at the sender's expense (components/url_files.py).
        caller = CALLER.get()
        token = INPUT_FILES_PAID_BY.set(caller.visitor() if caller is not None else UNKNOWN)
        try:
            return await super().preprocess_data(*args, **kwargs)
        finally:
            INPUT_FILES_PAID_BY.reset(token)

    async def postprocess_data(self, block_fn: Any, predictions: list | dict, state: Any) -> list[Any]:
        if not self._fixes:
            return await super().postprocess_data(block_fn, predictions, state)
        processed = await self._postprocess_skipping(block_fn, predictions, state)
        if state is not None:
            _adopt_rebuilt_outputs(block_fn.outputs, state)
        return processed

    async def _postprocess_skipping(self, block_fn: Any, predictions: list | dict, state: Any) -> list[Any]:
        outputs = list(block_fn.outputs)
        if block_fn.batch or not outputs:
            return await super().postprocess_data(block_fn, predictions, state)
        values: list[Any]
        if len(outputs) == 1:
            values = [predictions]
        elif _is_skip(predictions):
            values = [SKIP] * len(outputs)
        elif isinstance(predictions, (list, tuple)) and len(predictions) == len(outputs):
            values = list(predictions)
        else:
            return await super().postprocess_data(block_fn, predictions, state)
        skipped = [i for i, (block, value) in enumerate(zip(outputs, values, strict=True))
                   if _is_skip(value) and not block.stateful]
        if not skipped:
            return await super().postprocess_data(block_fn, predictions, state)
        for i in skipped:
            values[i] = _Keywords.FINISHED_ITERATING  # Gradio's own "leave this output alone"
        processed = await super().postprocess_data(block_fn, values[0] if len(outputs) == 1 else values, state)
        for i in skipped:
            processed[i] = dict(SKIP)
        return processed


SNAPSHOT_TRIES = 5  # copies of a session's events tried before waiting for the area being drawn (RENDER_LOCK)


def _events_of(blocks_config: Any) -> tuple[Any, ...]:
    """A copy of ``blocks_config.fns``'s events. The copy is made in C without running Python code, so a render's
    thread cannot add to the dict half-way; should one ever get in (a garbage collection as the copy is allocated,
    running a finalizer), the copy is tried again, and at last made while holding ``RENDER_LOCK``, which every
    render holds as it draws."""
    fns = blocks_config.fns
    for _ in range(SNAPSHOT_TRIES):
        with contextlib.suppress(RuntimeError):
            return tuple(fns.values())
    with RENDER_LOCK:
        return tuple(fns.values())


def _look_up_api_names_in_a_copy() -> None:
    """Gradio's ``route_utils.get_fn`` finds a session's event by ``api_name`` (a ``POST /api/<name>/`` with a
    ``session_hash`` and no ``fn_index``) by walking that session's ``fns`` on the event loop, which a ``gr.render``
    may be adding to in its thread (``get_state_ids_to_track``'s race). The lookup walks one copy (``_events_of``)
    and raises Gradio's own error for a name not found; any other call goes to Gradio's function."""
    from gradio import route_utils

    get_fn = route_utils.get_fn
    if getattr(get_fn, "_copied", False):
        return

    @functools.wraps(get_fn)
    def get_fn_in_a_copy(blocks: Any, api_name: str | None, body: Any) -> Any:
        if api_name is not None and body.session_hash and body.fn_index is None:
            for fn in _events_of(blocks.state_holder[body.session_hash].blocks_config):
                if fn.api_name == api_name:
                    return fn
            raise route_utils.FnIndexInferError(f"Could not infer function index for API name: {api_name}")
        return get_fn(blocks, api_name, body)

    get_fn_in_a_copy._copied = True  # type: ignore[attr-defined]  # our marker: installed once
    route_utils.get_fn = get_fn_in_a_copy


def keep_init_signatures(classes: Any) -> None:
    """Store ``inspect.signature(f)`` on each ``__init__`` function ``f`` of these classes and their bases."""
    for cls in set(classes):
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if inspect.isfunction(init) and "__signature__" not in init.__dict__:
                init.__signature__ = inspect.signature(init)  # type: ignore[attr-defined]  # cached where inspect looks first


def _adopt_rebuilt_outputs(outputs: Any, state: Any) -> None:
    """Give a component Gradio rebuilt for a property update its output's id (Gradio files it under the output's id
    but keeps the new instance's own, and a later value then adds the instance to the session a second time)."""
    blocks = state.blocks_config.blocks
    for block in outputs:
        current = blocks.get(block._id)
        if current is not None and current is not block and getattr(current, "_id", block._id) != block._id:
            current._id = block._id


class SessionReaper:
    """Drops Gradio sessions: ``lifetimes.closed`` after their tab was first seen closed, or ``lifetimes.idle``
    after their last event; never one in ``busy()`` (a run or sweep going).

    Gradio marks a session closed when its heartbeat drops and never unmarks it, even when the same page
    reconnects; so a closed session that is used again starts a new grace period instead of being dropped. State
    values get their delete callbacks, as when Gradio expires them itself.
    """

    def __init__(self, state_holder: Any, busy: Callable[[], Collection[str]], lifetimes: SessionLifetimes) -> None:
        self.state_holder = state_holder
        self.busy = busy
        self.lifetimes = lifetimes
        self.closed_seen: dict[str, datetime.datetime] = {}  # session -> when seen closed (since its last event)

    def reap(self, now: datetime.datetime | None = None) -> int:
        """One pass; returns how many sessions went."""
        now = now or datetime.datetime.now()
        holder, busy = self.state_holder, set(self.busy())
        closed_grace = min(self.lifetimes.closed, self.lifetimes.idle)
        dropped = 0
        for session_id in list(holder.session_data):
            session = holder.session_data.get(session_id)
            last_used = holder.time_last_used.get(session_id)
            if session is None or last_used is None or session_id in busy:
                continue
            expired = (now - last_used).total_seconds() >= self.lifetimes.idle
            if session.is_closed and not expired:
                seen = self.closed_seen.get(session_id)
                if seen is None or last_used > seen:  # newly closed, or used again since (the page reconnected)
                    seen = self.closed_seen[session_id] = now
                expired = (now - seen).total_seconds() >= closed_grace
            if not expired:
                continue
            with holder.lock:
                if holder.time_last_used.get(session_id) != last_used:
                    continue  # used again meanwhile
                holder.session_data.pop(session_id, None)
                holder.time_last_used.pop(session_id, None)
                owners = getattr(holder, "_owners", None)  # who opened it (_PlaygroundStateHolder)
                if owners is not None:
                    owners.pop(session_id, None)
            self._delete_states(session)
            dropped += 1
        for session_id in [s for s in self.closed_seen if s not in holder.session_data]:
            del self.closed_seen[session_id]
        return dropped

    @staticmethod
    def _delete_states(session: Any) -> None:
        for component, value, _expired in session.state_components:
            try:
                component.delete_callback(value)
            except Exception:  # a callback's failure must not keep the session (or stop the reaper)
                log.exception("delete callback of %s failed", type(component).__name__)

    async def run_forever(self) -> None:
        """``reap()`` every ``lifetimes.every`` seconds until cancelled (the app's lifespan runs it); a failing
        pass is logged and the next one goes ahead. Off (returns at once) on an untested Gradio."""
        if not fixes_active():
            return
        while True:
            await asyncio.sleep(self.lifetimes.every)
            try:
                dropped = self.reap()
            except Exception:
                log.exception("dropping idle sessions failed; trying again in %g s", self.lifetimes.every)
                continue
            if dropped:
                log.info("dropped %d idle or closed sessions; %d kept", dropped, len(self.state_holder.session_data))


#: The lines Gradio's MCP bridge adds after each image it returns: ``Image URL: <root>/gradio_api/file=<path>``.
_MCP_FILE_LINES = ("Image URL: ", "SVG Image URL: ")


def _patch_mcp_server(method: str, patched: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Replace ``GradioMCPServer.<method>`` by ``patched(original)``, once; a no-op without the ``mcp`` extra."""
    try:
        from gradio.mcp import GradioMCPServer  # here, not at the top: the mcp extra is optional
    except ImportError:  # pragma: no cover - gradio[mcp] not installed
        return
    original = getattr(GradioMCPServer, method)
    if getattr(original, "_playground_patch", False):
        return
    replacement = patched(original)
    replacement._playground_patch = True  # type: ignore[attr-defined]  # marks the patch as applied
    setattr(GradioMCPServer, method, replacement)


def only_tools_callable_over_mcp() -> None:
    """Gradio 6.31's MCP bridge lists only the events whose function is a tool (``_mcp_type``), but ``tools/call``
    runs any named event by its function's name. The page's own run and sweep events (marked ``_mcp_type =
    "page"``) are queued, so the bridge calls them back over loopback HTTP: every MCP caller of ``flux_pro_page``
    became the visitor ``127.0.0.1``, sharing one per-visitor run limit and budget. They are left out of the
    bridge's table here, so a call by that name is an unknown tool. Idempotent."""

    def patched(original: Callable[..., dict[str, str]]) -> Callable[..., dict[str, str]]:
        def get_tool_to_endpoint(self: Any) -> dict[str, str]:
            return {tool: endpoint for tool, endpoint in original(self).items()
                    if getattr(getattr(self.get_block_fn_from_endpoint_name(endpoint), "fn", None), "_mcp_type",
                               None) != "page"}
        return get_tool_to_endpoint

    _patch_mcp_server("get_tool_to_endpoint", patched)


def mcp_calls_keep_their_caller() -> None:
    """Gradio 6.31's MCP bridge passes a queued tool call on over loopback HTTP with the MCP request's headers: the
    event then sees 127.0.0.1, and every MCP caller of a catalog model's tool or a sweep tool was one visitor. The
    bridge's copied headers get the caller's own address (``components.mcp_caller``: with a secret of this process,
    replacing any such header the caller sent). Idempotent."""

    def patched(original: Callable[..., Any]) -> Callable[..., Any]:
        def _prepare_tool_call_args(self: Any, name: str, arguments: dict[str, Any]) -> Any:
            endpoint_name, processed_args, request_headers, block_fn = original(self, name, arguments)
            headers = {k: v for k, v in request_headers.items() if k.lower() != mcp_caller.HEADER}
            host = getattr(getattr(self.mcp_server.request_context.request, "client", None), "host", None)
            if host:
                headers[mcp_caller.HEADER] = mcp_caller.header_value(host)
            return endpoint_name, processed_args, headers, block_fn
        return _prepare_tool_call_args

    _patch_mcp_server("_prepare_tool_call_args", patched)


def hide_server_paths_in_mcp_results() -> None:
    """Gradio 6.31's MCP bridge follows every image a tool returns with a text line holding the file's server path
    (``Image URL: …/gradio_api/file=/tmp/flux-playground-media-…/x.jpg``): the private media folder's path. The
    line is left out here; the image itself still comes inline, and the tool's result JSON carries its ``/media``
    URL on the caller's own host. Idempotent."""

    def patched(original: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        def postprocess_output_data(self: Any, data: Any, root_url: str) -> list[Any]:
            return [c for c in original(self, data, root_url) if not (
                getattr(c, "type", "") == "text" and str(getattr(c, "text", "")).startswith(_MCP_FILE_LINES))]
        return postprocess_output_data

    _patch_mcp_server("postprocess_output_data", patched)
