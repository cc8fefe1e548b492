"""The emulator's own costs, which AWS does not have, made cheaper without changing any answer.

With a hundred developer accounts at once moto spent most of its time on bookkeeping: every request
re-listed moto's package directory under the dispatcher's global lock, every backend lookup copied
the list of accounts under another, moto built a service's table of error shapes again for every error
it answered and listed a response class's methods for every request. Each is replaced here by the same
result, computed once. A service's own (a KMS key's RSA key, a template's parse, an access key's
account) is in that service's `speed.py` or `keys.py`."""

from __future__ import annotations

import functools
from typing import Any

from xacct.sandbox._moto import BackendDict, backends, core_errors, core_responses
from xacct.sandbox.patching import replace


def install() -> None:
    _module_list()
    _backend_lookup()
    _error_lookups()
    _action_names()


def _module_list() -> None:
    listed = tuple(backends.list_of_moto_modules())  # moto's installed package: fixed for the process

    @replace(backends, "list_of_moto_modules")
    def list_of_moto_modules() -> tuple[str, ...]:
        return listed


def _backend_lookup() -> None:
    create = BackendDict.__getitem__

    @replace(BackendDict, "__getitem__")
    def __getitem__(self: Any, account_id: str) -> Any:
        try:
            return dict.__getitem__(self, account_id)  # made already: no lock, no copy of the keys
        except KeyError:
            return create(self, account_id)


def _error_lookups() -> None:
    """moto builds a service's table of error shapes again for every error it answers (its cache
    lives in a factory made anew each time): one table per service, shared."""
    shared: dict[str, Any] = {}

    @replace(core_errors.ErrorLookupFactory, "__init__")
    def __init__(self: Any) -> None:
        self._error_lut_cache = shared


def _action_names() -> None:
    """moto lists a response class's methods (inspect.getmembers) for every request: once per
    class. The emulator's own changes to those classes are all made before it serves anything."""
    cached = functools.cache(core_responses.method_names_from_class)  # type: ignore[attr-defined]
    replace(core_responses, "method_names_from_class")(cached)
