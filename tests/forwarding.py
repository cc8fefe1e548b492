"""Forward one HTTP request exactly as it came (the test proxies' one way of doing it): method,
path and headers untouched. urllib would add a Content-Type of its own to a request that has none
(application/x-www-form-urlencoded), and the emulator then reads a Lambda Invoke as a form."""

from __future__ import annotations

import http.client
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SKIPPED = ("host", "content-length", "connection")


def forward(
    upstream: str, h: BaseHTTPRequestHandler, body: bytes, timeout: float = 120
) -> tuple[int, dict[str, str], bytes]:
    where = urllib.parse.urlsplit(upstream)
    connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=timeout)
    try:
        headers = {k: v for k, v in h.headers.items() if k.lower() not in SKIPPED}
        if h.command not in ("GET", "HEAD") or body:
            headers["Content-Length"] = str(len(body))
        connection.request(h.command, h.path, body=body if body else None, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def reply(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    """Answer as the upstream answered (its own framing headers replaced by ours)."""
    h.send_response(status)
    for k, v in headers.items():
        if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
            h.send_header(k, v)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    if h.command != "HEAD":
        h.wfile.write(body)


class Server(ThreadingHTTPServer):
    """A local proxy's server that takes as many connections at once as a batch opens (`--from`
    runs up to 128 developers at once): the standard library's backlog of 5 drops the rest."""

    request_queue_size = 256
    daemon_threads = True
