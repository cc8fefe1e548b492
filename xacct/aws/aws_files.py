"""Sessions that share what every session of a run would otherwise make again: the AWS config and
credentials files, parsed once while they stay as they are, botocore's built-in event handlers, and
its data loader (the service models, endpoints and partitions it reads from JSON).

botocore parses both files again for each session it makes: 25 ms with 700 profiles, and a batch
makes a session for each developer profile, `--verify --all` one for each developer (a third of
the tool's CPU in `--from` with 100 developers and 600 profiles configured). It also registers its
hundred-odd built-in handlers into each new session, inspecting every handler's signature: 3 ms of
the 11 a developer's session and clients cost. And each session has a loader of its own, which
decodes endpoints.json (1 MB) and partitions.json again, and each service's model again for the
first client of that service: 20 ms a session, 10 ms a client. One loader serves every session, as
one already serves every client of a session; nothing in botocore writes into what it loaded.
"""

from __future__ import annotations

import copy
import os
import threading
from typing import Any

import botocore.session
from botocore.hooks import HierarchicalEmitter
from botocore.loaders import Loader

_PARSED: dict[tuple[object, ...], dict[str, Any]] = {}
_LOCK = threading.Lock()
_BUILTIN: list[HierarchicalEmitter] = []
_BUILTIN_LOCK = threading.Lock()


def _builtin_handlers() -> HierarchicalEmitter:
    """An emitter holding botocore's built-in handlers, registered once by a plain session; each
    session gets a copy, the way botocore gives each client a copy of its session's."""
    with _BUILTIN_LOCK:
        if not _BUILTIN:
            emitter = HierarchicalEmitter()
            botocore.session.Session(event_hooks=emitter)  # registers them into it
            _BUILTIN.append(emitter)
        return _BUILTIN[0]


class _Paths(list[str]):
    """A shared loader's search paths: boto3 appends its own data folder for every session it makes,
    which once is enough."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


_LOADERS: dict[str | None, Loader] = {}


def shared_loader(data_path: str | None) -> Loader:
    """The run's one botocore data loader for this AWS_DATA_PATH."""
    with _LOCK:
        loader = _LOADERS.get(data_path)
        if loader is None:
            # as botocore's create_loader, the list of paths aside
            given = data_path.split(os.pathsep) if data_path is not None else []
            loader = Loader(extra_search_paths=_Paths(os.path.expanduser(os.path.expandvars(p)) for p in given))
            # Cached per loader, but a batch's threads all ask at once before the first answer is
            # in: each would list every data directory again (a tenth of a second each).
            loader.list_available_services("service-2")
            _LOADERS[data_path] = loader
        return loader


def _stamp(paths: tuple[str, ...]) -> tuple[object, ...]:
    stamp: list[object] = []
    for path in paths:
        try:
            held = os.stat(path)
            stamp.append((path, held.st_mtime_ns, held.st_size))
        except OSError:
            stamp.append((path, None))
    return tuple(stamp)


class Session(botocore.session.Session):
    """A botocore session that reads the AWS files as botocore does, from the run's one parse of
    them. Like a plain session, it keeps what it read first for its whole life; a file changed on
    disk is read again by the sessions made after. Nothing in botocore writes into what it parsed
    (`full_config` is built in one go and then only read), so sessions share it."""

    _shared: dict[str, Any] | None = None
    _loader: Loader | None = None

    def __init__(
        self,
        session_vars: dict[str, Any] | None = None,
        event_hooks: Any = None,
        include_builtin_handlers: bool = True,
        profile: str | None = None,
    ) -> None:
        if event_hooks is None and include_builtin_handlers:
            event_hooks, include_builtin_handlers = copy.copy(_builtin_handlers()), False
        super().__init__(session_vars, event_hooks, include_builtin_handlers, profile)

    def get_component(self, name: str) -> Any:
        if name != "data_loader":
            return super().get_component(name)
        if self._loader is None:  # chosen when first needed, then kept, as botocore's own is made
            self._loader = shared_loader(self.get_config_variable("data_path"))
        return self._loader

    @property
    def full_config(self) -> dict[str, Any]:
        if self._shared is None:
            # Neither variable is read from the files themselves: instance, environment, default.
            files = (self.get_config_variable("config_file"), self.get_config_variable("credentials_file"))
            key = _stamp(tuple(os.path.expanduser(str(f)) for f in files))
            with _LOCK:
                if key not in _PARSED:
                    _PARSED.clear()  # the files of the moment only: a run that changes them is rare
                    _PARSED[key] = super().full_config
                self._shared = _PARSED[key]
        return self._shared


def profiles() -> dict[str, dict[str, str]]:
    """The profiles of both files, merged as botocore merges them."""
    configured = Session().full_config.get("profiles", {})
    return {k: v for k, v in configured.items() if isinstance(v, dict)}
