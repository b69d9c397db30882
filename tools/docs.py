"""Build and serve the spec's documentation, offline.

``python tools/docs.py build`` writes

* ``build/docs/``: Swagger UI for ``openapi.yaml`` from the pinned ``swagger-ui-dist``
  (copied from node_modules, never from a CDN), with the page and initializer in
  ``tools/assets/swagger-ui/``;
* ``dist/api-reference.html``: one self-contained HTML reference made by Redocly's
  ``build-docs --inlineBundle`` with the template ``tools/assets/redoc.hbs`` (also copied into
  the site).

``python tools/docs.py serve`` builds, starts the local sandbox in this process (for Swagger
UI's "Try it out") and serves the site on 127.0.0.1 until Ctrl-C or SIGTERM, then stops both.
Without ``--port``/``--sandbox-port`` it uses 8088 and 8765 (the sandbox port ``openapi.yaml``
names), or free ports when those are taken. ``make docs`` runs it. The docs server answers only
to a loopback ``Host`` with its port (``config.js`` holds the sandbox's credentials), gives each
connection 10 s for its request head and serves at most 32 connections at once.

``--site DIR`` is replaced only when it is new, empty or marked as built by this tool
(:data:`SITE_MARKER`); any other folder is refused untouched.
"""

from __future__ import annotations

import argparse
import functools
import html.parser
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from _common import NODE_MODULES, ROOT, SPEC, node_tool, redocly_env

from jiguang_growth._signals import stop_on_signals
from jiguang_growth.sandbox._hosts import LOOPBACK_NAMES, host_allowed

ASSETS = ROOT / "tools" / "assets"
SWAGGER_DIST = NODE_MODULES / "swagger-ui-dist"
REDOCLY = node_tool("redocly")
SITE = ROOT / "build" / "docs"
REFERENCE = ROOT / "dist" / "api-reference.html"

HOST = "127.0.0.1"
DEFAULT_DOCS_PORT = 8088
DEFAULT_SANDBOX_PORT = 8765
HEAD_TIMEOUT_SECONDS = 10.0
"""A connection must send its whole request head within this time, however slowly bytes arrive."""
SEND_TIMEOUT_SECONDS = 30.0
"""Longest wait for the browser to take one piece of an answer."""
MAX_CONNECTION_THREADS = 32
"""Connections served at once, one thread each; more are closed at once."""

SITE_MARKER = ".jiguang-growth-docs-site"
"""Written into every site folder this tool builds: only a folder holding it is ever deleted."""

SWAGGER_FILES = (
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "favicon-32x32.png",
    "LICENSE",
    "NOTICE",
)
OUR_FILES = ("index.html", "initializer.js", "page.css")

# Redoc 3 draws its attribution logo from cdn.redoc.ly at run time, and there is no option to
# turn that off. The template's Content-Security-Policy would block the fetch; swapping the URL
# for an inline image means the page never even tries it.
REDOC_LOGO_URLS = (
    "https://cdn.redoc.ly/redoc/logo-mini-full.svg",
    "https://cdn.redoc.ly/redoc/logo-mini.svg",
)
INLINE_LOGO = (
    "data:image/svg+xml,%3Csvg xmlns=%27http://www.w3.org/2000/svg%27 width=%2748%27 height=%2714%27%3E"
    "%3Ctext x=%270%27 y=%2711%27 font-family=%27sans-serif%27 font-size=%2711%27%3ERedoc"
    "%3C/text%3E%3C/svg%3E"
)


class DocsError(Exception):
    """A failure with a message for the person running the command."""


# --- self-containment --------------------------------------------------------------------------


class _ResourceFinder(html.parser.HTMLParser):
    """Collects the URLs a page loads by itself (not the links a reader may follow)."""

    LOADING: ClassVar[dict[str, tuple[str, ...]]] = {
        "script": ("src",),
        "img": ("src", "srcset"),
        "source": ("src", "srcset"),
        "iframe": ("src",),
        "frame": ("src",),
        "embed": ("src",),
        "object": ("data",),
        "video": ("src", "poster"),
        "audio": ("src",),
        "track": ("src",),
        "input": ("src",),
        "image": ("href", "xlink:href"),
        "use": ("href", "xlink:href"),
    }
    NAVIGATION_RELS = frozenset(
        {"alternate", "author", "canonical", "help", "license", "next", "prev", "search"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.styles: list[str] = []
        self.csp: str | None = None
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "link":
            rels = set(values.get("rel", "").lower().split())
            if rels and not rels <= self.NAVIGATION_RELS:
                self.urls.append(values.get("href", ""))
        for name in self.LOADING.get(tag, ()):
            if name in values:
                self.urls.append(values[name])
        if "style" in values:
            self.styles.append(values["style"])
        if tag == "meta" and values.get("http-equiv", "").lower() == "content-security-policy":
            self.csp = values.get("content", "")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.IGNORECASE)


def _is_remote(url: str) -> bool:
    url = url.strip().lower()
    return url.startswith(("http:", "https:", "//", "ftp:", "ws:", "wss:"))


def remote_resources(page: str) -> list[str]:
    """Every URL in ``page`` that a browser would fetch from another machine on its own.

    Looks at resource attributes (``script src``, ``link href``, ``img src`` ...) and CSS
    (``url(...)``, ``@import``) in ``<style>`` elements and ``style`` attributes. Script text is
    not read: the browser test and the page's Content-Security-Policy cover what scripts do.
    """
    finder = _ResourceFinder()
    finder.feed(page)
    found = [url for url in finder.urls if _is_remote(url)]
    for css in finder.styles:
        for match in _CSS_URL.finditer(css):
            url = match.group(1) or match.group(2)
            if _is_remote(url):
                found.append(url)
    return found


def content_security_policy(page: str) -> str | None:
    finder = _ResourceFinder()
    finder.feed(page)
    return finder.csp


def check_self_contained(path: Path) -> None:
    """Fail unless the HTML file at ``path`` loads nothing from elsewhere and says so in its CSP."""
    page = path.read_text(encoding="utf-8")
    remote = remote_resources(page)
    if remote:
        raise DocsError(f"{path} is not self-contained; it loads: {', '.join(sorted(set(remote)))}")
    csp = content_security_policy(page)
    if not csp or "default-src 'none'" not in csp:
        raise DocsError(f"{path} has no Content-Security-Policy with default-src 'none'")
    for url in REDOC_LOGO_URLS:
        if url in page:
            raise DocsError(f"{path} still refers to {url}")


# --- build -------------------------------------------------------------------------------------


def _pinned_swagger_ui() -> str:
    """The swagger-ui-dist version: installed, exactly the package.json pin, and 5.x."""
    wanted = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["devDependencies"][
        "swagger-ui-dist"
    ]
    installed_file = SWAGGER_DIST / "package.json"
    if not installed_file.is_file():
        raise DocsError("node_modules/swagger-ui-dist is missing; run 'make setup'")
    installed = json.loads(installed_file.read_text(encoding="utf-8"))["version"]
    if installed != wanted:
        raise DocsError(
            f"swagger-ui-dist {installed} is installed but package.json pins {wanted}; run 'make setup'"
        )
    if installed.split(".")[0] != "5":
        raise DocsError(f"Swagger UI 5 is required, package.json pins swagger-ui-dist {wanted}")
    return str(installed)


def build_reference(output: Path = REFERENCE) -> Path:
    """Write the single-file Redoc reference for openapi.yaml and check it is self-contained."""
    if not REDOCLY.exists():
        raise DocsError("node_modules/.bin/redocly is missing; run 'make setup'")
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(REDOCLY),
        "build-docs",
        str(SPEC),
        "--inlineBundle",
        "--template",
        str(ASSETS / "redoc.hbs"),
        "--output",
        str(output),
    ]
    run = subprocess.run(command, cwd=ROOT, env=redocly_env(), capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise DocsError(f"redocly build-docs failed:\n{run.stdout}{run.stderr}")
    page = output.read_text(encoding="utf-8")
    for url in REDOC_LOGO_URLS:
        page = page.replace(url, INLINE_LOGO)
    output.write_text(page, encoding="utf-8")
    check_self_contained(output)
    return output


def _config_script(sandbox: dict[str, Any] | None) -> str:
    return "window.JIGUANG_DOCS = " + json.dumps({"sandbox": sandbox}, indent=2) + ";\n"


def write_config(site: Path, sandbox: dict[str, Any] | None) -> None:
    (site / "config.js").write_text(_config_script(sandbox), encoding="utf-8")


def _built_here(site: Path) -> bool:
    """Whether ``site`` is a folder this tool made (so it may delete it)."""
    if (site / SITE_MARKER).is_file():
        return True
    # build/docs from before the marker existed: only the names a build writes.
    built = {*SWAGGER_FILES, *OUR_FILES, "openapi.yaml", "reference.html", "config.js"}
    return site.resolve() == SITE.resolve() and {p.name for p in site.iterdir()} <= built


def prepare_site(site: Path) -> None:
    """Make ``site`` an empty folder marked as built here; never delete a folder the tool did not make.

    ``--site .`` (or any folder of someone's files) is refused before anything is touched.
    """
    if site.is_symlink() or (site.exists() and not site.is_dir()):
        raise DocsError(f"--site {site} is not a folder; name a new or empty folder")
    if site.exists() and any(site.iterdir()):
        if not _built_here(site):
            raise DocsError(
                f"refusing to replace {site}: it is not empty and was not built by tools/docs.py "
                f"(it has no {SITE_MARKER}); name a new or empty folder, or empty it yourself"
            )
        shutil.rmtree(site)
    site.mkdir(parents=True, exist_ok=True)
    (site / SITE_MARKER).write_text(
        "Built by tools/docs.py; the next build with this --site deletes this folder.\n", encoding="utf-8"
    )


def build_site(site: Path = SITE, reference: Path = REFERENCE) -> Path:
    """Fill ``site`` with Swagger UI, openapi.yaml and the Redoc reference (no sandbox yet)."""
    prepare_site(site)
    _pinned_swagger_ui()
    for name in SWAGGER_FILES:
        shutil.copy2(SWAGGER_DIST / name, site / name)
    for name in OUR_FILES:
        shutil.copy2(ASSETS / "swagger-ui" / name, site / name)
    shutil.copy2(SPEC, site / "openapi.yaml")
    build_reference(reference)
    shutil.copy2(reference, site / "reference.html")
    write_config(site, None)
    for name in ("index.html",):
        remote = remote_resources((site / name).read_text(encoding="utf-8"))
        if remote:
            raise DocsError(f"{site / name} loads from elsewhere: {remote}")
    return site


# --- serve -------------------------------------------------------------------------------------


class _HeadReader(io.RawIOBase):
    """Reads from a socket, all of it before ``deadline``: a slow request head cannot keep a thread."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request head did not arrive in time")
        self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves the site's files to loopback ``Host`` names only; one request per connection (HTTP/1.0)."""

    extensions_map = {  # noqa: RUF012 - the base class declares it this way
        **SimpleHTTPRequestHandler.extensions_map,
        ".yaml": "application/yaml",
        ".js": "text/javascript",
    }
    server: _DocsServer

    def setup(self) -> None:
        super().setup()
        buffered = self.rfile
        self.rfile = io.BufferedReader(
            _HeadReader(self.connection, time.monotonic() + self.server.head_timeout)
        )
        buffered.close()  # the socket stays open: only its reader from makefile() goes

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        self.connection.settimeout(SEND_TIMEOUT_SECONDS)
        port = self.server.server_address[1]
        if not host_allowed(self.headers.get("Host"), int(port)):
            # config.js holds the sandbox's credentials: a DNS-rebinding page must not read it.
            self.send_error(
                HTTPStatus.MISDIRECTED_REQUEST,
                explain=f"This server answers only to Host {LOOPBACK_NAMES} with port {port}.",
            )
            return False
        return True

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _DocsServer(ThreadingHTTPServer):
    """A thread per connection, at most ``max_threads`` of them; each request head has a deadline."""

    daemon_threads = True
    request_queue_size = 128  # the listen backlog; socketserver's 5 makes a burst of connects wait

    def __init__(
        self, address: tuple[str, int], handler: Callable[..., Any], *, head_timeout: float, max_threads: int
    ) -> None:
        self.head_timeout = head_timeout
        self._slots = threading.BoundedSemaphore(max_threads)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # every thread is busy: close at once rather than queue
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _pick_port(requested: int | None, default: int) -> int:
    """``requested`` as given (0 = any free port); else ``default`` if free, else any free port."""
    if requested is not None:
        return requested
    return default if _free(default) else 0


def _http_server(
    site: Path,
    port: int,
    *,
    head_timeout: float = HEAD_TIMEOUT_SECONDS,
    max_threads: int = MAX_CONNECTION_THREADS,
) -> ThreadingHTTPServer:
    handler = functools.partial(_QuietHandler, directory=str(site))
    try:
        return _DocsServer((HOST, port), handler, head_timeout=head_timeout, max_threads=max_threads)
    except OSError as error:
        raise DocsError(f"cannot listen on {HOST}:{port} for the docs: {error.strerror}") from None


@contextmanager
def _sandbox(port: int | None) -> Iterator[Any]:
    if port is None:
        yield None
        return
    try:
        from jiguang_growth.sandbox import SandboxServer, SandboxStartError  # noqa: PLC0415
    except ImportError as error:
        raise DocsError(f"cannot start the sandbox: {error}; use --no-sandbox") from None
    try:
        server = SandboxServer(port=port).start()
    except SandboxStartError as error:
        raise DocsError(f"cannot start the sandbox: {error}") from None
    try:
        yield server
    finally:
        server.stop()


def serve(
    docs_port: int | None,
    sandbox_port: int | None,
    with_sandbox: bool,
    site: Path = SITE,
    reference: Path = REFERENCE,
) -> int:
    started = time.monotonic()
    build_site(site, reference)
    built = time.monotonic() - started
    wanted_sandbox = _pick_port(sandbox_port, DEFAULT_SANDBOX_PORT) if with_sandbox else None
    with stop_on_signals(threading.Event()) as stop, _sandbox(wanted_sandbox) as sandbox:
        sandbox_info = None
        if sandbox is not None:
            sandbox_info = {
                "apiUrl": sandbox.api_url,
                "port": sandbox.port,
                "projectId": sandbox.project_id,
                "projectSecret": sandbox.project_secret,
            }
        write_config(site, sandbox_info)
        server = _http_server(site, _pick_port(docs_port, DEFAULT_DOCS_PORT))
        thread = threading.Thread(target=server.serve_forever, name="docs-http", daemon=True)
        thread.start()
        base = f"http://{HOST}:{server.server_address[1]}"
        try:
            print(f"Docs built in {built:.1f} s (Swagger UI {_pinned_swagger_ui()}).")
            print(f"  Swagger UI      {base}/")
            print(f"  reference       {base}/reference.html  (file to share: {_shown(reference)})")
            if sandbox is not None:
                print(f"  sandbox API     {sandbox.api_url}")
                print(f"  project id      {sandbox.project_id}")
                print(f"  project secret  {sandbox.project_secret}")
            else:
                print("  sandbox         not started (--no-sandbox)")
            print("Press Ctrl-C to stop.", flush=True)
            while not stop.wait(0.2):
                if sandbox is not None and not sandbox.running:
                    raise DocsError("the sandbox stopped unexpectedly")
        finally:
            server.shutdown()
            server.server_close()
    print("Docs server stopped.", flush=True)
    return 0


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port: {value}")
    return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/docs.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="write build/docs/ and dist/api-reference.html")
    serve_parser = commands.add_parser("serve", help="build, then serve on 127.0.0.1 with the sandbox")
    for sub in (build_parser, serve_parser):
        sub.add_argument("--site", type=Path, default=SITE, help="Swagger UI folder (default build/docs)")
        sub.add_argument(
            "--reference",
            type=Path,
            default=REFERENCE,
            help="single-file HTML reference (default dist/api-reference.html)",
        )
    serve_parser.add_argument(
        "--port", type=_port, help=f"docs port (default {DEFAULT_DOCS_PORT} or a free one)"
    )
    serve_parser.add_argument(
        "--sandbox-port", type=_port, help=f"sandbox port (default {DEFAULT_SANDBOX_PORT} or a free one)"
    )
    serve_parser.add_argument("--no-sandbox", action="store_true", help="serve the docs only")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            started = time.monotonic()
            build_site(args.site, args.reference)
            size = args.reference.stat().st_size
            print(
                f"Built {_shown(args.site)}/ and {_shown(args.reference)} "
                f"({size / 1024:.0f} KiB) in {time.monotonic() - started:.1f} s"
            )
            return 0
        return serve(args.port, args.sandbox_port, not args.no_sandbox, args.site, args.reference)
    except DocsError as error:
        print(f"docs: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
