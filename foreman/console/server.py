"""The local console's web server: the static page of ``foreman/console/static`` and the JSON of ``ConsoleApi``.

One ``ThreadingHTTPServer`` on loopback, beside the AWS endpoint of ``foreman local serve``. The page is plain
HTML, CSS and JavaScript shipped in the package: no build step, nothing fetched from outside the machine.

Routes: ``/`` (the page), ``/static/<file>``, ``/api/executions?state_machine=&status=&next_token=&limit=``,
``/api/execution?arn=ARN``, ``/api/execution/events?arn=ARN&next_token=``, ``/api/execution/scope?arn=ARN&scope=ID``,
``/api/queues``, ``/api/queues/<labourer id>``, ``/api/task?id=TASK_ID``. Every API answer is JSON, errors included
(``{"error": ...}`` with 404 for what does not exist, 400 for a bad parameter, 500 for anything else); any other path
is a plain 404 page.
"""

from __future__ import annotations

import html
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
from foreman.console.executions import InvalidTokenError

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
            query = {key: values[0] for key, values in parse_qs(url.query).items() if values}
            try:
                if path in ("/", "/index.html"):
                    self._file(STATIC_DIR / "index.html")
                elif path.startswith("/static/"):
                    name = path.removeprefix("/static/")
                    if "/" in name or name.startswith(".") or not (STATIC_DIR / name).is_file():
                        raise NotFoundError(f"no file {name}")
                    self._file(STATIC_DIR / name)
                elif path.startswith("/api/"):
                    self._json(self._api(path, query))
                else:
                    self._not_found_page(path)
            except NotFoundError as error:
                self._json({"error": str(error)}, HTTPStatus.NOT_FOUND)
            except (ValueError, InvalidTokenError) as error:
                self._json({"error": str(error)}, HTTPStatus.BAD_REQUEST)
            except Exception as error:  # the page shows it; the server goes on
                self._json({"error": f"{type(error).__name__}: {error}"}, HTTPStatus.INTERNAL_SERVER_ERROR)

        def _api(self, path: str, query: dict[str, str]) -> Any:
            if path == "/api/executions":
                return api.executions(
                    state_machine=query.get("state_machine"),
                    status=query.get("status"),
                    next_token=query.get("next_token"),
                    limit=_limit(query.get("limit"), 50),
                )
            if path in ("/api/execution", "/api/execution/events", "/api/execution/scope"):
                arn = query.get("arn", "")
                if not arn:
                    raise NotFoundError("give the execution as ?arn=")
                if path == "/api/execution/events":
                    return api.events(arn, next_token=query.get("next_token"), limit=_limit(query.get("limit"), 200))
                if path == "/api/execution/scope":
                    return api.scope(arn, int(query.get("scope") or 0))
                return api.execution(arn)
            if path == "/api/queues":
                return api.queues()
            if path.startswith("/api/queues/"):
                return api.queue(unquote(path.removeprefix("/api/queues/")))
            if path == "/api/task":
                return api.task(query.get("id", ""))
            raise NotFoundError(f"nothing at {path}")

        def _not_found_page(self, path: str) -> None:
            body = (f"<!doctype html><title>Not found</title><h1>Not found</h1><p>Nothing at {html.escape(path)}. "
                    '<a href="/">The console</a>.</p>').encode()  # fmt: skip
            self.send_response(HTTPStatus.NOT_FOUND)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

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


def _limit(text: str | None, default: int, *, most: int = 1000) -> int:
    if not text:
        return default
    value = int(text)
    if not 1 <= value <= most:
        raise ValueError(f"limit must be between 1 and {most}, not {value}")
    return value


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
