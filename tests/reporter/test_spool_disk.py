"""The spool on an unkind disk and folder: other projects' segments, a removed folder, a read-only or full
file system, many orphans, a FIFO, planted links, private modes, and a platform without fcntl."""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jiguang_growth import EventReporter, GrowthClient, SpoolError
from jiguang_growth._reporter import _spool
from jiguang_growth.cli import main
from jiguang_growth.sandbox import SandboxServer, run_sandbox

from .conftest import CHILD, event, stored_ids
from .test_spool import leave_unsent, pending, segments


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs of its own, mounted for the test and unmounted after it."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {done.stderr.decode().strip()}"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


# --- item 2: a segment belongs to its project ---------------------------------------------------


def test_another_projects_reporter_and_drain_never_send_a_segments_events(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = leave_unsent(client, tmp_path, 7)
    with (
        run_sandbox(project_id=f"other{uuid.uuid4().hex[:6]}") as other,
        GrowthClient(other.project_id, other.project_secret, other.base_url, timeout=1.0) as theirs,
    ):
        with EventReporter(theirs, spool=tmp_path) as reporter:
            assert reporter.flush(timeout=5)
            assert reporter.stats.adopted == 0
        args = [
            "spool",
            "drain",
            str(tmp_path),
            "--project-id",
            other.project_id,
            "--base-url",
            other.base_url,
        ]
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("JIGUANG_PROJECT_SECRET", other.project_secret)
            main(args)
        assert "7 event(s) of other projects left alone" in capsys.readouterr().out
        assert stored_ids(other) == {}
    assert pending(tmp_path) == 7  # still held for their own project
    capsys.readouterr()
    assert main(["spool", "status", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"events to send for project {client.project_id!r} at {client.base_url}: 7" in out
    with EventReporter(client, spool=tmp_path) as reporter:
        assert reporter.flush(timeout=10)
    assert set(stored_ids(sandbox)) == set(ids) and segments(tmp_path) == []


# --- item 5: the folder removed or replaced -----------------------------------------------------


@pytest.mark.parametrize("how", ["removed", "replaced"])
def test_track_raises_spool_error_once_the_folder_is_removed_or_replaced(
    client: GrowthClient, tmp_path: Path, how: str
) -> None:
    folder = tmp_path / "spool"
    with EventReporter(client, spool=folder, flush_interval=30) as reporter:
        assert reporter.track(event(1)) is not None
        if how == "removed":
            shutil.rmtree(folder)
        else:
            folder.rename(tmp_path / "elsewhere")
            folder.mkdir()
        with pytest.raises(SpoolError, match="removed or replaced") as caught:
            reporter.track(event(2))
        assert caught.value.errno is not None
        reporter.close(timeout=5)


# --- item 6: a spool folder that stops taking writes ---------------------------------------------

STOPS_TAKING_WRITES = """
import os, sys, threading
from jiguang_growth import EventReporter, GrowthClient, SpoolError
folder = sys.argv[1]
reporter = EventReporter(GrowthClient(timeout=5.0), spool=folder, flush_interval=30, concurrency=1)
os.chmod(folder, 0o555)  # the adopted events are settled while nothing can be deleted or created here
print("flushed", reporter.flush(timeout=15), flush=True)
alive = [t.name for t in threading.enumerate() if t.name.startswith("jiguang-reporter-")]
print("senders", len(alive), flush=True)
try:
    reporter.track({"cuid": 10000000099, "eventName": "open_app"})
except SpoolError as error:
    print("spool error", error, flush=True)
os.chmod(folder, 0o755)
print("later", reporter.track({"cuid": 10000000098, "eventName": "open_app"}), flush=True)
print("flushed again", reporter.flush(timeout=15), flush=True)
reporter.close(timeout=5)
"""


def test_a_spool_folder_that_stops_taking_writes_does_not_kill_the_senders(
    sandbox: SandboxServer, client: GrowthClient
) -> None:
    """Deleting settled segments fails with EACCES, the path a read-only file system takes too (a real
    read-only remount is refused while a reporter holds its segment open for writing; every step's EROFS
    is in the fault harness). As root, the child runs without the capabilities that bypass modes."""
    folder = Path(tempfile.mkdtemp(prefix="spool-"))
    try:
        left = leave_unsent(client, folder, 3)
        command = [sys.executable, "-c", STOPS_TAKING_WRITES, str(folder)]
        if os.getuid() == 0:  # root ignores a folder's mode: drop the capabilities that let it
            command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--", *command]
        sandbox.faults.configure(latency_ms=500)  # the folder turns read-only before the answer comes
        done = subprocess.run(
            command, env={**os.environ, **sandbox.env()}, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "flushed True" in done.stdout and "senders 1" in done.stdout
        assert "Permission denied" in done.stderr  # the failed delete is reported
        assert "flushed again True" in done.stdout  # the sender lives on
        later = done.stdout.split("later ")[1].split()[0]
        assert set(left) | {later} <= set(stored_ids(sandbox))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- item 12: a full disk -----------------------------------------------------------------------


def test_on_a_full_disk_a_refused_event_stays_until_rejected_jsonl_holds_it(
    sandbox: SandboxServer, client: GrowthClient, tmpfs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults.force("400")  # the server refuses the event
    with EventReporter(client, spool=tmpfs, flush_interval=30, concurrency=1) as reporter:
        refused = reporter.track(event(1))
        fill = tmpfs / "filler"
        fd = os.open(fill, os.O_WRONLY | os.O_CREAT, 0o600)
        try:  # fill the disk: rejected.jsonl, a new file, finds no room
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        with caplog.at_level(logging.WARNING, logger="jiguang_growth.reporter"):
            reporter.flush(timeout=10)
            reporter.close(timeout=5)  # the senders have logged what they settled
        # refused, but not settled: it stays kept in the spool (unsent at close), to be refused again
        assert (reporter.stats.rejected, reporter.stats.unsent) == (0, 1)
        assert "could not be written" in caplog.text and "written to" not in caplog.text
        assert pending(tmpfs) == 1  # the refused event is still held
        rejected = tmpfs / _spool.REJECTED_NAME
        assert not rejected.exists() or rejected.stat().st_size == 0
        fill.unlink()
    sandbox.faults.force("400")
    with EventReporter(client, spool=tmpfs) as again:
        again.flush(timeout=10)
    (line,) = (tmpfs / _spool.REJECTED_NAME).read_text().splitlines()
    assert refused in line and segments(tmpfs) == []


# --- item 15: many orphans ----------------------------------------------------------------------


ORPHANS = 300


def _orphan(folder: Path, n: int, client: GrowthClient) -> str:
    """An orphaned segment holding one event, as a process that died would leave it."""
    random_id = str(uuid.uuid4())
    fields = {"version": 2, "pid": 1, "host": "h", "project": client.project_id, "base_url": client.base_url}
    header = json.dumps(fields)
    body = event(n, randomId=random_id)

    data = _spool.encode_line(b"h", header.encode()) + _spool.encode_line(b"e", json.dumps(body).encode())
    (folder / f"{n:020d}-1-00000000{_spool.SEGMENT_SUFFIX}").write_bytes(data)
    return random_id


def test_many_orphans_are_adopted_in_bounded_numbers_and_flush_waits_for_all(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path
) -> None:
    ids = {_orphan(tmp_path, n, client) for n in range(ORPHANS)}
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))\n"
        "from jiguang_growth import EventReporter, GrowthClient\n"
        "reporter = EventReporter(GrowthClient(timeout=5.0), spool=sys.argv[1], concurrency=4)\n"
        "print('flushed', reporter.flush(timeout=120), flush=True)\n"
        "reporter.close(timeout=10)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        env={**os.environ, **sandbox.env()},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "flushed True" in done.stdout
    assert set(stored_ids(sandbox)) == ids
    assert segments(tmp_path) == []
    assert resource.getrlimit(resource.RLIMIT_NOFILE)  # the limit was only the child's


# --- item 20: a FIFO named like a segment --------------------------------------------------------


def test_a_fifo_named_like_a_segment_hangs_neither_a_reporter_nor_spool_status(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "00000000000000000001-1-deadbeef.spool")
    env = {**os.environ, **sandbox.env()}
    done = subprocess.run(
        [*CHILD, str(tmp_path), "--count", "3"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "not a regular file" in done.stderr
    status = subprocess.run(
        [sys.executable, "-m", "jiguang_growth.cli", "spool", "status", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0, status.stderr
    assert "skipped" in status.stdout and "warning" in status.stderr
    assert len(stored_ids(sandbox)) == 3


# --- items 11 and 13: private files, no links followed ------------------------------------------


def test_the_spool_folder_and_its_files_are_private(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path
) -> None:
    sandbox.faults.force("400")
    old = os.umask(0o022)
    try:
        folder = tmp_path / "spool"
        with EventReporter(client, spool=folder, flush_interval=30) as reporter:
            reporter.track(event(1))
            reporter.flush(timeout=10)
            files = [*segments(folder), folder / _spool.REJECTED_NAME]
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700
            assert [stat.S_IMODE(p.stat().st_mode) for p in files] == [0o600, 0o600]
            reporter.close(timeout=5)
    finally:
        os.umask(old)


def test_a_link_planted_as_rejected_jsonl_is_not_followed(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    folder = tmp_path / "spool"
    folder.mkdir()
    (folder / _spool.REJECTED_NAME).symlink_to(victim)
    sandbox.faults.force("400")
    with EventReporter(client, spool=folder, flush_interval=30) as reporter:
        reporter.track(event(1))
        reporter.flush(timeout=10)
        reporter.close(timeout=5)
    assert victim.read_text() == "precious\n"
    assert pending(folder) == 1  # the refused event is kept, not lost


def test_importing_the_reporter_without_fcntl_says_the_package_is_posix_only() -> None:
    script = "import sys; sys.modules['fcntl'] = None\nfrom jiguang_growth import EventReporter\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "ImportError" in done.stderr and "POSIX" in done.stderr
