"""A fault-injecting HTTP proxy in front of the emulator: throttling, server errors, dropped
connections, an outage, and responses lost after the request was carried out, for any service.

Faults are drawn from a seeded random generator, so a failing run can be replayed.
"""

from __future__ import annotations

import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.forwarding import Server

_QUERY_XML = (
    '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>{kind}</Type>'
    "<Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
)


@dataclass
class FaultProxy:
    upstream: str
    seed: int = 7
    throttle: float = 0.0  # share of requests answered with the service's throttling error
    server_errors: float = 0.0  # share answered 500 or 503
    drops: float = 0.0  # share whose connection is closed before they are forwarded
    lose: set[str] = field(default_factory=set)  # operations whose first response is lost after forwarding
    outage_until: float = 0.0  # monotonic time until which every connection is closed at once
    log: list[tuple[str, str]] = field(default_factory=list)  # (operation, what happened)
    _lost: set[str] = field(default_factory=set)
    _random: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def start(self) -> str:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                proxy._handle(self)

            do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def outage(self, seconds: float) -> None:
        self.outage_until = time.monotonic() + seconds

    def calm(self) -> None:
        self.throttle = self.server_errors = self.drops = 0.0
        self.lose = set()
        self.outage_until = 0.0

    # ---- handling ---------------------------------------------------------------------------

    @staticmethod
    def operation(h: BaseHTTPRequestHandler, body: bytes) -> tuple[str, str]:
        """(service, operation) of a request, for any of the protocols botocore speaks."""
        scope = re.search(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/", h.headers.get("Authorization", ""))
        service = scope.group(1) if scope else "?"
        target = h.headers.get("X-Amz-Target")
        if target:
            return service, target.rsplit(".", 1)[-1]
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return service, form["Action"][0]
        return service, f"{h.command} {urllib.parse.urlsplit(h.path).path}"

    def _draw(self, share: float) -> bool:
        with self._lock:
            return share > 0 and self._random.random() < share

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        service, op = self.operation(h, body)
        if time.monotonic() < self.outage_until or self._draw(self.drops):
            self.log.append((op, "dropped"))
            h.close_connection = True
            h.connection.close()
            return
        if service != "s3" and self._draw(self.throttle):
            self.log.append((op, "throttled"))
            self._error(h, service, 400, "Throttling", "Rate exceeded")
            return
        if self._draw(self.server_errors):
            status = self._random.choice((500, 503))
            self.log.append((op, f"{status}"))
            self._error(h, service, status, "InternalFailure" if status == 500 else "ServiceUnavailable", "fault")
            return
        status, headers, out = self._forward(h, body)
        with self._lock:
            lose = op in self.lose and op not in self._lost
            if lose:
                self._lost.add(op)
        if lose:
            self.log.append((op, "response lost"))
            h.close_connection = True
            h.connection.close()
            return
        self.log.append((op, str(status)))
        self._reply(h, status, headers, out)

    def _forward(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        from tests.forwarding import forward

        return forward(self.upstream, h, body, timeout=120)

    def _reply(self, h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        from tests.forwarding import reply

        reply(h, status, headers, body)

    def _error(self, h: BaseHTTPRequestHandler, service: str, status: int, code: str, message: str) -> None:
        if service in ("ssm", "logs", "kms", "lambda"):
            body = f'{{"__type":"{code}Exception","message":"{message}"}}'.encode()
            kind = "application/x-amz-json-1.1"
        elif service == "s3":
            code = "SlowDown" if code == "Throttling" else code
            body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
            kind = "application/xml"
        else:
            body = _QUERY_XML.format(
                kind="Receiver" if status >= 500 else "Sender", code=code, message=message
            ).encode()
            kind = "text/xml"
        self._reply(h, status, {"Content-Type": kind}, body)
