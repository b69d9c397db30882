"""``jiguang-growth sandbox``: its options, how they map onto the configuration, and its banner.

Importing this module loads only the configuration types; Starlette and
uvicorn are imported when the command runs (and found missing only then).
"""

from __future__ import annotations

import argparse
import gc
import shlex
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any, TextIO

from .._commands import Command, CommandError
from .._signals import stop_on_signals
from . import FaultConfig, LimiterKind, NetworkConfig, SandboxConfig, load_config
from ._faults import parse_error_rates

if TYPE_CHECKING:
    from . import SandboxServer

__all__ = ["SANDBOX_COMMAND", "sandbox_config"]


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options; each behaviour or fault option's ``dest`` is the field of the config it sets."""
    where = parser.add_argument_group("where it listens")
    where.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    where.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    where.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow a --host other than loopback (the credentials are fixed: think twice)",
    )
    where.add_argument(
        "--allow-host",
        dest="allowed_hosts",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer to this Host name, e.g. a container's service name (repeatable)",
    )
    behaviour = parser.add_argument_group("behaviour (override the --config file)")
    behaviour.add_argument("--config", metavar="FILE", help="settings file, JSON or YAML (docs/sandbox.md)")
    behaviour.add_argument("--project-id", help="HTTP Basic user name (default 100102)")
    behaviour.add_argument("--project-secret", help="HTTP Basic password (default sandbox-secret)")
    behaviour.add_argument(
        "--qps",
        dest="qps_limit",
        type=int,
        metavar="N",
        help="calls per second for every operation (default: x-qps-limit, 100)",
    )
    behaviour.add_argument(
        "--limiter",
        choices=[kind.value for kind in LimiterKind],
        help="how the QPS limit counts calls: rolling second (default), fixed 1-s buckets, token bucket",
    )
    behaviour.add_argument(
        "--strict-attributes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="reject user attributes the configuration does not define (default: on)",
    )
    _add_network_arguments(parser)
    faults = parser.add_argument_group("fault injection (seeded, reproducible)")
    faults.add_argument("--seed", type=int, help="random seed of the faults and network delays (default 0)")
    faults.add_argument(
        "--latency-ms", type=float, help="milliseconds of processing added after the rate limit"
    )
    faults.add_argument("--latency-jitter-ms", type=float, help="up to this many more, at random")
    faults.add_argument(
        "--error-rate",
        dest="error_rates",
        action="append",
        metavar="STATUS=RATE",
        help="answer this share of calls with STATUS, e.g. 503=0.05 (repeatable)",
    )
    faults.add_argument("--malformed-rate", type=float, help="share of calls answered with a malformed body")
    faults.add_argument(
        "--malformed-kinds", metavar="KINDS", help="comma-separated: html, truncated (default both)"
    )
    faults.add_argument("--drop-rate", type=float, help="share of calls closed without any answer")
    faults.add_argument(
        "--timeout-after-receipt-rate",
        type=float,
        help="share of calls applied, then left unanswered for --hang-seconds",
    )
    faults.add_argument("--hang-seconds", type=float, help="how long such a call hangs (default 30)")
    logs = parser.add_argument_group("logging")
    logs.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level on stderr (default warning)",
    )
    logs.add_argument("--access-log", action="store_true", help="log every request on stderr")


def _add_network_arguments(parser: argparse.ArgumentParser) -> None:
    network = parser.add_argument_group("network (seeded; the request delay comes before the rate limit)")
    network.add_argument(
        "--rtt-ms", type=float, metavar="MS", help="round-trip time: half on the way in, half on the way out"
    )
    network.add_argument(
        "--rtt-jitter-ms", type=float, metavar="MS", help="the round trip varies by up to ± this much"
    )
    for direction, where in (("request", "on the way in"), ("response", "on the way out")):
        network.add_argument(f"--{direction}-delay-ms", type=float, metavar="MS", help=f"delay {where}")
        network.add_argument(
            f"--{direction}-jitter-ms", type=float, metavar="MS", help=f"the delay {where} varies by ± this"
        )
    network.add_argument(
        "--connect-rtts",
        dest="connect_round_trips",
        type=int,
        metavar="N",
        help="round trips a new connection's first call pays before it arrives (2: TCP + TLS 1.3)",
    )


def sandbox_config(args: argparse.Namespace) -> SandboxConfig:
    """The ``--config`` file (or the defaults), overridden by the options given."""
    config = load_config(args.config) if args.config else SandboxConfig()
    changes = _given(args, fields(SandboxConfig), config)
    fault_changes = _given(args, fields(FaultConfig), config.faults)
    if fault_changes:
        changes["faults"] = replace(config.faults, **fault_changes)
    network = config.network
    rtt, rtt_jitter = getattr(args, "rtt_ms", None), getattr(args, "rtt_jitter_ms", None)
    if rtt is not None or rtt_jitter is not None:
        network = network.with_round_trip(rtt or 0.0, rtt_jitter or 0.0)  # per-direction options still win
    network_changes = _given(args, fields(NetworkConfig), network)
    if network_changes or network is not config.network:
        changes["network"] = replace(network, **network_changes)
    return replace(config, **changes) if changes else config


def _given(args: argparse.Namespace, targets: Iterable[Any], current: Any) -> dict[str, Any]:
    """Values of the options given whose ``dest`` names one of ``targets`` (dataclass fields)."""
    changes: dict[str, Any] = {}
    for target in targets:
        value = getattr(args, target.name, None)
        convert = _CONVERSIONS.get(target.name)
        if value is not None and convert is not None:
            value = convert(value, current)
        if value is not None:
            changes[target.name] = value
    return changes


def _error_rates(items: list[str], faults: FaultConfig) -> dict[int, float]:
    """``--error-rate 503=0.05`` (repeatable), added to the rates of the ``--config`` file."""
    return {**faults.error_rates, **parse_error_rates(items)}


def _malformed_kinds(text: str, faults: FaultConfig) -> tuple[str, ...] | None:
    """``--malformed-kinds html,truncated``; an empty value leaves the kinds as they are."""
    if not text:
        return None
    return tuple(kind.strip() for kind in text.split(",") if kind.strip())


_CONVERSIONS: dict[str, Callable[[Any, Any], Any]] = {
    "error_rates": _error_rates,
    "malformed_kinds": _malformed_kinds,
}
"""Fields whose option is written differently from the field's value (by field name)."""


def _banner(server: SandboxServer, out: TextIO) -> None:
    exports = "".join(f"export {name}={shlex.quote(value)}\n" for name, value in server.env().items())
    out.write(
        f"jiguang-growth sandbox listening on {server.base_url}\n"
        f"  API base URL    {server.api_url}\n"
        f"  project id      {server.project_id}\n"
        f"  project secret  {server.project_secret}\n"
        f"  state view      {server.state_url} (same credentials)\n"
        f"To point clients at it, paste these lines into a POSIX shell (sh, bash, zsh) in another terminal:\n"
        f"{exports}"
        f"Press Ctrl-C to stop.\n"
    )
    out.flush()


def _start(args: argparse.Namespace) -> SandboxServer:
    """A started server, or a :class:`CommandError` saying what to fix."""
    try:
        from . import SandboxServer, SandboxStartError  # noqa: PLC0415 - loads Starlette and uvicorn
    except ImportError as error:
        raise CommandError(str(error)) from None
    try:
        config = sandbox_config(args)
    except (OSError, TypeError, ValueError) as error:
        raise CommandError(f"bad sandbox settings: {error}") from None
    try:
        return SandboxServer(
            config,
            host=args.host,
            port=args.port,
            allow_non_loopback=args.allow_non_loopback,
            allowed_hosts=args.allowed_hosts,
            log_level=args.log_level,
            access_log=args.access_log,
            uvicorn_logging=True,
        ).start()
    except SandboxStartError as error:
        raise CommandError(str(error)) from None


FREEZE_EVERY = 5
"""Turns of the command's 0.2 s watch loop between two :func:`freeze_long_lived` (one second)."""


def freeze_long_lived() -> None:
    """Put what has survived so far out of the cyclic garbage collector's reach (``gc.freeze``).

    The state keeps every record received. A full collection walks all of it,
    and with a few hundred thousand records it stalls the server for tens of
    milliseconds: calls then reach the limiter in bunches no network sent, and
    a client pacing just under the limit gets 429s that only the sandbox causes.
    Young garbage is collected first, so only cycles that outlived two
    collections stay for good; the records themselves hold no cycles, so a
    reset still frees them.
    """
    gc.collect(1)
    gc.freeze()


def _run(args: argparse.Namespace) -> int:
    server = _start(args)
    with stop_on_signals(threading.Event()) as stop:
        try:
            _banner(server, sys.stdout)
            turns = 0
            while not stop.wait(0.2):
                if not server.running:
                    raise CommandError("the sandbox server stopped unexpectedly; see the log above", status=1)
                turns += 1
                if turns % FREEZE_EVERY == 0:
                    freeze_long_lived()
        finally:
            server.stop()
    print("jiguang-growth sandbox stopped.", flush=True)
    return 0


SANDBOX_COMMAND = Command(
    "sandbox", "run the local Growth API sandbox on 127.0.0.1 until Ctrl-C", _add_arguments, _run
)
