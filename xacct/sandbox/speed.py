"""The emulator's own costs, which AWS does not have, made cheaper without changing any answer.

With a hundred developer accounts at once moto spent most of its time on bookkeeping: every request
re-listed moto's package directory under the dispatcher's global lock, every backend lookup copied
the list of accounts under another, every request looked for its access key in every account's IAM,
every KMS key (symmetric ones too) generated a 2,048-bit RSA key that only Sign/Verify/GetPublicKey
use, and every template was parsed by the pure-Python YAML loader
(now libyaml, and a template made into many stacks is parsed once, each stack given its own copy).
Each is replaced by the same result, computed once or when first needed."""

from __future__ import annotations

import copy
import functools
import json
import threading
from typing import Any

_PATCHED = "_xacct_speed"


def install() -> None:
    from moto import backends

    if getattr(backends, _PATCHED, False):
        return
    _module_list(backends)
    _backend_lookup()
    _lazy_private_keys()
    _template_loader()
    _access_key_accounts()
    _error_lookups()
    _action_names()
    setattr(backends, _PATCHED, True)


def _module_list(backends: Any) -> None:
    listed = tuple(backends.list_of_moto_modules())  # moto's installed package: fixed for the process

    def list_of_moto_modules() -> tuple[str, ...]:
        return listed

    backends.list_of_moto_modules = list_of_moto_modules


def _backend_lookup() -> None:
    from moto.core.base_backend import BackendDict

    create = BackendDict.__getitem__

    def __getitem__(self: Any, account_id: str) -> Any:
        try:
            return dict.__getitem__(self, account_id)  # made already: no lock, no copy of the keys
        except KeyError:
            return create(self, account_id)

    BackendDict.__getitem__ = __getitem__  # type: ignore[method-assign]


class _LazyKey:
    """A private key made on first use, once, behind a lock."""

    def __init__(self, make: Any, key_spec: str) -> None:
        self._make, self._spec, self._lock, self._key = make, key_spec, threading.Lock(), None

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            if self._key is None:
                self._key = self._make(self._spec)
        return getattr(self._key, name)


def _lazy_private_keys() -> None:
    from moto.kms import models

    make = models.generate_private_key  # type: ignore[attr-defined]
    models.generate_private_key = functools.partial(_LazyKey, make)  # type: ignore[attr-defined,assignment]


def _template_loader() -> None:
    import yaml
    from moto.cloudformation import models
    from moto.cloudformation.utils import yaml_tag_constructor
    from yaml.parser import ParserError
    from yaml.scanner import ScannerError

    base = getattr(yaml, "CLoader", yaml.Loader)  # libyaml, with the resolvers and constructors of moto's Loader
    loader = type("TemplateLoader", (base,), {})
    yaml.add_multi_constructor("", yaml_tag_constructor, Loader=loader)

    parsed_once: dict[str, Any] = {}  # a few templates, each made into stacks many times
    held = threading.Lock()

    def parse(template: str) -> Any:
        try:
            return yaml.load(template, Loader=loader)  # moto's own loader, in C
        except (ParserError, ScannerError):
            return json.loads(template)

    def parse_template(template: str) -> dict[str, Any]:
        with held:
            found = parsed_once.get(template)
        if found is None:
            found = parse(template)
            with held:
                if len(parsed_once) >= 32:
                    parsed_once.clear()
                parsed_once[template] = found
        copied: dict[str, Any] = copy.deepcopy(found)  # moto may change what it is given
        return copied

    def change_set_parse(self: Any) -> None:
        self.template_dict = parse_template(self.template)

    models.Stack.parse_template = staticmethod(parse_template)  # type: ignore[method-assign]
    models.ChangeSet._parse_template = change_set_parse  # type: ignore[method-assign]


def _access_key_accounts() -> None:
    """Whose access key a request carries: moto looks through every account's IAM, every partition
    of each, for every request (with 600 accounts, most of its CPU). Remembered once found, and
    checked still there on every use (a deleted key is looked for again, and not found)."""
    from moto.iam import models

    known: dict[str, tuple[str, str]] = {}

    def get_account_id_from(access_key: str) -> str:
        hit = known.get(access_key)
        if hit is not None:
            backend = dict.get(models.iam_backends, hit[0])  # never makes an account's backend
            if backend is not None and access_key in backend[hit[1]].access_keys:
                return hit[0]
        for account_id, account in list(models.iam_backends.items()):
            for partition in models.PARTITION_NAMES:  # type: ignore[attr-defined]
                if access_key in account[partition].access_keys:
                    known[access_key] = (account_id, partition)
                    return account_id
        from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]

        return DEFAULT_ACCOUNT_ID

    models.get_account_id_from = get_account_id_from


def _error_lookups() -> None:
    """moto builds a service's table of error shapes again for every error it answers (its cache
    lives in a factory made anew each time): one table per service, shared."""
    from moto.core import errors

    shared: dict[str, Any] = {}

    def __init__(self: Any) -> None:
        self._error_lut_cache = shared

    errors.ErrorLookupFactory.__init__ = __init__  # type: ignore[method-assign]


def _action_names() -> None:
    """moto lists a response class's methods (inspect.getmembers) for every request: once per
    class. The emulator's own changes to those classes are all made before it serves anything."""
    from moto.core import responses

    responses.method_names_from_class = functools.cache(responses.method_names_from_class)  # type: ignore[attr-defined]
