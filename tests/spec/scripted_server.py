"""A small HTTP server on 127.0.0.1 that plays scripted answers and records the requests it got.

For tests that need exact answers over real sockets (an added field, a connection closed
without an answer) rather than the sandbox's behaviour.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, dict[str, str], bytes] | None
"""Status, headers and body of one answer; ``None``: close the connection without answering."""


def json_answer(status: int, body: object, **headers: str) -> Answer:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


class ScriptedServer(ThreadingHTTPServer):
    """Answers each request with the next scripted answer (``default`` once they run out)."""

    def __init__(self, default: Answer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.default = default
        self.answers: list[Answer] = []
        self.seen: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def script(self, answers: list[Answer]) -> None:
        """Play ``answers`` next and forget the requests seen so far."""
        with self.lock:
            self.answers = list(answers)
            self.seen = []

    def requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.seen)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ScriptedServer

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        server = self.server
        with server.lock:
            headers = {k.lower(): v for k, v in self.headers.items() if k.lower() != "host"}
            request = {"method": self.command, "path": self.path, "headers": headers, "body": body.hex()}
            server.seen.append(request)
            answer = server.answers.pop(0) if server.answers else server.default
        if answer is None:
            self.close_connection = True
            return
        status, answer_headers, content = answer
        self.send_response(status)
        for name, value in answer_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def scripted_server(default: Answer) -> Iterator[ScriptedServer]:
    """A running :class:`ScriptedServer`, shut down (and its socket closed) on exit."""
    server = ScriptedServer(default)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
