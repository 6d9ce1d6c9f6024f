"""The local console's web server: the static page of ``foreman/console/static`` and the JSON of ``ConsoleApi``.

One ``ThreadingHTTPServer`` on loopback, beside the AWS endpoint of ``foreman local serve``. The page is plain
HTML, CSS and JavaScript shipped in the package: no build step, nothing fetched from outside the machine.

Routes: ``/`` (the page), ``/static/<file>``, ``/api/executions``, ``/api/execution?arn=ARN``, ``/api/queues``,
``/api/queues/<labourer id>``. Every API answer is JSON, errors included (``{"error": ...}`` with 404 for what does
not exist, 500 for anything else).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from foreman.console.api import ConsoleApi, NotFoundError

STATIC_DIR = Path(__file__).parent / "static"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}  # fmt: skip


def _handler_class(api: ConsoleApi) -> type[BaseHTTPRequestHandler]:
    class ConsoleRequestHandler(BaseHTTPRequestHandler):
        server_version = "ForemanConsole"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the console polls every few seconds."""

        def do_GET(self) -> None:
            url = urlparse(self.path)
            path = url.path
            try:
                if path in ("/", "/index.html"):
                    self._file(STATIC_DIR / "index.html")
                elif path.startswith("/static/"):
                    name = path.removeprefix("/static/")
                    if "/" in name or name.startswith(".") or not (STATIC_DIR / name).is_file():
                        raise NotFoundError(f"no file {name}")
                    self._file(STATIC_DIR / name)
                elif path == "/api/executions":
                    self._json(api.executions())
                elif path == "/api/execution":
                    arn = (parse_qs(url.query).get("arn") or [""])[0]
                    if not arn:
                        raise NotFoundError("give the execution as ?arn=")
                    self._json(api.execution(arn))
                elif path == "/api/queues":
                    self._json(api.queues())
                elif path.startswith("/api/queues/"):
                    self._json(api.queue(unquote(path.removeprefix("/api/queues/"))))
                else:
                    raise NotFoundError(f"nothing at {path}")
            except NotFoundError as error:
                self._json({"error": str(error)}, HTTPStatus.NOT_FOUND)
            except Exception as error:  # the page shows it; the server goes on
                self._json({"error": f"{type(error).__name__}: {error}"}, HTTPStatus.INTERNAL_SERVER_ERROR)

        def _file(self, path: Path) -> None:
            body = path.read_bytes()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, value: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
            body = json.dumps(value, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    return ConsoleRequestHandler


@contextmanager
def console_server(api: ConsoleApi, host: str, port: int) -> Iterator[str]:
    """Serve the console on ``host:port`` (0: any free port) for the block; yields its URL."""
    server = ThreadingHTTPServer((host, port), _handler_class(api))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="console", daemon=True)
    thread.start()
    try:
        bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
        yield f"http://{bound_host}:{bound_port}/"
    finally:
        server.shutdown()
        server.server_close()
