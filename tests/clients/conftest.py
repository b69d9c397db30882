"""Helpers for the cross-language client tests: build each client once, run its check program.

``tools/clients.py`` builds (or reuses from ``build/clients/``) the Go, TypeScript and pydantic
clients; a build failure fails every test of that language with the failed step in the message.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_tool(name: str) -> ModuleType:
    """Import tools/<name>.py (tools/ is a folder of scripts, not a package)."""
    module_name = f"_tools_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, ROOT / "tools" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


clients = load_tool("clients")
EXAMPLES = clients.spec_examples.load()
RUNNABLE = clients.LANGUAGES
"""Every language of make clients: each is compiled and its check program runs."""


@cache
def _build(language: str) -> str:
    return str(clients.build([language])[language])


def built(language: str) -> str:
    """Build one language's client (cached); fail the test naming the step that failed."""
    try:
        return _build(language)
    except clients.ClientBuildError as error:
        pytest.fail(f"{language} client: {error}", pytrace=False)


def run_check(language: str, *arguments: str, timeout: float = 120) -> Any:
    """Run a built client's check program and return the JSON it prints."""
    built(language)
    command = [*clients.command(language), *arguments]
    run = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if run.returncode != 0:
        pytest.fail(
            f"{language} client: {' '.join(command[:2])} failed (exit {run.returncode}):\n{run.stderr}"
        )
    return json.loads(run.stdout)


def difference(sent: Any, back: Any, path: str = "$") -> str | None:
    """Where two JSON values first differ, with integers and decimals told apart (2 is not 2.0, 1
    is not true), as ``$.data[0].properties.amount: 46.2 came back as 46``; ``None`` when equal."""
    if type(sent) is not type(back):
        return f"{path}: {_shown(sent)} came back as {_shown(back)}"
    if isinstance(sent, dict):
        for key in sent.keys() | back.keys():
            if key not in back:
                return f"{path}.{key}: dropped"
            if key not in sent:
                return f"{path}.{key}: added ({_shown(back[key])})"
        return next((d for k in sent if (d := difference(sent[k], back[k], f"{path}.{k}"))), None)
    if isinstance(sent, list):
        if len(sent) != len(back):
            return f"{path}: {len(sent)} items came back as {len(back)}"
        return next(
            (
                d
                for i, (a, b) in enumerate(zip(sent, back, strict=True))
                if (d := difference(a, b, f"{path}[{i}]"))
            ),
            None,
        )
    return None if sent == back else f"{path}: {_shown(sent)} came back as {_shown(back)}"


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:120]


def same_json(left: Any, right: Any) -> bool:
    """Equal as JSON values, with integers and decimals told apart (2 is not 2.0, 1 is not true)."""
    return difference(left, right) is None


@pytest.fixture(scope="session")
def examples_file() -> Path:
    return Path(clients.write_examples())


VENDOR_FIELDS = {"requestId": "vendor-added-7f3a", "trace": {"ts": 1698168389000, "sampled": True}}
"""Fields the spec does not name, added by :func:`vendor_extended` to every answer object."""


def _extend(value: Any) -> Any:
    if isinstance(value, dict):
        data = value.get("data")
        if isinstance(data, dict):
            data = {**data, "vendorNote": "added"}
        elif isinstance(data, list):
            data = [{**item, "vendorNote": "added"} if isinstance(item, dict) else item for item in data]
        return {**value, **VENDOR_FIELDS, **({"data": data} if "data" in value else {})}
    return value


@pytest.fixture
def vendor_extended(growth_sandbox: Any) -> Iterator[str]:
    """The sandbox as a vendor that added fields: a loopback proxy in front of it that puts
    ``requestId`` and ``trace`` into every JSON answer and ``vendorNote`` into each object of
    ``data`` (the error's ``data`` included). Yields the proxy's API URL (same path as the sandbox's)."""
    upstream = httpx.Client(timeout=10)
    target = growth_sandbox.base_url.rstrip("/")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            keep = ("authorization", "content-type")
            headers = {k: v for k, v in self.headers.items() if k.lower() in keep}
            answer = upstream.request(self.command, target + self.path, content=body, headers=headers)
            content = answer.content
            if answer.headers.get("content-type", "").startswith("application/json"):
                content = json.dumps(_extend(answer.json()), ensure_ascii=False).encode()
            self.send_response(answer.status_code)
            for name in ("content-type", "www-authenticate", "retry-after"):
                if name in answer.headers:
                    self.send_header(name, answer.headers[name])
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_POST = do_PUT = _forward

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}" + growth_sandbox.api_url.removeprefix(target)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        upstream.close()
