"""The AWS config and credentials files, parsed once for every session of a run while they stay
as they are.

botocore parses both files again for each session it makes: 25 ms with 700 profiles, and a batch
makes a session for each developer profile, `--verify --all` one for each developer (a third of
the tool's CPU in `--from` with 100 developers and 600 profiles configured).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import botocore.session

_PARSED: dict[tuple[object, ...], dict[str, Any]] = {}
_LOCK = threading.Lock()


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
