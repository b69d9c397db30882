"""tools/docs.py's server and site folder: loopback Host only, bounded threads, no folder deleted by mistake.

The server is the real one (``_http_server``) on a loopback port, serving a small site whose
``config.js`` holds a secret, as ``serve`` writes the sandbox's credentials there.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..sandbox.test_connections import closed_by_server
from .conftest import load_tool

docs = load_tool("docs")

SECRET = "sandbox-secret-for-the-test"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "config.js").write_text(f'window.JIGUANG_DOCS = {{"projectSecret": "{SECRET}"}};\n')
    (folder / "index.html").write_text("<!DOCTYPE html><title>docs</title>")
    return folder


def serving(site: Path, **limits: Any) -> Any:
    server = docs._http_server(site, 0, **limits)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return server


@pytest.fixture
def server(site: Path) -> Iterator[Any]:
    running = serving(site)
    yield running
    running.shutdown()
    running.server_close()


def get(port: int, path: str, host: str | None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


# --- Host ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["evil.example:{port}", "evil.example", "127.0.0.1:{other}", "localhost.evil.example:{port}", None],
)
def test_a_foreign_host_gets_421_and_never_the_credentials(server: Any, host: str | None) -> None:
    port = server.server_address[1]
    named = host.format(port=port, other=port + 1) if host else None

    status, body = get(port, "/config.js", named)

    assert status == 421
    assert SECRET.encode() not in body


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_names_with_the_port_get_the_files(server: Any, name: str) -> None:
    port = server.server_address[1]

    status, body = get(port, "/config.js", f"{name}:{port}")

    assert status == 200
    assert SECRET.encode() in body


# --- half-open connections -------------------------------------------------------------------------


def test_silent_connections_hold_a_bounded_number_of_threads_and_only_until_the_deadline(site: Path) -> None:
    before = threading.active_count()
    running = serving(site, head_timeout=0.5, max_threads=4)
    port = running.server_address[1]
    try:
        silent = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(40)]
        time.sleep(0.2)
        assert threading.active_count() - before <= 1 + 4  # serve_forever, and at most 4 handlers

        assert all(closed_by_server(sock, 5) for sock in silent)  # after the deadline, or at once
        status, _ = get(port, "/index.html", f"127.0.0.1:{port}")
        assert status == 200
        for sock in silent:
            sock.close()
    finally:
        running.shutdown()
        running.server_close()


def test_a_head_sent_a_byte_at_a_time_is_cut_off_at_the_deadline(site: Path) -> None:
    running = serving(site, head_timeout=0.5)
    port = running.server_address[1]
    try:
        head = f"GET /config.js HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nX-Slow: {'a' * 200}\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock, pytest.raises(OSError):
            for byte in head:
                sock.sendall(bytes([byte]))
                time.sleep(0.02)  # about 5 s in all, ten times the deadline
            pytest.fail("the whole head trickled in and was answered")
    finally:
        running.shutdown()
        running.server_close()


# --- --site ------------------------------------------------------------------------------------


def test_site_refuses_a_folder_of_other_files_and_touches_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "project"
    (mine / ".git").mkdir(parents=True)
    (mine / "README.md").write_text("my work")

    status = docs.main(["build", "--site", str(mine), "--reference", str(tmp_path / "ref.html")])

    assert status == 1
    assert "refusing to replace" in capsys.readouterr().err
    assert (mine / "README.md").read_text() == "my work"
    assert (mine / ".git").is_dir()
    assert not (tmp_path / "ref.html").exists()


def test_site_dot_is_refused_in_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    (repo / "openapi.yaml").parent.mkdir()
    (repo / "openapi.yaml").write_text("openapi: 3.0.3\n")
    monkeypatch.chdir(repo)

    with pytest.raises(docs.DocsError, match=r"was not built by tools/docs\.py"):
        docs.prepare_site(Path("."))
    assert (repo / "openapi.yaml").is_file()


def test_a_folder_the_tool_built_is_replaced(tmp_path: Path) -> None:
    site = tmp_path / "site"
    docs.prepare_site(site)  # new: created and marked
    (site / "stale.js").write_text("old build")

    docs.prepare_site(site)

    assert [p.name for p in site.iterdir()] == [docs.SITE_MARKER]


@pytest.mark.parametrize("kind", ["empty", "file", "symlink"])
def test_empty_folders_are_used_and_files_or_links_refused(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target"
    if kind == "empty":
        target.mkdir()
        docs.prepare_site(target)
        assert (target / docs.SITE_MARKER).is_file()
        return
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / docs.SITE_MARKER).write_text("")
    (elsewhere / "keep.txt").write_text("keep")
    if kind == "file":
        target.write_text("a file")
    else:
        target.symlink_to(elsewhere)

    with pytest.raises(docs.DocsError, match="is not a folder"):
        docs.prepare_site(target)
    assert (elsewhere / "keep.txt").is_file()
