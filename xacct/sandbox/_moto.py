"""moto's names the emulator's core uses (the server, the backends' bookkeeping, responses and errors
every service shares): the one place they are imported. Each service's own are in its `_moto.py`;
tests/test_structure.py fails an import of moto anywhere else in the emulator."""

from typing import Any

from moto import backends
from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
from moto.core import errors as core_errors
from moto.core import responses as core_responses
from moto.core.base_backend import BackendDict
from moto.core.common_models import CloudFormationModel
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.utilities.utils import get_partition


def server_parts() -> tuple[Any, Any, Any, Any]:
    """moto's server: ThreadedMotoServer, DomainDispatcherApplication, MotoRequestHandler and
    create_backend_app, imported when asked; ImportError where moto[server] is not installed."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

    return ThreadedMotoServer, DomainDispatcherApplication, MotoRequestHandler, create_backend_app


__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "ActionResult",
    "BackendDict",
    "CloudFormationModel",
    "JsonRESTError",
    "backends",
    "core_errors",
    "core_responses",
    "get_partition",
    "server_parts",
]
