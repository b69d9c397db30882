"""Validate recorded request/answer pairs against openapi.yaml with openapi-core.

    openapi_core_check.py SPEC EXCHANGES.json

EXCHANGES.json is a list of ``{"name", "request": {"url", "method", "headers", "body"},
"response": {"status", "headers", "body"}}`` with bodies as text. Prints one JSON object:
name -> ``{"request": [errors], "response": [errors]}`` (empty lists when the spec describes
the pair). Runs in build/clients-venv, because openapi-core needs another
openapi-spec-validator than .venv pins.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse


def _errors(found: Any) -> list[str]:
    messages = []
    for error in found:
        causes = [str(cause) for cause in getattr(error, "schema_errors", None) or []]
        messages.append(f"{type(error).__name__}: {error}" + (f" ({'; '.join(causes)})" if causes else ""))
    return messages


def check(api: OpenAPI, exchange: dict[str, Any]) -> dict[str, list[str]]:
    sent, answer = exchange["request"], exchange["response"]
    url = urlsplit(sent["url"])
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    request = MockRequest(
        f"{url.scheme}://{url.netloc}",
        sent["method"].lower(),
        url.path,
        headers=headers,
        data=sent["body"].encode(),
        content_type=headers.get("content-type", ""),
    )
    answer_headers = {k.lower(): v for k, v in answer["headers"].items()}
    response = MockResponse(
        answer["body"].encode(),
        status_code=answer["status"],
        headers=answer_headers,
        content_type=answer_headers.get("content-type", "").split(";")[0],
    )
    return {
        "request": _errors(api.iter_request_errors(request)),
        "response": _errors(api.iter_response_errors(request, response)),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    api = OpenAPI.from_file_path(argv[0])
    exchanges = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    print(json.dumps({exchange["name"]: check(api, exchange) for exchange in exchanges}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
