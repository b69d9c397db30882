"""Swagger UI and the Redoc reference in a real browser: Debian's Chromium, driven by Playwright.

No browser is downloaded: Playwright starts /usr/bin/chromium (``make browser`` installs it
with apt). Every request a page makes goes through ``LoopbackGuard``, which lets through only
127.0.0.1 (and ``file:`` for the single-file reference) and records everything else, including
loads the page's Content-Security-Policy refused, so a test fails on any asset that would have
come from elsewhere. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, Route, expect, sync_playwright

from .conftest import ARTIFACTS, ROOT, load_tool

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SANDBOX_SERVER = "http://127.0.0.1:{port}/smartop/api/v1"
CSP_RECORDER = """
window.__blockedByPolicy = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__blockedByPolicy.push(event.blockedURI);
});
"""


class LoopbackGuard:
    """Lets a page load from 127.0.0.1 only; records every other URL it asked for."""

    LOCAL_SCHEMES = frozenset({"data", "blob", "about"})

    def __init__(self, page: Page, *, allow_file: bool = False) -> None:
        self.page = page
        self.allow_file = allow_file
        self.requested: list[str] = []
        self.refused: list[str] = []
        page.add_init_script(CSP_RECORDER)
        page.route("**/*", self._route)
        page.on("request", lambda request: self.requested.append(request.url))
        page.on("websocket", lambda socket: self.requested.append(socket.url))

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in self.LOCAL_SCHEMES:
            return True
        if parts.scheme == "file":
            return self.allow_file
        return parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname == "127.0.0.1"

    def _route(self, route: Route) -> None:
        url = route.request.url
        if self.allowed(url):
            route.continue_()
        else:
            self.refused.append(url)
            route.abort("blockedbyclient")

    def blocked_by_policy(self) -> list[str]:
        """URLs the page's CSP refused (not 'eval' or 'inline', which load nothing)."""
        blocked: list[str] = self.page.evaluate("window.__blockedByPolicy || []")
        return [url for url in blocked if ":" in url]

    def outside(self) -> list[str]:
        """Every URL the page tried to load from somewhere other than this machine."""
        urls = self.requested + self.refused + self.blocked_by_policy()
        return sorted({url for url in urls if not self.allowed(url)})


@dataclass(frozen=True)
class DocsServer:
    url: str
    sandbox_api: str
    sandbox_port: int
    project_id: str
    project_secret: str
    site: Path
    reference: Path
    output: list[str]


def _read_banner(process: subprocess.Popen[str], until: str, timeout: float) -> list[str]:
    """Lines of ``process``'s stdout up to the one containing ``until``."""
    lines: list[str] = []
    done = threading.Event()

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if until in line:
                done.set()
                return
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    if not done.wait(timeout) or not any(until in line for line in lines):
        process.kill()
        stderr = process.stderr.read() if process.stderr else ""
        pytest.fail(f"no {until!r} within {timeout} s:\n" + "\n".join(lines) + stderr)
    return lines


def _field(lines: list[str], label: str) -> str:
    for line in lines:
        match = re.match(rf"\s*{label}\s+(\S+)", line)
        if match:
            return match.group(1)
    raise AssertionError(f"{label!r} not in the banner:\n" + "\n".join(lines))


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocsServer]:
    """tools/docs.py serve, as `make docs` runs it, on free ports; stopped by its PID."""
    out = tmp_path_factory.mktemp("docs")
    site, reference = out / "site", out / "api-reference.html"
    command = [sys.executable, str(ROOT / "tools/docs.py"), "serve", "--port", "0", "--sandbox-port", "0"]
    process = subprocess.Popen(
        [*command, "--site", str(site), "--reference", str(reference)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _read_banner(process, "Press Ctrl-C", timeout=60)
        sandbox_api = _field(lines, "sandbox API")
        yield DocsServer(
            url=_field(lines, "Swagger UI"),
            sandbox_api=sandbox_api,
            sandbox_port=int(urlsplit(sandbox_api).port or 0),
            project_id=_field(lines, "project id"),
            project_secret=_field(lines, "project secret"),
            site=site,
            reference=reference,
            output=lines,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


# expect() waits for a state instead of reading it once; give it the same patience as locators.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run 'make browser' (apt-get install chromium)")
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, service_workers="block")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _screenshot(target: Page | Locator, name: str) -> Path:
    """A full-page (or one element's) screenshot in test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    if isinstance(target, Page):
        target.screenshot(path=str(path), full_page=True)
    else:
        target.screenshot(path=str(path))
    assert path.stat().st_size > 10_000, f"{path} looks empty"
    return path


def _operations(spec: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        operation["operationId"]: (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


def _open_swagger(page: Page, docs: DocsServer) -> LoopbackGuard:
    guard = LoopbackGuard(page)
    page.goto(docs.url)
    page.locator(".opblock").first.wait_for()
    return guard


# --- Swagger UI --------------------------------------------------------------------------------


def test_swagger_ui_loads_only_from_loopback_and_shows_all_four_operations(
    page: Page, docs_server: DocsServer, spec: dict[str, Any]
) -> None:
    guard = _open_swagger(page, docs_server)
    operations = _operations(spec)
    assert len(operations) == 4

    shown_ids = page.locator(".opblock-summary-operation-id").all_inner_texts()
    assert sorted(shown_ids) == sorted(operations)
    for operation_id, (method, path) in operations.items():
        block = page.locator(
            ".opblock", has=page.locator(".opblock-summary-operation-id", has_text=operation_id)
        )
        assert block.locator(".opblock-summary-method").inner_text() == method
        assert block.locator(".opblock-summary-path").inner_text().replace("\u200b", "") == path

    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["swagger-ui-dist"]
    assert pinned.startswith("5.")
    assert page.evaluate("window.versions.swaggerUI.version") == pinned
    assert spec["info"]["version"] in page.locator(".info .title").inner_text()

    # Both servers are offered; the running sandbox is selected, on its real port.
    options = page.locator(".servers select option").evaluate_all("nodes => nodes.map(n => n.value)")
    assert options == [server["url"] for server in spec["servers"]]
    labels = page.locator(".servers select option").all_inner_texts()
    assert [label.split(" - ", 1)[-1] for label in labels] == [s["description"] for s in spec["servers"]]
    assert not any("`" in label for label in labels), labels
    # The page selects it in Swagger UI's onComplete, so wait for the selection, not just the list.
    expect(page.locator(".servers select")).to_have_value(SANDBOX_SERVER)
    expect(page.locator(".servers input[data-variable=port]")).to_have_value(str(docs_server.sandbox_port))

    page.wait_for_load_state("networkidle")
    assert guard.outside() == []
    assert guard.refused == []
    origin = docs_server.url.rstrip("/")
    assert origin + "/openapi.yaml" in guard.requested
    assert origin + "/swagger-ui-bundle.js" in guard.requested
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in guard.requested if url.startswith("http"))
    _screenshot(page, "swagger-ui.png")


def test_swagger_ui_opens_with_the_basic_auth_authorize_dialog(page: Page, docs_server: DocsServer) -> None:
    _open_swagger(page, docs_server)
    dialog = page.locator(".dialog-ux .modal-ux")
    dialog.wait_for()  # open without any click
    assert dialog.locator("h3").inner_text() == "Available authorizations"
    schemes = [re.sub(r"\s+", " ", text) for text in dialog.locator(".auth-container h4").all_inner_texts()]
    assert schemes == ["basicAuth (http, Basic)"]
    assert dialog.locator("#auth-basic-username").is_visible()
    assert dialog.locator("#auth-basic-password").get_attribute("type") == "password"
    # The banner tells a first-time user what to type.
    banner = page.locator("#sandbox-note").inner_text()
    assert docs_server.project_id in banner and docs_server.project_secret in banner


def test_try_it_out_against_the_sandbox_returns_code_0_for_every_operation(
    page: Page, docs_server: DocsServer, spec: dict[str, Any]
) -> None:
    guard = _open_swagger(page, docs_server)
    dialog = page.locator(".dialog-ux .modal-ux")
    dialog.locator("#auth-basic-username").fill(docs_server.project_id)
    dialog.locator("#auth-basic-password").fill(docs_server.project_secret)
    dialog.locator("button.authorize").click()
    expect(dialog).to_contain_text("Authorized")  # after React re-renders the dialog
    dialog.locator("button.btn-done").click()
    dialog.wait_for(state="hidden")

    answers = {}
    for operation_id, (method, path) in _operations(spec).items():
        block = page.locator(
            ".opblock", has=page.locator(".opblock-summary-operation-id", has_text=operation_id)
        )
        block.locator(".opblock-summary").click()
        block.locator("button.try-out__btn").click()
        with page.expect_response(docs_server.sandbox_api + path) as answered:
            block.locator("button.execute").click()
        assert answered.value.request.method == method
        block.locator(".live-responses-table tbody .response-col_status").wait_for()
        status = block.locator(".live-responses-table tbody .response-col_status").inner_text()
        body = block.locator(".live-responses-table .response-col_description pre").first.inner_text()
        answers[operation_id] = json.loads(body)
        assert status.strip() == "200", f"{operation_id}: HTTP {status}: {body}"
        assert answers[operation_id]["code"] == 0, f"{operation_id}: {body}"
        assert docs_server.sandbox_api + path in block.locator(".curl-command").inner_text()
        if operation_id == "getCuids":
            _screenshot(block, "swagger-ui-try-it-out.png")

    assert all(isinstance(item["cuid"], int) for item in answers["getCuids"]["data"])
    # The pre-filled getCuids example asks for two different values, so the first answer shows two.
    shown = [item["identityValues"] for item in answers["getCuids"]["data"]]
    assert len(shown) == len(set(shown)) == 2, shown
    # The calls reached the sandbox itself, with the credentials typed into the dialog.
    state = httpx.get(
        docs_server.sandbox_api.removesuffix("/smartop/api/v1") + "/_sandbox/state",
        auth=(docs_server.project_id, docs_server.project_secret),
        timeout=5,
    ).json()
    logged = [r for r in state["data"]["requests"] if r["method"] != "OPTIONS"]  # not CORS preflights
    assert sorted((r["operation"], r["status"], r["code"]) for r in logged) == sorted(
        (operation_id, 200, 0) for operation_id in _operations(spec)
    )
    assert guard.outside() == []


# --- the guard itself --------------------------------------------------------------------------


POISON = {
    "cdn-script": (
        '<script src="https://unpkg.com/swagger-ui-dist@5.35.0/swagger-ui-bundle.js"></script>',
        "https://unpkg.com/swagger-ui-dist@5.35.0/swagger-ui-bundle.js",
    ),
    "cdn-stylesheet": (
        '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css">',
        "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css",
    ),
    "web-font": (
        "<style>@font-face { font-family: x; src: url(https://fonts.gstatic.com/x.woff2); }"
        " html, body, #local-notes { font-family: x !important; }</style>",
        "https://fonts.gstatic.com/x.woff2",
    ),
    "localhost-is-not-127.0.0.1": (
        '<img src="http://localhost:9/pixel.png">',
        "http://localhost:9/pixel.png",
    ),
}


@pytest.fixture(scope="module")
def poisoned_sites(tmp_path_factory: pytest.TempPathFactory, docs_server: DocsServer) -> Iterator[str]:
    """Two copies of the built site with every POISON tag in its page, with and without the CSP."""
    root = tmp_path_factory.mktemp("poisoned")
    original = (docs_server.site / "index.html").read_text(encoding="utf-8")
    tags = "".join(f"    {tag}\n" for tag, _ in POISON.values())
    for policy in ("with-csp", "without-csp"):
        site = root / policy
        shutil.copytree(docs_server.site, site)
        page = original.replace("</head>", tags + "  </head>")
        if policy == "without-csp":
            page = re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", page, flags=re.S)
        assert page != original and ("Content-Security-Policy" in page) == (policy == "with-csp")
        (site / "index.html").write_text(page, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_SilentHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _SilentHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize("policy", ["with-csp", "without-csp"])
def test_the_guard_fails_a_page_with_assets_from_elsewhere(
    page: Page, poisoned_sites: str, policy: str
) -> None:
    guard = LoopbackGuard(page)
    page.goto(f"{poisoned_sites}/{policy}/index.html")
    page.locator(".opblock").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert sorted(guard.outside()) == sorted(url for _, url in POISON.values())


@pytest.mark.parametrize("poison", sorted(POISON))
def test_the_static_check_finds_each_asset_from_elsewhere(poison: str) -> None:
    docs = load_tool("docs")
    tag, url = POISON[poison]
    assert docs.remote_resources(f"<html><head>{tag}</head><body></body></html>") == [url]
    assert docs.remote_resources(tag.replace(url, "local/file")) == []


# --- the single-file reference -----------------------------------------------------------------


def test_the_redoc_reference_is_one_file_that_loads_nothing_else(
    page: Page, docs_server: DocsServer, spec: dict[str, Any]
) -> None:
    docs = load_tool("docs")
    docs.check_self_contained(docs_server.reference)  # static: attributes, CSS, CSP
    guard = LoopbackGuard(page, allow_file=True)
    page.goto(docs_server.reference.as_uri())
    menu = page.locator("[data-component-name='Menu/MenuItem']")
    shown = []
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            menu.get_by_text(operation["tags"][0], exact=True).first.click()  # opens the tag
            menu.get_by_text(operation["summary"], exact=True).first.wait_for()
            shown.append(operation["operationId"])
    assert len(shown) == 4
    page.get_by_text(spec["info"]["title"]).first.wait_for()
    page.wait_for_load_state("networkidle")
    assert guard.outside() == []
    assert [url for url in guard.requested if not url.startswith("blob:")] == [docs_server.reference.as_uri()]
    _screenshot(page, "api-reference.png")


# --- make docs ---------------------------------------------------------------------------------


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_make_docs_serves_until_ctrl_c_and_stops_the_sandbox(tmp_path: Path) -> None:
    out_args = f"--site {tmp_path / 'site'} --reference {tmp_path / 'api-reference.html'}"
    process = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.installed",
            "-o",
            "node_modules/.installed",
            "docs",
            "DOCS_PORT=0",
            "SANDBOX_PORT=0",
            f"DOCS_ARGS={out_args}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so Ctrl-C can be sent as a terminal would
    )
    try:
        lines = _read_banner(process, "Press Ctrl-C", timeout=60)
        docs_url, sandbox_api = _field(lines, "Swagger UI"), _field(lines, "sandbox API")
        page = httpx.get(docs_url, timeout=5)
        assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
        config = httpx.get(docs_url + "config.js", timeout=5).text
        assert f'"apiUrl": "{sandbox_api}"' in config
        answer = httpx.post(
            sandbox_api + "/user/register",
            json={"identityName": "phone", "identityValues": ["18012345678"]},
            auth=(_field(lines, "project id"), _field(lines, "project secret")),
            timeout=5,
        )
        assert answer.json()["code"] == 0
        ports = [int(urlsplit(docs_url).port or 0), int(urlsplit(sandbox_api).port or 0)]
        assert all(_port_open(port) for port in ports)
        assert (tmp_path / "api-reference.html").stat().st_size > 100_000
    finally:
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    assert "Docs server stopped." in stdout, stdout + stderr
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 5
    while any(_port_open(port) for port in ports) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_port_open(port) for port in ports), "a server outlived make docs"


def test_a_busy_docs_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            [
                sys.executable,
                str(ROOT / "tools/docs.py"),
                "serve",
                "--port",
                str(port),
                "--no-sandbox",
                "--site",
                str(tmp_path / "site"),
                "--reference",
                str(tmp_path / "ref.html"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_readme_says_where_every_screenshot_goes() -> None:
    names = set(re.findall(r'_screenshot\([^)]*"([\w.-]+\.png)"\)', Path(__file__).read_text("utf-8")))
    assert names == {"swagger-ui.png", "swagger-ui-try-it-out.png", "api-reference.png"}
    readme = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    assert f"`{ARTIFACTS.relative_to(ROOT)}/`" in readme
    for name in names:
        assert f"`{name}`" in readme, f"docs/spec.md does not mention the artifact {name}"
